package providers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// The error vocabulary of this package. Every error a [Provider] method
// returns wraps at most one of these; test with errors.Is. A login error
// that wraps none of them is a verification failure (an ID token that does
// not verify, a token response a client must not use). Every refresh error
// wraps ErrDenied or ErrUnavailable, but for context.Canceled when the
// caller's context was cancelled.
var (
	// ErrDenied: the provider definitively refused — the user at the
	// authorization endpoint (access_denied and the other RFC 6749
	// §4.1.2.1 codes), or the token endpoint refusing the code, the
	// refresh token or the client (invalid_grant, invalid_client,
	// unauthorized_client, invalid_scope with HTTP 400 or 401, or an OAuth
	// error inside an HTTP 200, which GitHub sends). A refresh that fails
	// with it ends the session. Also wrapped when a refreshed ID token
	// belongs to another user or client.
	ErrDenied = errors.New("providers: denied")
	// ErrUnavailable: the provider could not answer now — a network error,
	// a timeout, HTTP 408, 425, 429 or 5xx, an HTTP 4xx without an OAuth
	// error code (a proxy's or firewall's page), an unparseable answer, or
	// temporarily_unavailable / server_error. A later attempt may succeed;
	// [Error.RetryAfter] says when, if the provider did. It is also what
	// every method that needs an OpenID Connect provider's discovery
	// document returns while that cannot be fetched (see [OIDC]); that
	// error has a method RetryAfter() time.Duration, the time until the
	// next attempt may start (0 when the caller's context ended first):
	//
	//	var ra interface{ RetryAfter() time.Duration }
	//	if errors.As(err, &ra) { w.Header().Set("Retry-After", …) }
	ErrUnavailable = errors.New("providers: unavailable")
	// ErrInvalidResponse: an authorization response that must not be used:
	// an "iss" parameter that is not the flow's issuer (RFC 9207), a
	// missing one from a provider that advertises it, or a code that is
	// missing, malformed or sent together with an error. Also wrapped when
	// a login's claims exceed their bounds (see [Identity.Claims] and
	// [OIDCConfig.KeepClaims]).
	ErrInvalidResponse = errors.New("providers: invalid authorization response")
	// ErrNotAllowed: the identity was verified but the provider's
	// configuration refuses it: a Google account outside the allowed
	// Workspace domains, a GitHub user outside the required organisations
	// or teams, or a refusal an [OAuth2Config] Identify function reports
	// by wrapping it.
	ErrNotAllowed = errors.New("providers: account not allowed to sign in")
	// ErrConsentRequired: the login succeeded but did not yield the
	// refresh token the provider was configured to obtain (Google issues
	// one only at a user's first consent). [Provider.Callback] returns it
	// only for a flow whose Prompt is not already "consent": start the
	// login again once with Flow.Prompt "consent".
	ErrConsentRequired = errors.New("providers: consent required to obtain a refresh token")
	// ErrInvalidToken: an access token presented to the application's API
	// must not be accepted ([Provider.VerifyAccessToken],
	// [Provider.Introspect]): malformed, too large, not signed with the
	// provider's published keys and a pinned algorithm, of another type
	// (an ID token), for another issuer or audience, expired or not yet
	// valid, or inactive according to the provider. Answer HTTP 401 with
	// error="invalid_token" (RFC 6750 §3.1). A key set or introspection
	// endpoint that cannot answer wraps ErrUnavailable instead.
	ErrInvalidToken = errors.New("providers: invalid token")
)

// Error is an OAuth 2.0 error response: from the authorization endpoint
// (RFC 6749 §4.1.2.1; Status is 0) or from the token endpoint (§5.2). It
// wraps [ErrDenied] or [ErrUnavailable]. Code is a well-formed RFC 6749
// error code, "invalid" for a malformed one, or "" when a token endpoint
// answered an error status without one; Description and URI are the provider's text,
// kept for an application's own logs: escape them before display, and
// never show them as fact (a provider, or whoever forged a callback URL,
// chose them).
type Error struct {
	Code        string
	Description string
	URI         string
	// Status is the HTTP status of a token endpoint answer.
	Status int
	// RetryAfter is the delay the provider asked for with Retry-After
	// (RFC 9110 §10.2.3), at most maxRetryAfter; 0 when it asked for none.
	RetryAfter time.Duration
	kind       error
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("providers: token endpoint answered HTTP %d, error %q", e.Status, e.Code)
	}
	return fmt.Sprintf("providers: authorization response error %q", e.Code)
}

func (e *Error) Unwrap() error { return e.kind }

// maxRetryAfter bounds a provider's Retry-After.
const maxRetryAfter = 5 * time.Minute

// deniedCodes are the token endpoint error codes that end a grant.
var deniedCodes = map[string]bool{
	"invalid_grant":       true,
	"invalid_client":      true,
	"unauthorized_client": true,
	"invalid_scope":       true,
}

// transientCodes are OAuth error codes that mean "try again later"
// (RFC 6749 §4.1.2.1), whatever the HTTP status.
var transientCodes = map[string]bool{
	"temporarily_unavailable": true,
	"server_error":            true,
	"slow_down":               true,
}

// tokenError classifies an error of a token endpoint call, for the code
// exchange and for refresh alike, into an *Error (wrapping ErrDenied or
// ErrUnavailable) or an error wrapping ErrUnavailable. The provider's
// response body is never kept, and neither is x/oauth2's message, which
// quotes it.
func tokenError(err error, now time.Time) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		var ne net.Error
		if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%w: token endpoint: %w", ErrUnavailable, err)
		}
		// x/oauth2's own errors for a 2xx it cannot use: unparseable, or
		// without access_token. Their text may quote the body.
		return fmt.Errorf("%w: token endpoint: unusable response", ErrUnavailable)
	}
	status := re.Response.StatusCode
	e := &Error{
		Code:        oauthCode(re.ErrorCode),
		Description: re.ErrorDescription,
		URI:         re.ErrorURI,
		Status:      status,
		RetryAfter:  retryAfter(re.Response.Header, now),
		kind:        ErrUnavailable,
	}
	switch {
	case transientCodes[re.ErrorCode]:
	case (status == http.StatusBadRequest || status == http.StatusUnauthorized) && deniedCodes[re.ErrorCode]:
		e.kind = ErrDenied
	case status >= 200 && status < 300 && re.ErrorCode != "":
		// GitHub answers bad_refresh_token, bad_verification_code and
		// incorrect_client_credentials with HTTP 200.
		e.kind = ErrDenied
	}
	if re.ErrorCode == "" {
		e.Code = ""
	}
	return e
}

// authorizationError returns the *Error of an authorization response's
// "error" parameter (RFC 6749 §4.1.2.1).
func authorizationError(code, description, uri string) *Error {
	e := &Error{Code: oauthCode(code), Description: description, URI: uri, kind: ErrDenied}
	if transientCodes[code] {
		e.kind = ErrUnavailable
	}
	return e
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP-date,
// capped at maxRetryAfter; 0 when absent or unparseable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// oauthCode returns code when it is a well-formed OAuth 2.0 error code
// (RFC 6749 §5.2: printable ASCII without '"' and '\\', here at most 64
// bytes), else "invalid".
func oauthCode(code string) string {
	if code == "" || len(code) > 64 {
		return "invalid"
	}
	for i := 0; i < len(code); i++ {
		if c := code[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return "invalid"
		}
	}
	return code
}
