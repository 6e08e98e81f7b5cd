package middleware

import (
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
		a.log.LogAttrs(r.Context(), levelInfo, "portcullis: logout", providerAttr(s.User.Provider), userAttr(&s.User))
	}
	w.Header().Set("Location", a.returnToParam(r))
	w.WriteHeader(http.StatusSeeOther)
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
