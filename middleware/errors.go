package middleware

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
)

// Errors a caller may handle differently. Every error passed to
// Config.ErrorHandler wraps exactly one of them. An error about the
// provider's answer also wraps the provider's [*providers.Error] (its RFC
// 6749 error code, description and URI) when there was one.
var (
	// ErrUnauthenticated: the request carries no valid session. The default
	// handler redirects browser navigations to the sign-in page and answers
	// other requests with 401.
	ErrUnauthenticated = errors.New("middleware: not signed in")
	// ErrForbidden: the user is signed in, or has just proved who they are,
	// but is not allowed (a policy or OnLogin refused). 403.
	ErrForbidden = errors.New("middleware: forbidden")
	// ErrInvalidRequest: a malformed or unacceptable request, such as a
	// callback with a missing, wrong, reused or expired state, or a
	// request for an unknown provider. 400; the user should start again.
	ErrInvalidRequest = errors.New("middleware: invalid request")
	// ErrLoginFailed: the provider's answer did not verify (code exchange
	// refused, ID token invalid). 401.
	ErrLoginFailed = errors.New("middleware: login failed")
	// ErrProviderUnavailable: the provider could not be reached, answered
	// with a server error or asked to retry later. 502; but 503, with
	// Retry-After, for a sign-in with a provider that is down — one whose
	// OpenID discovery document could not be fetched since the
	// application started (see providers.OIDC): the default page names
	// the provider and links to the same sign-in, to try again.
	ErrProviderUnavailable = errors.New("middleware: provider unavailable")
	// ErrStoreUnavailable: a store portcullis depends on failed or is full
	// (the session store, the revocation list, the record of used
	// callbacks). The request is refused, not treated as signed out:
	// signing in again would meet the same outage. 503.
	ErrStoreUnavailable = errors.New("middleware: store unavailable")
	// ErrRateLimited: the client started too many sign-ins too fast
	// (Config.LoginRateLimit); the response carries Retry-After. 429.
	ErrRateLimited = errors.New("middleware: rate limited")
	// ErrNotFound: no endpoint at this path under PathPrefix. 404.
	ErrNotFound = errors.New("middleware: not found")
	// ErrInternal: a fault in the application's setup or in portcullis,
	// such as a ChooserTemplate that fails to execute or a session too
	// large for its store. 500.
	ErrInternal = errors.New("middleware: internal error")
)

// Status returns the HTTP status for an error given to the ErrorHandler:
// the one each exported error documents, and 500 for anything else.
func Status(err error) int {
	var down *providerDown
	switch {
	case errors.As(err, &down):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrUnauthenticated), errors.Is(err, ErrLoginFailed):
		return http.StatusUnauthorized
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, ErrInvalidRequest):
		return http.StatusBadRequest
	case errors.Is(err, ErrProviderUnavailable):
		return http.StatusBadGateway
	case errors.Is(err, ErrStoreUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrRateLimited):
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// failure is an error with the short, fixed reason the logs record. The
// reason never holds request data, tokens or claims.
type failure struct {
	kind   error  // one of the exported errors
	reason string // e.g. "state_mismatch"
	err    error  // cause, may be nil
}

func (f *failure) Error() string {
	if f.err != nil {
		return fmt.Sprintf("%v: %s: %v", f.kind, f.reason, f.err)
	}
	return fmt.Sprintf("%v: %s", f.kind, f.reason)
}

func (f *failure) Unwrap() []error {
	if f.err != nil {
		return []error{f.kind, f.err}
	}
	return []error{f.kind}
}

func fail(kind error, reason string, err error) *failure {
	return &failure{kind: kind, reason: reason, err: err}
}

// reasonOf returns the logged reason of err.
func reasonOf(err error) string {
	var f *failure
	if errors.As(err, &f) {
		return f.reason
	}
	return "internal"
}

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
