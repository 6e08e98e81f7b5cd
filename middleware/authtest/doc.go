// Package authtest signs users in for an application's tests, through the
// same middleware, session store and policies as in production.
//
// Two ways, for two kinds of test:
//
//   - [SignIn] adds to an *http.Request the session cookie that the
//     application's own store writes for given user claims and tokens. A
//     handler test with httptest.NewRecorder then runs auth.Require and
//     auth.RequireWith(policy) exactly as after a real sign-in, in a few
//     lines and without a network round trip. The provider never sees
//     these tokens: they are worth what the test makes of them.
//   - [NewProvider] starts a real OpenID provider ([devoidc]) on
//     127.0.0.1, closed with the test, for the application to configure,
//     and [Provider.Client] returns a cookie-jar client signed in to the
//     application as one of its users through the whole flow (login,
//     provider, callback). Its session holds real tokens: a handler's
//     call to the provider's API with [middleware.Auth.Client] works.
//
// The application always needs a provider, so a test starts one with
// NewProvider, serving its application or not:
//
//	func TestAdminPage(t *testing.T) {
//		idp := authtest.NewProvider(t, authtest.Config{BaseURL: "http://localhost:8080"})
//		auth, _ := middleware.New(middleware.Config{BaseURL: "http://localhost:8080", Providers: []*providers.Provider{idp.Provider()}, Keys: keys})
//		r := httptest.NewRequest("GET", "/admin", nil)
//		authtest.SignIn(t, auth, r, session.User{Subject: "ada", Groups: []string{"admins"}}, session.Tokens{})
//		w := httptest.NewRecorder()
//		adminRoutes(auth).ServeHTTP(w, r)
//		// w.Code is 200
//	}
//
// Every helper takes the test's t first, registers its cleanup with
// t.Cleanup and ends the test with t.Fatalf, saying which step failed,
// when something goes wrong.
//
// # What this package does not do
//
// SignIn does not run the sign-in hooks (SignInPolicy, LinkAccount,
// OnLogin): the user is taken as given. It does not make devoidc know
// the tokens it stores. The provider is always devoidc, never a fake of
// Google or GitHub; it registers no back-channel logout URI.
package authtest
