package authtest

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/session"
)

// SignIn makes r a request of a browser signed in as u: it adds to r the
// session cookie that auth's own session store writes for a new session
// of u holding tok (through [middleware.Auth.SignInForTest]), replacing
// any session cookie r had. auth.Require, auth.RequireWith and the
// revocation list then judge r exactly as a request after a real sign-in;
// nothing is asked of the provider.
//
// u.Provider may be empty when auth has one provider; u.Subject is
// required. u is stored as given, as if the provider had verified it:
// SignInPolicy, LinkAccount and OnLogin do not run (call them yourself
// to test them), and Email counts as verified.
//
// tok is stored as given too, and the provider knows nothing of it:
// auth.Client(r) sends tok.AccessToken, which a real provider refuses, so
// point such calls at a fake of the API, or use [Provider.Client] for
// real tokens. Leave tok zero for a session without tokens. A
// tok.RefreshToken with a tok.Expiry within the application's
// RefreshBefore makes Require refresh at the provider, which refuses it
// and ends the session, as it would end a real one.
//
// Any failure ends the test with t.Fatalf.
func SignIn(t testing.TB, auth *middleware.Auth, r *http.Request, u session.User, tok session.Tokens) {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := auth.SignInForTest(rec, r, u, tok); err != nil {
		t.Fatalf("authtest: SignIn %q: %v", u.Subject, err)
	}
	set := rec.Result().Cookies()
	if len(set) == 0 {
		t.Fatalf("authtest: SignIn %q: the session store wrote no cookie", u.Subject)
	}
	kept := slices.DeleteFunc(r.Cookies(), func(c *http.Cookie) bool {
		return slices.ContainsFunc(set, func(s *http.Cookie) bool { return s.Name == c.Name })
	})
	r.Header.Del("Cookie")
	for _, c := range kept {
		r.AddCookie(c)
	}
	for _, c := range set {
		if c.MaxAge >= 0 {
			r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
}
