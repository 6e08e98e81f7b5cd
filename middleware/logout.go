package middleware

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/portcullis-go/portcullis/session"
)

// serveLogoutPage shows a confirmation page with a button that POSTs to
// the logout endpoint. A GET changes nothing, so an <img src=/auth/logout>
// on another site cannot sign anyone out.
func (a *Auth) serveLogoutPage(w http.ResponseWriter, r *http.Request) {
	action := a.s.PathPrefix + "/logout"
	if rt := a.returnToParam(r); rt != "/" {
		action += "?return_to=" + queryEscape(rt)
	}
	d := logoutData{Action: action}
	if s, err := a.Session(r); err == nil {
		d.User = displayName(&s.User)
	}
	a.pages.render(w, http.StatusOK, "logout", d)
}

// serveLogout signs out: it clears every session cookie chunk and every
// flow cookie, then redirects to return_to. Only same-origin requests are
// accepted (http.CrossOriginProtection: Sec-Fetch-Site, then Origin).
func (a *Auth) serveLogout(w http.ResponseWriter, r *http.Request) {
	if err := a.cop.Check(r); err != nil {
		a.log.LogAttrs(r.Context(), levelWarn, "portcullis: cross-origin logout refused", reasonAttr("cross_origin"))
		a.fail(w, r, fail(ErrForbidden, "cross_origin", nil))
		return
	}
	s, _ := a.Session(r)
	if err := a.s.Sessions.Clear(w, r); err != nil {
		a.log.LogAttrs(r.Context(), levelError, "portcullis: session clear failed", reasonAttr("session_store"))
	}
	a.flows.clearAll(w, r)
	if s != nil {
		// A copy of the cookie taken before the logout must not work
		// after it.
		a.ended(r.Context(), "local", session.Revocation{
			ID: s.ID, Provider: s.User.Provider, Subject: s.User.Subject, SID: s.SID, Expires: s.Expires,
		})
	}
	w.Header().Set("Location", a.returnToParam(r))
	w.WriteHeader(http.StatusSeeOther)
}

// ended records on the revocation list that sessions ended, logs it and
// tells Config.OnLogout. kind is "local", "backchannel" or "end_sessions".
// A failure to record is logged and returned; the hook runs either way.
func (a *Auth) ended(ctx context.Context, kind string, rev session.Revocation) error {
	err := a.s.Revocations.Add(ctx, rev)
	if err != nil {
		a.log.LogAttrs(ctx, levelError, "portcullis: revocation not recorded", providerAttr(rev.Provider), reasonAttr("revocation_store"))
	}
	attrs := []slog.Attr{slog.String("kind", kind), providerAttr(rev.Provider)}
	if rev.Subject != "" {
		attrs = append(attrs, userAttr(&session.User{Provider: rev.Provider, Subject: rev.Subject}))
	}
	a.log.LogAttrs(ctx, levelInfo, "portcullis: logout", attrs...)
	if a.s.OnLogout != nil {
		a.s.OnLogout(ctx, rev)
	}
	return err
}

// EndSessions ends every session of the user with the given subject at
// the named provider that was created before now, including copies of
// cookies held elsewhere: "sign out everywhere", or an administrator
// disabling a user. It records the fact on the revocation list; each
// affected browser is treated as signed out at its next request.
func (a *Auth) EndSessions(ctx context.Context, provider, subject string) error {
	if a.s.providers[provider] == nil {
		return fmt.Errorf("middleware: EndSessions: no provider named %q", provider)
	}
	if subject == "" {
		return errors.New("middleware: EndSessions: empty subject")
	}
	now := a.now()
	rev := session.Revocation{Provider: provider, Subject: subject, Before: now, Expires: now.Add(a.s.SessionLifetime)}
	if err := a.ended(ctx, "end_sessions", rev); err != nil {
		return fmt.Errorf("middleware: EndSessions: %w", err)
	}
	return nil
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
