package middleware

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-go/portcullis/middleware/policy"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/session"
)

// BearerTokens lets API clients — scripts, other services, single-page
// apps holding their own tokens — call the routes of [Auth.Require] and
// [Auth.RequireWith] with "Authorization: Bearer <access token>" (RFC
// 6750) issued by one configured OpenID Connect provider, instead of the
// session cookie. The route's policy applies to them as to sessions, with
// the token's scopes (policy.Scopes).
//
// A JWT access token (RFC 9068) is verified locally: signature with the
// provider's keys and pinned algorithms, "typ" at+jwt (or JWT), "iss",
// "aud" containing Audience, "exp", "nbf", "iat" — and an ID token is
// refused, since it is not an access token. Other (opaque) tokens are
// checked at the provider's introspection endpoint (RFC 7662) when
// Introspect is set, with answers cached for up to two minutes. A request
// with a bearer token is never redirected and never uses the cookie: a
// missing, malformed or invalid token gets 401 with
// WWW-Authenticate: Bearer error="invalid_token"; a valid one failing the
// policy 403 (error="insufficient_scope" when it is about scopes), or 401
// error="insufficient_user_authentication" (RFC 9470) when the policy asks
// for a step-up.
//
// The token's claims give the user: "sub", "email" only when
// "email_verified" is true, and the groups at the provider's GroupsClaim
// path. Handlers read it with
// [UserFrom]; [SessionFrom] returns a session holding the presented token,
// which nothing saves or refreshes.
type BearerTokens struct {
	// Provider is the name of the configured OpenID Connect provider
	// that issues the tokens. Required.
	Provider string
	// Audience is the "aud" every token must carry: this API's
	// identifier at the provider (Auth0's API identifier, an RFC 8707
	// resource). Required: there is no "any audience".
	Audience string
	// Introspect checks tokens that are not JWTs at the provider's
	// introspection endpoint (RFC 7662), which it must have: New refuses
	// a provider whose discovery document shows none, and when the
	// document is not known at startup (the provider was down), opaque
	// tokens are refused with 500 and an error logged once it shows none.
	// A revoked token is then accepted for up to two minutes (the cache).
	Introspect bool
	// InsecureAllowNoAudience accepts an introspection answer without
	// "aud" (RFC 7662 makes it optional; some providers, devoidc among
	// them, leave it out for opaque tokens). Nothing then says which API
	// a token is for, and a token the provider issued to another client
	// or API passes. It MUST NOT be set unless every token the provider
	// issues is meant for this API.
	InsecureAllowNoAudience bool
	// InsecureAllowIDTokens accepts a JWT without client_id, or with a
	// nonce or at_hash, as an access token. ID tokens are meant for the
	// application that signed the user in, not for APIs; some providers
	// (Microsoft Entra ID, Keycloak by default) issue access tokens of
	// that shape, which is the only reason to set it. It MUST NOT be set
	// otherwise.
	InsecureAllowIDTokens bool
}

// maxBearerHeader bounds the Authorization header read.
const maxBearerHeader = 16 << 10

// bearerToken returns the request's bearer token (RFC 6750 §2.1: the
// "Bearer" scheme, any case, one space, a b64token) and whether the
// request presented one at all: a malformed one is presented and invalid.
func bearerToken(r *http.Request) (token string, presented bool) {
	vs := r.Header.Values("Authorization")
	for _, v := range vs {
		scheme := v
		if i := strings.IndexAny(v, " \t"); i >= 0 {
			scheme = v[:i]
		}
		if strings.EqualFold(scheme, "Bearer") {
			presented = true
		}
	}
	if !presented {
		return "", false
	}
	// Exactly one Authorization line, "Bearer", one space, a b64token:
	// anything else that names Bearer is a presented, invalid token,
	// never a reason to fall back to the cookie.
	if len(vs) != 1 || len(vs[0]) > maxBearerHeader {
		return "", true
	}
	scheme, rest, _ := strings.Cut(vs[0], " ")
	if !strings.EqualFold(scheme, "Bearer") || rest == "" || !b64token(rest) {
		return "", true
	}
	return rest, true
}

// b64token reports whether s is an RFC 6750 b64token.
func b64token(s string) bool {
	end := len(s)
	for end > 0 && s[end-1] == '=' {
		end--
	}
	if end == 0 {
		return false
	}
	for i := 0; i < end; i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			return false
		}
	}
	return true
}

// bearerFailure is an error answered with a WWW-Authenticate: Bearer
// challenge (RFC 6750 §3, RFC 9470 §3).
type bearerFailure struct {
	failure   error
	challenge string
}

func (e *bearerFailure) Error() string { return e.failure.Error() }
func (e *bearerFailure) Unwrap() error { return e.failure }

// bearerChallenge returns a WWW-Authenticate value with the error code
// and extra parameters (already formatted).
func bearerChallenge(code string, extra ...string) string {
	v := `Bearer realm="portcullis", error="` + code + `"`
	for _, e := range extra {
		v += ", " + e
	}
	return v
}

// serveBearer authenticates a request by its bearer token, applies p and
// serves next.
func (a *Auth) serveBearer(w http.ResponseWriter, r *http.Request, raw string, next http.Handler, p policy.Policy) {
	s, tok, err := a.bearerSession(r.Context(), raw)
	if err == nil && p != nil {
		err = a.bearerPolicy(r, s, tok, p)
	}
	if err != nil {
		var bf *bearerFailure
		if errors.As(err, &bf) {
			w.Header().Set("WWW-Authenticate", bf.challenge)
		}
		e := Event{Kind: failureKind(err, EventBearerRefused), Provider: a.s.BearerTokens.Provider, Reason: reasonOf(err), Status: Status(err)}
		if s != nil {
			e.User = UserRef(&s.User)
		}
		a.emit(r.Context(), e)
		a.fail(w, r, err)
		return
	}
	st := newRequestState(a, r, w.Header(), s)
	st.committed = true // nothing of a bearer request is ever saved
	st.w.ResponseWriter, st.w.st = w, st
	next.ServeHTTP(&st.w, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
}

// bearerClaims are the claims a bearer token's user is made of.
type bearerClaims struct {
	Email         string `json:"email"`
	EmailVerified any    `json:"email_verified"`
}

// bearerSession verifies raw and returns the session it stands for.
func (a *Auth) bearerSession(ctx context.Context, raw string) (*session.Session, *providers.AccessToken, error) {
	bt := a.s.BearerTokens
	invalid := func(reason string, err error) error {
		return &bearerFailure{failure: fail(ErrUnauthenticated, reason, err), challenge: bearerChallenge("invalid_token")}
	}
	if raw == "" {
		return nil, nil, invalid("bearer_malformed", nil)
	}
	p := a.s.providers[bt.Provider]
	rules := providers.AccessTokenRules{Audience: bt.Audience, InsecureAllowIDTokens: bt.InsecureAllowIDTokens, InsecureAllowNoAudience: bt.InsecureAllowNoAudience}
	var tok *providers.AccessToken
	var err error
	switch {
	case strings.Count(raw, ".") == 2:
		tok, err = p.VerifyAccessToken(ctx, raw, rules)
	case bt.Introspect:
		tok, err = p.Introspect(ctx, raw, rules)
	default:
		return nil, nil, invalid("bearer_not_jwt", nil)
	}
	switch {
	case errors.Is(err, providers.ErrUnavailable):
		return nil, nil, fail(ErrProviderUnavailable, "bearer_provider_unavailable", err)
	case errors.Is(err, errors.ErrUnsupported):
		// BearerTokens.Introspect with a provider that, as its discovery
		// document says, has no introspection endpoint: the check New
		// makes when the document is known at startup, made here because
		// it was not. Fail closed, loudly.
		a.log.LogAttrs(ctx, levelError, "portcullis: Config.BearerTokens.Introspect is set but the provider has no introspection_endpoint: opaque tokens are refused",
			providerAttr(p.Name()), reasonAttr("introspection_unsupported"))
		return nil, nil, fail(ErrInternal, "introspection_unsupported", err)
	case err != nil:
		return nil, nil, invalid("bearer_invalid", err)
	case tok.Subject == "":
		return nil, nil, invalid("bearer_no_subject", nil)
	}
	var c bearerClaims
	tok.Claims(&c)
	u := session.User{Provider: p.Name(), Issuer: p.Issuer(), Subject: tok.Subject, Groups: tok.Groups}
	if v, ok := c.EmailVerified.(bool); ok && v || c.EmailVerified == "true" {
		u.Email = c.Email
	}
	s := &session.Session{
		User:     u,
		Tokens:   session.Tokens{AccessToken: raw, TokenType: "Bearer", Expiry: tok.Expiry},
		Created:  tok.IssuedAt,
		Expires:  tok.Expiry,
		AuthTime: tok.AuthTime,
		ACR:      tok.ACR,
		AMR:      tok.AMR,
	}
	return s, tok, nil
}

// bearerPolicy applies p to a bearer request.
func (a *Auth) bearerPolicy(r *http.Request, s *session.Session, tok *providers.AccessToken, p policy.Policy) error {
	err := p.Check(&policy.Request{
		HTTP: r, User: &s.User, AuthTime: s.AuthTime, ACR: s.ACR, AMR: s.AMR,
		Scopes: tok.Scopes, Bearer: true, ClientIP: a.clientIP(r), Now: a.now(),
	})
	var su *policy.StepUpRequired
	switch {
	case err == nil:
		return nil
	case errors.As(err, &su) && !validStepUp(su):
		return fail(ErrInternal, "step_up_malformed", err)
	case errors.As(err, &su):
		var extra []string
		if su.MaxAge > 0 {
			extra = append(extra, "max_age="+strconv.FormatInt(int64(max(su.MaxAge/time.Second, 1)), 10))
		}
		if len(su.ACR) > 0 {
			extra = append(extra, `acr_values="`+strings.Join(su.ACR, " ")+`"`)
		}
		return &bearerFailure{failure: fail(ErrUnauthenticated, "step_up_required", err), challenge: bearerChallenge("insufficient_user_authentication", extra...)}
	case errors.Is(err, policy.ErrInsufficientScope):
		return &bearerFailure{failure: fail(ErrForbidden, "insufficient_scope", err), challenge: bearerChallenge("insufficient_scope")}
	case errors.Is(err, policy.ErrDenied):
		return fail(ErrForbidden, "policy_denied", err)
	}
	return fail(ErrStoreUnavailable, "policy_error", err)
}
