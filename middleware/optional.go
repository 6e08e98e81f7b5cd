package middleware

import (
	"net/http"
)

// Optional returns middleware for pages anyone may see that show more to a
// signed-in user — a home page with "Signed in as …", a sign-in button
// otherwise. A request with a valid session reaches next with it in the
// context ([UserFrom], [SessionFrom], [Auth.Client]), refreshed first when
// due, exactly as [Auth.Require] does; every other request reaches next
// without a user: never redirected, never refused.
//
// "Valid" is what Require admits: a session that has expired, ended,
// been revoked or that the provider refused at refresh is not one (a
// refused or ended session's cookies are cleared). When the session store
// or the revocation list fails, the request goes on as anonymous and the
// failure is a store_error event: a public page stays up, and nobody is
// treated as signed in who could not be checked. A refresh that fails
// transiently with an expired token shows the page anonymously this time
// and keeps the session for later. Bearer tokens are not read: Optional
// serves browsers.
//
// Every response says Vary: Cookie, since its content may depend on who is
// signed in, and a signed-in one is also Cache-Control: private unless the
// handler sets no-store or private itself: a shared cache must never serve
// one user's page to another.
//
// Optional panics if next is nil.
func (a *Auth) Optional(next http.Handler) http.Handler {
	if next == nil {
		panic("middleware: Optional(nil)")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, _, now, err := a.begin(w, r)
		if err != nil {
			if kind := failureKind(err, ""); kind != "" && st == nil {
				a.emit(r.Context(), Event{Kind: kind, Reason: reasonOf(err)})
			}
			if st != nil {
				st.commit() // clears a session that ended
			}
			w.Header().Add("Vary", "Cookie")
			next.ServeHTTP(w, r)
			return
		}
		privateResponse(w.Header())
		st.run(next, w, now)
	})
}
