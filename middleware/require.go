package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/portcullis-go/portcullis/middleware/policy"
	"github.com/portcullis-go/portcullis/session"
)

// Session returns the request's valid session, or an error wrapping
// ErrUnauthenticated: no session, an expired or idle one, one from a
// provider no longer configured or now configured with another issuer, or
// one on the revocation list; ErrStoreUnavailable when a store failed. It is the decision
// behind [Auth.Require]; it makes no network call (unless a shared
// RevocationStore does) and does not refresh.
func (a *Auth) Session(r *http.Request) (*session.Session, error) {
	return a.session(r, a.now())
}

// atLoader is a Store that loads at a time its caller read
// (session.CookieStore): a request then reads the clock once.
type atLoader interface {
	LoadAt(r *http.Request, now time.Time) (*session.Session, error)
}

// session is Session at now.
func (a *Auth) session(r *http.Request, now time.Time) (*session.Session, error) {
	var s *session.Session
	var err error
	if l, ok := a.s.Sessions.(atLoader); ok {
		s, err = l.LoadAt(r, now)
	} else {
		s, err = a.s.Sessions.Load(r)
	}
	if err != nil {
		if errors.Is(err, session.ErrNoSession) {
			return nil, fail(ErrUnauthenticated, "no_session", nil)
		}
		return nil, fail(ErrStoreUnavailable, "session_store", err)
	}
	if !s.Valid(now) || s.Expires.After(s.Created.Add(a.s.SessionLifetime)) {
		return nil, fail(ErrUnauthenticated, "session_expired", nil)
	}
	if a.s.IdleTimeout > 0 && now.Sub(s.LastSeen) > a.s.IdleTimeout {
		return nil, fail(ErrUnauthenticated, "session_idle", nil)
	}
	p, ok := a.s.providers[s.User.Provider]
	if !ok {
		// A session from a provider that is no longer configured.
		return nil, fail(ErrUnauthenticated, "unknown_provider", nil)
	}
	if s.User.Issuer != p.Issuer() {
		// The name now points at another issuer: the session, and its
		// refresh token, belong to the old one.
		return nil, fail(ErrUnauthenticated, "issuer_changed", nil)
	}
	var revoked bool
	if at, ok := a.s.Revocations.(interface {
		revokedAt(context.Context, *session.Session, time.Time) (bool, error)
	}); ok {
		// The default list checks at the request's clock reading.
		revoked, err = at.revokedAt(r.Context(), s, now)
	} else {
		revoked, err = a.s.Revocations.Revoked(r.Context(), s)
	}
	if err != nil {
		// Fail closed, but do not call it "signed out": signing in again
		// would meet the same outage.
		return nil, fail(ErrStoreUnavailable, "revocation_store", err)
	}
	if revoked {
		return nil, fail(ErrUnauthenticated, "session_revoked", nil)
	}
	return s, nil
}

// Require returns a handler that lets signed-in requests through to next,
// with the session in the request context ([UserFrom], [SessionFrom]),
// and sends the others to the error handler with ErrUnauthenticated: by
// default, browser navigations are redirected to the sign-in page with
// return_to set to the requested path, and other requests (fetch, API
// clients, non-GET) get 401 with a JSON body.
//
// When the session's access token expires within RefreshBefore, Require
// refreshes it first (one token-endpoint call per refresh token, however
// many requests arrive at once), saves the session and hands the fresh
// token to next. A refresh the provider refuses ends the session; one that
// fails transiently keeps the current token while it is valid, and
// answers 502 once it is not.
//
// Require panics if next is nil. It admits any signed-in user; see
// [Auth.RequireWith] to decide who.
func (a *Auth) Require(next http.Handler) http.Handler {
	if next == nil {
		panic("middleware: Require(nil)")
	}
	return a.require(next, nil)
}

// RequireWith returns middleware like [Auth.Require] that also lets
// through only the users p admits (package policy: email domains, groups,
// providers, IP ranges, step-up, or a function). A signed-in user p
// refuses gets 403 through the ErrorHandler (ErrForbidden; a page, or JSON
// for API clients) and is never sent back to sign in. When p asks for a
// step-up (policy.StepUp), a browser is sent through its provider again
// for a more recent or stronger authentication, its return path kept, and
// an API client gets 401 with the URL that does it; if the provider does
// not deliver, the answer is 403, never another round. An error from p
// that is not a refusal (a lookup that failed) answers 503
// (ErrStoreUnavailable): the request is refused, not admitted.
//
// RequireWith panics if p is nil or misconfigured (policy.Validate): a
// policy that cannot work is a wiring mistake found at startup.
func (a *Auth) RequireWith(p policy.Policy) func(http.Handler) http.Handler {
	if p == nil {
		panic("middleware: RequireWith(nil)")
	}
	if err := policy.Validate(p); err != nil {
		panic(fmt.Sprintf("middleware: RequireWith: %v", err))
	}
	return func(next http.Handler) http.Handler {
		if next == nil {
			panic("middleware: RequireWith(p)(nil)")
		}
		return a.require(next, p)
	}
}

// require is Require with an optional policy.
func (a *Auth) require(next http.Handler, p policy.Policy) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.s.BearerTokens != nil {
			if raw, ok := bearerToken(r); ok {
				a.serveBearer(w, r, raw, next, p)
				return
			}
		}
		st, s, now, err := a.begin(w, r)
		if st == nil {
			a.refuse(w, r, nil, err)
			return
		}
		if err == nil && p != nil {
			err = a.authorize(r, s, p, now)
		}
		if err != nil {
			st.commit()
			a.refuse(w, r, s, err)
			return
		}
		st.run(next, w, now)
	})
}

// begin loads the request's session and makes it current, as Require and
// Optional do before the handler: refreshed when due, ended when
// RequireToken finds its token expired. st is nil when there is no
// session (err says why); otherwise err, when set, is why the request may
// not go on with it, and st must still commit (a session that ended is
// cleared).
func (a *Auth) begin(w http.ResponseWriter, r *http.Request) (st *requestState, s *session.Session, now time.Time, err error) {
	now = a.now()
	s, err = a.session(r, now)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	st = newRequestState(a, r, w.Header(), s)
	if a.needsRefresh(s, now) {
		s, err = st.refresh(r.Context())
	}
	if err == nil && a.s.RequireToken && s.Tokens.RefreshToken == "" && tokenExpired(s, now) {
		st.end(EventSessionEnded, "token_expired")
		err = fail(ErrUnauthenticated, "token_expired", nil)
	}
	return st, s, now, err
}

// run hands the request to next with its session in the context, through
// the writer that saves the session before the first byte.
func (st *requestState) run(next http.Handler, w http.ResponseWriter, now time.Time) {
	st.touch(now)
	st.serve()
	st.w.ResponseWriter, st.w.st = w, st
	next.ServeHTTP(&st.w, st.r.WithContext(context.WithValue(st.r.Context(), stateKey{}, st)))
	// A handler that wrote nothing still gets its session saved (the
	// server sends the headers after it returns).
	st.w.start()
}

// authorize applies a route's policy to a session.
func (a *Auth) authorize(r *http.Request, s *session.Session, p policy.Policy, now time.Time) error {
	err := p.Check(&policy.Request{
		HTTP: r, User: &s.User, AuthTime: s.AuthTime, ACR: s.ACR, AMR: s.AMR,
		ClientIP: a.clientIP(r), Now: now,
	})
	return a.policyFailure(r, s.User.Provider, err)
}

// policyFailure maps a policy's answer to the middleware's errors. A
// step-up is never a loop: the callback verifies what the login asked for
// (403 when the provider did not deliver), with the same minute of clock
// skew policy.StepUp allows, so a session it accepted passes the route.
func (a *Auth) policyFailure(r *http.Request, provider string, err error) error {
	var su *policy.StepUpRequired
	switch {
	case err == nil:
		return nil
	case errors.As(err, &su) && !validStepUp(su):
		// A policy of the application's asked for values no login can
		// carry: a wiring mistake, not the user's.
		return fail(ErrInternal, "step_up_malformed", err)
	case errors.As(err, &su):
		q := url.Values{}
		if rt := a.requestReturnTo(r); rt != a.s.home {
			q.Set("return_to", rt)
		}
		stepUpOf(su).query(q)
		return &loginRequired{
			failure: fail(ErrUnauthenticated, "step_up_required", nil),
			login:   a.s.prefix + "/login/" + provider + "?" + q.Encode(),
		}
	case errors.Is(err, policy.ErrInsufficientScope):
		return fail(ErrForbidden, "insufficient_scope", err)
	case errors.Is(err, policy.ErrDenied):
		return fail(ErrForbidden, "policy_denied", err)
	}
	return fail(ErrStoreUnavailable, "policy_error", err)
}

// refuse answers a request Require does not let through; s is the
// session it was refused for, when there is one. A policy's refusal and a
// store failure are events; the other refusals are not (no session, or
// one that ended: the refresh or the end reported it).
func (a *Auth) refuse(w http.ResponseWriter, r *http.Request, s *session.Session, err error) {
	if kind := failureKind(err, ""); kind != "" {
		e := Event{Kind: kind, Reason: reasonOf(err), Status: Status(err)}
		if s != nil {
			e.Provider, e.User = s.User.Provider, UserRef(&s.User)
		}
		a.emit(r.Context(), e)
	}
	var lr *loginRequired
	if errors.As(err, &lr) {
		a.fail(w, r, err)
		return
	}
	if errors.Is(err, ErrUnauthenticated) {
		a.unauthenticated(w, r, err)
		return
	}
	a.fail(w, r, err)
}

// unauthenticated hands err to the error handler with the sign-in URL for
// this request attached.
func (a *Auth) unauthenticated(w http.ResponseWriter, r *http.Request, err error) {
	a.fail(w, r, &loginRequired{failure: err, login: a.loginPath(a.requestReturnTo(r))})
}

// loginRequired is ErrUnauthenticated with the URL that signs the user in
// and brings them back.
type loginRequired struct {
	failure error
	login   string
}

func (e *loginRequired) Error() string { return e.failure.Error() }
func (e *loginRequired) Unwrap() error { return e.failure }

// LoginURL returns the sign-in URL (a same-origin path) that brings the
// user back to the page they asked for, for an error given to the
// ErrorHandler by [Auth.Require], and "" for other errors.
func LoginURL(err error) string {
	var lr *loginRequired
	if errors.As(err, &lr) {
		return lr.login
	}
	return ""
}

// isNavigation reports whether r is a top-level browser navigation, which
// should be redirected to sign in rather than answered with 401.
func isNavigation(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	switch r.Header.Get("Sec-Fetch-Mode") {
	case "navigate":
		return true
	case "":
		return acceptsHTML(r)
	}
	return false
}
