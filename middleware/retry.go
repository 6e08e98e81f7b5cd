package middleware

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/portcullis-go/portcullis/providers"
)

// "Try again" on an error page restarts the sign-in that failed, not just
// any sign-in: the same provider, the same return path and the same
// step-up request. Where the failure happened decides what is known:
//
//   - a callback knows its flow (when the state matched): the flow's
//     provider, return path and step-up (attempt, attached by
//     serveCallback); without one, the provider of the callback's path;
//   - a sign-in that could not start knows its request
//     (GET {PathPrefix}/login/{provider}?return_to=…&max_age=…), read
//     again with the same checks;
//   - a provider that is down: providerDown carries its link;
//   - an application route behind Require: LoginURL, or the route itself
//     when a store was down;
//   - otherwise the sign-in page.
//
// Every link is built from validated values: a configured provider's
// name, a return path settings.returnTo accepted, step-up parameters
// stepUpParam accepted.

// attempt is the error of a failed callback with the sign-in that tries
// it again: retry, with provider's display name.
type attempt struct {
	failure  error
	provider string
	retry    string
}

func (e *attempt) Error() string { return e.failure.Error() }
func (e *attempt) Unwrap() error { return e.failure }

// retrying attaches to err, the failure of a callback at provider p (nil
// when the path names none), the sign-in to try again: f's when the flow
// was found (its provider, return path and step-up), else p's.
func (a *Auth) retrying(p *providers.Provider, f *flow, err error) error {
	if f != nil {
		p = a.s.providers[f.Provider]
	}
	var down *providerDown
	if p == nil || errors.As(err, &down) {
		return err
	}
	returnTo, su := a.s.flowRetry(f)
	return &attempt{failure: err, provider: p.DisplayName(), retry: a.s.signInURL(p, returnTo, su)}
}

// signInURL is the path that starts a sign-in with p returning to
// returnTo (validated) with the step-up request su: the retry links and
// the sign-in page's buttons.
func (s *settings) signInURL(p *providers.Provider, returnTo string, su stepUp) string {
	q := url.Values{}
	if returnTo != s.home {
		q.Set("return_to", returnTo)
	}
	su.query(q)
	u := s.prefix + "/login/" + p.Name()
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// logoutPath is the sign-out page's path for returnTo.
func (a *Auth) logoutPath(returnTo string) string {
	if returnTo == a.s.home {
		return a.s.prefix + "/logout"
	}
	return a.s.prefix + "/logout?return_to=" + queryEscape(returnTo)
}

// retryOf returns the link that tries again after err, on request r, and
// the display name of the provider it signs in with ("" when none is
// known).
func (a *Auth) retryOf(r *http.Request, err error) (string, string) {
	var down *providerDown
	var at *attempt
	switch {
	case errors.As(err, &down):
		return down.retry, down.name
	case errors.As(err, &at):
		return at.retry, at.provider
	case LoginURL(err) != "":
		return LoginURL(err), ""
	}
	switch r.Pattern {
	case "GET " + a.s.prefix + "/login/{provider}":
		if p := a.s.providers[r.PathValue("provider")]; p != nil {
			su, _ := stepUpParam(r.URL.Query()) // malformed: none
			return a.s.signInURL(p, a.returnToParam(r), su), p.DisplayName()
		}
	case "GET " + a.s.prefix + "/login":
		return a.loginPath(a.returnToParam(r)), ""
	}
	pattern := r.Pattern
	if _, path, ok := strings.Cut(pattern, " "); ok {
		pattern = path
	}
	ours := strings.HasPrefix(pattern, a.s.prefix+"/") || strings.HasPrefix(r.URL.Path, a.s.prefix+"/") || strings.HasPrefix(r.URL.Path, a.s.PathPrefix+"/")
	if !ours && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		// An application route: load it again.
		return a.requestReturnTo(r), ""
	}
	return a.s.prefix + "/login", ""
}
