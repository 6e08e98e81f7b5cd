package middleware

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/session"
)

// serveLogoutPage shows a confirmation page with a button that POSTs to
// the logout endpoint. A GET changes nothing, so an <img src=/auth/logout>
// on another site cannot sign anyone out. When nobody is signed in, the
// page says so and offers to sign in instead.
func (a *Auth) serveLogoutPage(w http.ResponseWriter, r *http.Request) {
	rt := a.returnToParam(r)
	s, err := a.Session(r)
	if errors.Is(err, ErrStoreUnavailable) {
		// Whether anyone is signed in cannot be told.
		a.fail(w, r, err)
		return
	}
	var provider string
	pg := a.pages.page("logout", "Sign out", http.StatusOK)
	if s != nil {
		provider = s.User.Provider
		pg.User = displayName(&s.User)
		pg.Heading = "Sign out?"
		if a.s.Brand.Name != "" {
			pg.Heading = "Sign out of " + a.s.Brand.Name + "?"
		}
		pg.Message = "You are signed in as " + pg.User + "."
		pg.Action, pg.ActionLabel = a.logoutPath(rt), "Sign out"
		if p := a.s.providers[provider]; p != nil {
			pg.Provider = p.DisplayName()
		}
	} else {
		pg = a.pages.page("logout", "Not signed in", http.StatusOK)
		pg.Heading = "You are not signed in"
		pg.Message = "Nobody is signed in to " + cmp.Or(a.s.Brand.Name, "this site") + " in this browser, so there is nothing to sign out of."
		pg.Action, pg.ActionLabel = a.loginPath(rt), "Sign in"
	}
	if err := a.pages.render(w, pg, a.logoutOrigins(r.Context(), provider)); err != nil {
		a.fail(w, r, fail(ErrInternal, "page_template", err))
	}
}

// logoutOrigins are the origins the sign-out page's form may lead to
// besides its own, for its Content-Security-Policy. The form posts to
// /auth/logout, which may redirect to a provider's end_session_endpoint,
// and browsers apply form-action to the redirects of a form submission
// too (CSP Level 3 §6.3.1), so the end_session origins are allowed beside
// 'self': those of every provider whose metadata is known, and that of
// the signed-in user's provider (named provider; "" when nobody is signed
// in), whose endpoint the form leads to, waited for as long as ctx allows
// when it is not known yet. It is computed per request, not in New: a
// provider that was down when the application started learns its
// endpoint later (unavailable.go).
func (a *Auth) logoutOrigins(ctx context.Context, provider string) []string {
	var origins []string
	known := knownOnly()
	for _, p := range a.s.Providers {
		wait := known
		if p.Name() == provider {
			wait = ctx
		}
		end, err := p.EndSessionURL(wait, "", "", "")
		if err != nil {
			continue // down: the sign-out will not send the browser there
		}
		if u, err := url.Parse(end); err == nil && u.Host != "" {
			if o := u.Scheme + "://" + u.Host; !slices.Contains(origins, o) {
				origins = append(origins, o)
			}
		}
	}
	return origins
}

// serveLogout signs out. Only same-origin requests are accepted
// (http.CrossOriginProtection: Sec-Fetch-Site, then Origin). It clears
// every session cookie chunk and flow cookie and puts the session on the
// revocation list, so that a copy of the cookie stops working too (when
// the list cannot record it, the logout answers through the ErrorHandler
// with ErrStoreUnavailable instead of redirecting: the cookies are
// cleared, but a copy would still work); then,
// in the background, it revokes the refresh token (or the access token)
// at the provider's revocation endpoint (RFC 7009), which never delays or
// blocks the local logout; and when the provider has an
// end_session_endpoint it sends the browser there (RP-Initiated Logout)
// with a fresh state, to come back to {PathPrefix}/logout/callback.
// Otherwise it redirects to return_to.
func (a *Auth) serveLogout(w http.ResponseWriter, r *http.Request) {
	if err := a.cop.Check(r); err != nil {
		a.emit(r.Context(), Event{Kind: EventCSRFFailed, Reason: "cross_origin", Logout: "local", Status: http.StatusForbidden})
		a.fail(w, r, fail(ErrForbidden, "cross_origin", nil))
		return
	}
	returnTo := a.returnToParam(r)
	s, err := a.Session(r)
	clearErr := a.s.Sessions.Clear(w, r)
	a.flows.clearAll(w, r)
	if errors.Is(err, ErrStoreUnavailable) {
		// Whether the session is still valid, and so whether it needs
		// revoking, cannot be told: the browser's cookies are gone, but do
		// not report a completed logout a copy of them might outlive.
		a.emit(r.Context(), Event{Kind: EventStoreError, Reason: reasonOf(err), Logout: "local", Status: Status(err)})
		a.fail(w, r, err)
		return
	}
	if clearErr != nil {
		// A server-side store that could not delete the record: the
		// revocation list below still ends the session.
		a.emit(r.Context(), Event{Kind: EventStoreError, Reason: "session_store", Logout: "local"})
	}
	if s == nil {
		w.Header().Set("Location", returnTo)
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	ctx := r.Context()
	ended := a.ended(ctx, "local", sessionRevocation(s))
	p := a.s.providers[s.User.Provider]
	a.revokeTokens(ctx, p, s)
	if ended != nil {
		// The browser's cookies are gone, but a copy of them would still
		// work: say so rather than show a completed logout.
		a.fail(w, r, ended)
		return
	}
	state := randomString(32)
	end, err := p.EndSessionURL(ctx, s.Tokens.IDToken, a.s.endpointURL("/logout/callback"), state)
	if err != nil {
		// The provider is down (its discovery document cannot be
		// fetched): the local logout is complete, the provider's session
		// is left as it is.
		a.log.LogAttrs(ctx, levelWarn, "portcullis: logout at provider skipped: provider unavailable", providerAttr(p.Name()), reasonAttr("provider_down"))
	}
	if end == "" {
		w.Header().Set("Location", returnTo)
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	f := &flow{Provider: p.Name(), Issuer: p.Issuer(), State: state, ReturnTo: returnTo, Created: a.now()}
	if err := a.logouts.set(w, r, f, false); err != nil {
		w.Header().Set("Location", returnTo)
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	a.log.LogAttrs(ctx, levelInfo, "portcullis: logout at provider started", providerAttr(p.Name()))
	w.Header().Set("Location", end)
	w.WriteHeader(http.StatusSeeOther)
}

// revokeTokens revokes the session's refresh token, or its access token
// when it has none, at the provider, in the background with a timeout.
// Whether the provider has a revocation endpoint may be known only once
// its discovery document is (a provider that was down when the
// application started): the background work then finds out.
func (a *Auth) revokeTokens(ctx context.Context, p *providers.Provider, s *session.Session) {
	token, hint := s.Tokens.RefreshToken, "refresh_token"
	if token == "" {
		token, hint = s.Tokens.AccessToken, "access_token"
	}
	if ok, err := p.CanRevoke(knownOnly()); token == "" || err == nil && !ok {
		return
	}
	a.background.Add(1)
	go func() {
		defer a.background.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
		defer cancel()
		err := p.Revoke(ctx, token, hint)
		switch {
		case errors.Is(err, errors.ErrUnsupported):
			return // no revocation endpoint after all
		case err != nil:
			a.log.LogAttrs(ctx, levelWarn, "portcullis: token revocation failed", providerAttr(p.Name()), reasonAttr("revocation_failed"))
			return
		}
		a.log.LogAttrs(ctx, levelInfo, "portcullis: token revoked", providerAttr(p.Name()), slog.String("token", hint))
	}()
}

const revokeTimeout = 10 * time.Second

// serveLogoutCallback is where the provider sends the browser after an
// RP-initiated logout. With the state of a logout this browser started,
// it redirects to that logout's return path; with a missing or wrong
// state it does nothing but show that the user is signed out (RP-Initiated
// Logout §3). Either way every logout flow cookie is expired.
func (a *Auth) serveLogoutCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := a.logouts.take(w, r, q.Get("state"), a.now())
	a.logouts.clearAll(w, r)
	if err != nil || len(q["state"]) != 1 {
		a.emit(r.Context(), Event{Kind: EventStateInvalid, Reason: "logout_state_mismatch", Status: http.StatusOK})
		pg := a.pages.page("signed-out", "Signed out", http.StatusOK)
		pg.Heading = "You are signed out"
		pg.Message = "You have been signed out of " + cmp.Or(a.s.Brand.Name, "this site") + " in this browser."
		pg.Action, pg.ActionLabel = a.loginPath(a.s.home), "Sign in again"
		if err := a.pages.render(w, pg, nil); err != nil {
			a.fail(w, r, fail(ErrInternal, "page_template", err))
		}
		return
	}
	w.Header().Set("Location", a.s.returnToOr(f.ReturnTo))
	w.WriteHeader(http.StatusSeeOther)
}

// ended records on the revocation list that sessions ended, reports the
// logout event and tells Config.OnLogout. kind is "local", "backchannel"
// or "everywhere" (Event.Logout); rev has one of the shapes of
// session.Revocation (sessionRevocation, endedRevocation). A failure to
// record is reported (store_error, reason "revocation_store") and
// returned, wrapping ErrStoreUnavailable; nothing ended then, and
// OnLogout is not told.
func (a *Auth) ended(ctx context.Context, kind string, rev session.Revocation) error {
	if err := a.s.Revocations.Add(ctx, rev); err != nil {
		err := fail(ErrStoreUnavailable, "revocation_store", err)
		a.emit(ctx, Event{Kind: EventStoreError, Provider: rev.Provider, Reason: "revocation_store", Logout: kind, Status: logoutStatus(kind, err)})
		return err
	}
	e := Event{Kind: EventLogout, Provider: rev.Provider, Logout: kind, Status: logoutStatus(kind, nil)}
	if rev.Subject != "" {
		e.User = UserRef(&session.User{Provider: rev.Provider, Subject: rev.Subject})
	}
	a.emit(ctx, e)
	if a.s.OnLogout != nil {
		a.s.OnLogout(ctx, rev)
	}
	return nil
}

// EndSessions ends every session of the user with the given subject at
// the named provider that was created before now, including copies of
// cookies held elsewhere: "sign out everywhere", or an administrator
// disabling a user. It records the fact on the revocation list; each
// affected browser is treated as signed out at its next request. When the
// list cannot record it, the error wraps ErrStoreUnavailable and nothing
// was ended.
//
// Each call takes one entry of the list until a session lifetime has
// passed, even for an account with no session: to sign everyone out,
// replace the session keys instead.
func (a *Auth) EndSessions(ctx context.Context, provider, subject string) error {
	if a.s.providers[provider] == nil {
		return fmt.Errorf("middleware: EndSessions: no provider named %q", provider)
	}
	if subject == "" {
		return errors.New("middleware: EndSessions: empty subject")
	}
	rev := endedRevocation(provider, subject, "", a.now(), a.s.SessionLifetime)
	if err := a.ended(ctx, "everywhere", rev); err != nil {
		return fmt.Errorf("middleware: EndSessions: %w", err)
	}
	return nil
}

// logoutStatus is the status of the request whose logout of the given
// kind ended sessions (err nil) or failed to: a local logout redirects
// (or answers through the ErrorHandler), the back-channel endpoint answers
// 200 (or 400), EndSessions has no request.
func logoutStatus(kind string, err error) int {
	switch {
	case kind == "everywhere":
		return 0
	case err != nil && kind == "local":
		return Status(err)
	case err != nil:
		return http.StatusBadRequest
	case kind == "local":
		return http.StatusSeeOther
	}
	return http.StatusOK
}

// displayName is how a page names the signed-in user.
func displayName(u *session.User) string {
	for _, v := range [...]string{u.Name, u.Email, u.Login} {
		if v != "" {
			return v
		}
	}
	return u.Subject
}
