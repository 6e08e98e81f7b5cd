package middleware

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/portcullis-go/portcullis/session"
)

// Session returns the request's valid session, or an error wrapping
// ErrUnauthenticated: no session, an expired one, one from a provider no
// longer configured, or one on the revocation list. It is the decision
// behind [Auth.Require]; it makes no network call (unless a shared
// RevocationStore does) and does not refresh.
func (a *Auth) Session(r *http.Request) (*session.Session, error) {
	s, err := a.s.Sessions.Load(r)
	if err != nil {
		if errors.Is(err, session.ErrNoSession) {
			return nil, fail(ErrUnauthenticated, "no_session", nil)
		}
		return nil, fail(ErrStoreUnavailable, "session_store", err)
	}
	now := a.now()
	if !s.Valid(now) || s.Expires.After(s.Created.Add(a.s.SessionLifetime)) {
		return nil, fail(ErrUnauthenticated, "session_expired", nil)
	}
	if a.s.IdleTimeout > 0 && now.Sub(s.LastSeen) > a.s.IdleTimeout {
		return nil, fail(ErrUnauthenticated, "session_idle", nil)
	}
	if _, ok := a.s.providers[s.User.Provider]; !ok {
		// A session from a provider that is no longer configured.
		return nil, fail(ErrUnauthenticated, "unknown_provider", nil)
	}
	revoked, err := a.s.Revocations.Revoked(r.Context(), s)
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
// Require panics if next is nil.
func (a *Auth) Require(next http.Handler) http.Handler {
	if next == nil {
		panic("middleware: Require(nil)")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := a.Session(r)
		if err == nil && a.needsRefresh(s, a.now()) {
			s, err = a.refreshSession(w, r, s)
		}
		if err == nil && a.s.RequireToken && s.Tokens.RefreshToken == "" && tokenExpired(s, a.now()) {
			a.endSession(w, r, s, "token_expired")
			err = fail(ErrUnauthenticated, "token_expired", nil)
		}
		if err != nil {
			if errors.Is(err, ErrStoreUnavailable) {
				a.log.LogAttrs(r.Context(), levelError, "portcullis: store failed", reasonAttr(reasonOf(err)))
			}
			if errors.Is(err, ErrUnauthenticated) {
				a.unauthenticated(w, r, err)
			} else {
				a.fail(w, r, err)
			}
			return
		}
		if a.touchDue(s) {
			s = a.touch(w, r, s)
		}
		st := &requestState{a: a, r: r, s: s, presented: s.Tokens.RefreshToken}
		st.w.ResponseWriter, st.w.st = w, st
		next.ServeHTTP(&st.w, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
		// A handler that wrote nothing still gets its refreshed session
		// saved (the server sends the headers after it returns).
		st.w.start()
	})
}

// touchDue reports whether s's activity must be recorded: an idle timeout
// is set and the last record is older than a quarter of it (at least a
// minute), which bounds how often a busy session rewrites its cookie.
func (a *Auth) touchDue(s *session.Session) bool {
	if a.s.IdleTimeout == 0 {
		return false
	}
	return a.now().Sub(s.LastSeen) >= max(a.s.IdleTimeout/4, time.Minute)
}

// touch saves a copy of s with LastSeen now and returns it.
func (a *Auth) touch(w http.ResponseWriter, r *http.Request, s *session.Session) *session.Session {
	ns := *s
	ns.LastSeen = a.now()
	if err := a.s.Sessions.Save(w, r, &ns); err != nil {
		a.log.LogAttrs(r.Context(), levelError, "portcullis: session activity not saved", reasonAttr("session_save"))
		return s
	}
	return &ns
}

// unauthenticated hands err to the error handler with the sign-in URL for
// this request attached.
func (a *Auth) unauthenticated(w http.ResponseWriter, r *http.Request, err error) {
	a.fail(w, r, &loginRequired{failure: err, login: a.loginPath(requestReturnTo(r))})
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
