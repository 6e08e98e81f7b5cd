package middleware

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/portcullis-go/portcullis/providers"
)

// Providers that are down. An OpenID Connect provider that could not be
// reached when the application started is returned all the same by
// providers.OIDC, and fetches its discovery document on first use, with a
// backoff after each failure (see the providers package). The middleware
// never needs that document to start or to serve anything but that
// provider's own sign-ins and tokens:
//
//   - New reads no provider metadata it would have to wait for. What it
//     checks from the metadata (BearerTokens.Introspect needs an
//     introspection endpoint) it checks when the metadata is known, and
//     otherwise at first use, failing closed there (bearerSession);
//   - a sign-in with a provider that is down gets a 503 page naming it,
//     with Retry-After (the backoff's rest) and a link that starts the
//     same sign-in again (providerDown); the sign-in page, the other
//     providers and the application's own routes are unaffected;
//   - a signed-in user of a provider that is down keeps the session: the
//     session check makes no network call, and a refresh that cannot
//     reach the provider is transient — the current token while it is
//     valid, 502 once it is not, never a sign-out;
//   - the sign-out page's Content-Security-Policy is computed per
//     request from the end_session origins known then (logoutCSP);
//     signing out of a provider that is down ends the local session and
//     skips the provider's (serveLogout).

// knownOnly returns a context that is already done. A provider method
// given it answers from the metadata already known and starts no
// discovery: for the decisions New makes, which must not wait on a
// provider that may be down.
func knownOnly() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// providerDown is the error of a sign-in that cannot start (or finish)
// because its provider is down: its discovery document could not be
// fetched. It wraps ErrProviderUnavailable and is answered 503 with
// Retry-After. name is the provider's display name for the page, retry
// the path that starts the same sign-in again.
type providerDown struct {
	failure error
	name    string
	retry   string
}

func (e *providerDown) Error() string { return e.failure.Error() }
func (e *providerDown) Unwrap() error { return e.failure }

// providerDown answers a sign-in with p that failed with err, an error
// wrapping providers.ErrUnavailable from a method that needed p's
// discovery document: it sets Retry-After to what is left of p's backoff
// (at least a second) and returns the error for the ErrorHandler.
// returnTo is the sign-in's validated return path and su its step-up
// request, both kept in the link that tries again.
func (a *Auth) providerDown(w http.ResponseWriter, p *providers.Provider, returnTo string, su stepUp, err error) error {
	var ra interface{ RetryAfter() time.Duration }
	var wait time.Duration
	if errors.As(err, &ra) {
		wait = ra.RetryAfter()
	}
	w.Header().Set("Retry-After", retryAfterValue(wait))
	return &providerDown{failure: fail(ErrProviderUnavailable, "provider_down", err), name: p.DisplayName(), retry: a.s.signInURL(p, returnTo, su)}
}

// flowRetry is the return path (validated again, or the default) and the
// step-up request of f, which may be nil.
func (s *settings) flowRetry(f *flow) (string, stepUp) {
	if f == nil {
		return s.home, stepUp{}
	}
	return s.returnToOr(f.ReturnTo), stepUp{maxAge: f.MaxAge, acr: f.ACR, amr: f.AMR}
}

// isDiscoveryFailure reports whether err, from a provider method, says
// the provider's discovery document is not known (it has RetryAfter),
// rather than that an endpoint failed.
func isDiscoveryFailure(err error) bool {
	var ra interface{ RetryAfter() time.Duration }
	return errors.Is(err, providers.ErrUnavailable) && errors.As(err, &ra)
}
