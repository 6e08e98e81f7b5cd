package middleware

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/session"
	"golang.org/x/oauth2"
)

// Bounds on the callback request, checked before any cryptography or
// network call.
const (
	maxCallbackQuery = 16 << 10
	maxStateLen      = 1 << 10
	maxCodeLen       = 4 << 10
	exchangeTimeout  = 20 * time.Second
)

// serveCallback finishes a login. Every failure goes to the error handler
// after the request's flow cookies are expired, so a callback URL works at
// most once; no session is written unless every check passed.
func (a *Auth) serveCallback(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("provider")
	s, returnTo, err := a.callback(w, r, name)
	if err == errRestartWithConsent {
		a.flows.clearAll(w, r)
		a.log.LogAttrs(r.Context(), levelInfo, "portcullis: login restarted for consent", providerAttr(name))
		a.startFlow(w, r, a.s.providers[name], returnTo, "consent")
		return
	}
	if err != nil {
		a.flows.clearAll(w, r)
		a.log.LogAttrs(r.Context(), levelWarn, "portcullis: login failed",
			providerAttr(name), reasonAttr(reasonOf(err)))
		a.fail(w, r, err)
		return
	}
	a.log.LogAttrs(r.Context(), levelInfo, "portcullis: login succeeded",
		providerAttr(name), userAttr(&s.User))
	// The return path was validated when the flow started and is
	// validated again here, at the sink.
	if v, ok := safeReturnTo(returnTo); ok {
		returnTo = v
	} else {
		returnTo = "/"
	}
	w.Header().Set("Location", returnTo)
	w.WriteHeader(http.StatusSeeOther)
}

// callback runs the checks in order, cheapest first, and on success saves
// a new session and returns it with the flow's return path.
func (a *Auth) callback(w http.ResponseWriter, r *http.Request, name string) (*session.Session, string, error) {
	if len(r.URL.RawQuery) > maxCallbackQuery {
		return nil, "", fail(ErrInvalidRequest, "query_too_large", nil)
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, "", fail(ErrInvalidRequest, "malformed_query", nil)
	}
	for _, k := range [...]string{"state", "code", "iss", "error", "error_description", "error_uri"} {
		if len(q[k]) > 1 {
			return nil, "", fail(ErrInvalidRequest, "repeated_parameter", nil)
		}
	}
	for _, k := range [...]string{"access_token", "id_token", "token_type"} {
		if q.Has(k) {
			// Implicit or hybrid responses are never requested; tokens in
			// the front channel are refused (RFC 9700 §2.1.2).
			return nil, "", fail(ErrInvalidRequest, "front_channel_token", nil)
		}
	}
	state := q.Get("state")
	if state == "" || len(state) > maxStateLen {
		return nil, "", fail(ErrInvalidRequest, "state_missing", nil)
	}
	f, err := a.flows.take(w, r, state, a.now())
	if err != nil || f.Verifier == "" {
		return nil, "", fail(ErrInvalidRequest, "state_mismatch", nil)
	}
	// Mix-up defence (RFC 9700 §4.4): the flow was started for one
	// provider and must finish at that provider's own callback.
	p := a.s.providers[name]
	if p == nil || f.Provider != name || f.Issuer != p.Issuer() {
		return nil, "", fail(ErrInvalidRequest, "provider_mismatch", nil)
	}
	// RFC 9207: the issuer of the response, when sent, must be the one the
	// flow expects; providers that advertise it must send it.
	if vs, ok := q["iss"]; ok {
		if p.Issuer() == "" || vs[0] != f.Issuer {
			return nil, "", fail(ErrInvalidRequest, "issuer_mismatch", nil)
		}
	} else if p.RequiresIssuerParameter() {
		return nil, "", fail(ErrInvalidRequest, "issuer_missing", nil)
	}
	code := q.Get("code")
	if q.Has("error") {
		if code != "" {
			return nil, "", fail(ErrInvalidRequest, "code_and_error", nil)
		}
		return nil, "", &ProviderError{
			Provider:    name,
			Code:        q.Get("error"),
			Description: q.Get("error_description"),
			URI:         q.Get("error_uri"),
		}
	}
	if code == "" || len(code) > maxCodeLen || !printableASCII(code) {
		return nil, "", fail(ErrInvalidRequest, "code_invalid", nil)
	}
	ctx, cancel := context.WithTimeout(r.Context(), exchangeTimeout)
	defer cancel()
	id, err := p.Exchange(ctx, a.providerFlow(f), code)
	if errors.Is(err, providers.ErrConsentRequired) && f.Prompt != "consent" {
		// The provider issued no refresh token (Google does so only on a
		// user's first consent): ask once more, with prompt=consent.
		return nil, f.ReturnTo, errRestartWithConsent
	}
	if err != nil {
		return nil, "", exchangeFailure(err)
	}
	now := a.now()
	s := session.New(id.User, id.Tokens, now, a.s.SessionLifetime)
	s.SID = id.SID
	if a.s.OnLogin != nil {
		if err := a.s.OnLogin(r.Context(), s); err != nil {
			return nil, "", fail(ErrForbidden, "on_login_refused", err)
		}
	}
	if err := a.s.Sessions.Save(w, r, s); err != nil {
		return nil, "", fail(errSessionSave, "session_save", err)
	}
	return s, f.ReturnTo, nil
}

var (
	errSessionSave        = errors.New("middleware: session could not be saved")
	errRestartWithConsent = errors.New("middleware: restart the login with prompt=consent")
)

// exchangeFailure classifies an error from Provider.Exchange: the provider
// refusing the code or a token that does not verify is a failed login; a
// provider that cannot be reached or fails is unavailable.
func exchangeFailure(err error) error {
	if errors.Is(err, providers.ErrNotAllowed) {
		return fail(ErrForbidden, "account_not_allowed", err)
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		// The provider's error_description and body are not kept: they are
		// text an attacker-controlled provider chooses.
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		cause := fmt.Errorf("token endpoint answered HTTP %d, error %q", status, oauthCode(re.ErrorCode))
		if status >= 500 {
			return fail(ErrProviderUnavailable, "token_endpoint_error", cause)
		}
		return fail(ErrLoginFailed, "code_exchange_refused", cause)
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return fail(ErrProviderUnavailable, "provider_unreachable", err)
	}
	return fail(ErrLoginFailed, "token_verification_failed", err)
}

// oauthCode returns code when it is a well-formed OAuth 2.0 error code
// (RFC 6749 §5.2: printable ASCII without '"' and '\\'), else "invalid".
func oauthCode(code string) string {
	if len(code) > 64 {
		return "invalid"
	}
	for i := 0; i < len(code); i++ {
		if c := code[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return "invalid"
		}
	}
	return code
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
