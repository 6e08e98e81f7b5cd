package providers

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/portcullis-go/portcullis/internal/bounded"
)

// The introspection cache's policy (see [Provider.Introspect]).
const (
	// introspectionCacheSize bounds the answers kept; at the bound the
	// soonest to expire is evicted (bounded.EvictSoonest).
	introspectionCacheSize = 10_000
	// introspectionActiveTTL bounds how long an "active" answer is
	// trusted: a token the provider revokes is accepted for up to this
	// long.
	introspectionActiveTTL = 2 * time.Minute
	// introspectionRefusedTTL is how long an inactive or refused answer
	// is kept.
	introspectionRefusedTTL = 30 * time.Second
	// maxIntrospectionAnswer bounds an answer's body (each cached answer
	// keeps it, for AccessToken.Claims).
	maxIntrospectionAnswer = 16 << 10
)

// introspector is a provider's introspection_endpoint and its cache of
// answers, keyed by the SHA-256 of the token (the token itself is not
// kept).
type introspector struct {
	url   string
	now   func() time.Time
	cache *bounded.Map[[sha256.Size]byte, *introspected]
	group bounded.Group[[sha256.Size]byte, *introspected]
}

func newIntrospector(endpoint string, size int, now func() time.Time) *introspector {
	return &introspector{
		url:   endpoint,
		now:   now,
		cache: bounded.New[[sha256.Size]byte, *introspected](size, bounded.EvictSoonest, now),
	}
}

// introspected is one answer of the provider, as cached.
type introspected struct {
	// refusal, when set, refuses the token whatever the rules: inactive,
	// expired, another issuer, malformed claims.
	refusal string
	// hasAud: the answer has "aud" (token.Audience).
	hasAud bool
	token  AccessToken
}

// introspectionClaims are the members of an active answer (RFC 7662
// §2.2) that portcullis reads, strict where a check rests on them.
type introspectionClaims struct {
	Issuer   string      `json:"iss"`
	Subject  string      `json:"sub"`
	Audience *audience   `json:"aud"`
	Expiry   *oidcTime   `json:"exp"`
	IssuedAt *oidcTime   `json:"iat"`
	ClientID string      `json:"client_id"`
	Scope    claimScope  `json:"scope"`
	AuthTime claimTime   `json:"auth_time"`
	ACR      claimString `json:"acr"`
	AMR      claimGroups `json:"amr"`
	// TokenType is RFC 7662's token_type: a refresh token presented as an
	// access token must not pass.
	TokenType claimString `json:"token_type"`
}

// CanIntrospect reports whether the provider has an introspection
// endpoint (RFC 7662), so that [Provider.Introspect] can work; check it
// at startup. That is known from the discovery document: when the
// document is not known yet (see [OIDC]), CanIntrospect fetches it as
// [Provider.EndSessionURL] does, and fails with an error wrapping
// [ErrUnavailable] if it cannot; with a ctx that is already done it
// answers from what is known and starts nothing.
func (p *Provider) CanIntrospect(ctx context.Context) (bool, error) {
	m, err := p.metadata(ctx)
	if err != nil {
		return false, err
	}
	return m.introspection != nil, nil
}

// Introspect asks the provider whether token, an access token presented
// to the application's API, is active (OAuth 2.0 Token Introspection, RFC
// 7662), and returns what the provider says of it. It is meant for opaque
// access tokens, and for JWT access tokens whose revocation must take
// effect before their "exp" ([Provider.VerifyAccessToken] checks them
// without a request):
//
//   - token must be at most 16 KiB of RFC 6750 §2.1 characters
//     (b64token); anything else is refused without a request;
//   - it is POSTed to the discovery document's introspection_endpoint
//     with token_type_hint access_token, authenticating as the client
//     with HTTP Basic (client_secret_basic), through the provider's
//     hardened client;
//   - "active" false refuses it; an active token is refused when "exp",
//     when present, is not in the future, when "iss", when present, is
//     not the provider's issuer, when "aud" does not contain
//     rules.Audience, or when "sub" is longer than 255 bytes.
//
// An answer without "aud" is refused unless rules.InsecureAllowNoAudience
// (nothing else says which API the token is for), and one whose
// "token_type" is not Bearer (a refresh token, say) is refused.
// [AccessTokenRules.InsecureAllowIDTokens] is ignored: the provider says
// what the token is.
//
// Answers are cached by the SHA-256 of the token: an active one until
// its "exp" but at most 2 minutes, an inactive or refused one 30 s; at
// most 10 000 answers, the one expiring soonest evicted first to make
// room (an eviction costs a request, never an acceptance). So a token
// the provider revokes is still accepted for up to 2 minutes. Concurrent
// checks of one token share one request. A token not in the cache costs
// a request to the provider: limit the rate of unauthenticated requests
// to the API before they reach it.
//
// Refusals wrap [ErrInvalidToken] and name the check, never a value from
// the token or the answer. A network error, an answer other than HTTP
// 200, or one that is not a JSON object with a boolean "active" wraps
// [ErrUnavailable] and is not cached, as does a discovery document that
// cannot be fetched (see [OIDC]). A provider without an introspection
// endpoint returns an error wrapping [errors.ErrUnsupported], an empty
// Audience one wrapping none of these.
//
// It does not check scopes, "nbf" or "iat" (the provider's "active"
// covers them), or a JWT's signature; it does not ask for JWT answers
// (RFC 9701).
func (p *Provider) Introspect(ctx context.Context, token string, rules AccessTokenRules) (*AccessToken, error) {
	if rules.Audience == "" {
		return nil, fmt.Errorf("providers: %s: AccessTokenRules.Audience is required", p.name)
	}
	m, err := p.metadata(ctx)
	if err != nil {
		return nil, fmt.Errorf("providers: %s: introspection: %w", p.name, err)
	}
	in := m.introspection
	if in == nil {
		return nil, fmt.Errorf("providers: %s has no introspection endpoint: %w", p.name, errors.ErrUnsupported)
	}
	if len(token) > maxAccessTokenSize || !validBearerToken(token) {
		return nil, fmt.Errorf("providers: %s: introspection: %w: malformed or too large", p.name, ErrInvalidToken)
	}
	key := sha256.Sum256([]byte(token))
	ans, ok := in.cache.Get(key)
	if !ok {
		var err error
		ans, err, _ = in.group.Do(ctx, key, func(ctx context.Context) (*introspected, error) {
			if ans, ok := in.cache.Get(key); ok {
				return ans, nil // answered while this call waited to start
			}
			return p.introspect(ctx, m, in, token, key)
		})
		if err != nil {
			return nil, fmt.Errorf("providers: %s: introspection: %w: %w", p.name, ErrUnavailable, err)
		}
	}
	t, err := ans.accept(rules, in.now())
	if err != nil {
		return nil, fmt.Errorf("providers: %s: introspection: %w: %w", p.name, ErrInvalidToken, err)
	}
	t.Groups = p.tokenGroups(t)
	return t, nil
}

// accept applies the rules to a cached answer and returns a copy of its
// token.
func (a *introspected) accept(rules AccessTokenRules, now time.Time) (*AccessToken, error) {
	switch {
	case a.refusal != "":
		return nil, errors.New(a.refusal)
	case !a.token.Expiry.IsZero() && !now.Before(a.token.Expiry):
		return nil, errors.New("expired")
	case a.hasAud && !slices.Contains(a.token.Audience, rules.Audience):
		return nil, errors.New("wrong audience")
	case !a.hasAud && !rules.InsecureAllowNoAudience:
		// An answer without aud says nothing about which API the token
		// is for: a token issued for another API or client of the same
		// provider would pass.
		return nil, errors.New("no audience in the introspection answer")
	}
	t := a.token
	t.Scopes, t.Audience, t.AMR = slices.Clone(t.Scopes), slices.Clone(t.Audience), slices.Clone(t.AMR)
	return &t, nil
}

// introspect asks the endpoint about token and caches the answer under
// key. Its errors (the request's, the status, an unusable body) are not
// cached; they quote neither token nor body.
func (p *Provider) introspect(ctx context.Context, m *metadata, in *introspector, token string, key [sha256.Size]byte) (*introspected, error) {
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := p.authenticatedPost(ctx, m, in.url, form)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("introspection endpoint answered HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIntrospectionAnswer+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxIntrospectionAnswer {
		return nil, errors.New("introspection answer larger than 16 KiB")
	}
	var head struct {
		Active *bool `json:"active"`
	}
	if !isJSONObject(body) || json.Unmarshal(body, &head) != nil || head.Active == nil {
		return nil, errors.New("introspection answer is not a JSON object with a boolean active")
	}
	now := in.now()
	ans := answerOf(*head.Active, body, p.issuer, now)
	expires := now.Add(introspectionRefusedTTL)
	if ans.refusal == "" {
		expires = now.Add(introspectionActiveTTL)
		if !ans.token.Expiry.IsZero() && ans.token.Expiry.Before(expires) {
			expires = ans.token.Expiry
		}
	}
	in.cache.Put(key, ans, expires) // never ErrFull: no entry is pinned
	return ans, nil
}

// answerOf reads an answer, body, whose "active" member is active, and
// applies the checks that do not depend on the rules.
func answerOf(active bool, body []byte, issuer string, now time.Time) *introspected {
	if !active {
		return &introspected{refusal: "inactive"}
	}
	var c introspectionClaims
	if json.Unmarshal(body, &c) != nil {
		return &introspected{refusal: "malformed introspection claims"}
	}
	switch {
	case c.Expiry != nil && !now.Before(c.Expiry.time()):
		return &introspected{refusal: "expired"}
	case c.Issuer != "" && c.Issuer != issuer:
		return &introspected{refusal: "wrong issuer"}
	case len(c.Subject) > maxSubjectLen:
		return &introspected{refusal: "sub longer than 255 bytes"}
	case c.TokenType != "" && !strings.EqualFold(string(c.TokenType), "Bearer") && !strings.EqualFold(string(c.TokenType), "access_token"):
		return &introspected{refusal: "not an access token (token_type)"}
	}
	a := &introspected{
		hasAud: c.Audience != nil,
		token: AccessToken{
			Subject:  c.Subject,
			ClientID: c.ClientID,
			Scopes:   c.Scope,
			ACR:      string(c.ACR),
			AMR:      c.AMR,
			claims:   body,
		},
	}
	if c.Audience != nil {
		a.token.Audience = *c.Audience
	}
	if c.Expiry != nil {
		a.token.Expiry = c.Expiry.time()
	}
	if c.IssuedAt != nil {
		a.token.IssuedAt = c.IssuedAt.time()
	}
	if c.AuthTime.valid {
		a.token.AuthTime = time.Unix(c.AuthTime.unix, 0)
	}
	return a
}

// validBearerToken reports whether s is an RFC 6750 §2.1 b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func validBearerToken(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return false
		}
	}
	return true
}
