package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portcullis-go/portcullis/middleware/authtest"
	"github.com/portcullis-go/portcullis/session"
)

// TestPrivateWithSignIn tests /private of each framework's application
// with authtest.SignIn: a signed-in user is greeted, a signed-out browser
// is sent to sign in.
func TestPrivateWithSignIn(t *testing.T) {
	const appURL = "http://127.0.0.1:8080"
	idp := authtest.NewProvider(t, authtest.Config{BaseURL: appURL, Name: "devoidc"})
	auth, err := newAuth(t.Context(), devSetup{AppURL: appURL, ProviderURL: idp.Server().Issuer()})
	if err != nil {
		t.Fatal(err)
	}
	for _, framework := range []string{"servemux", "chi", "gorillamux", "echo", "gin"} {
		t.Run(framework, func(t *testing.T) {
			app, err := newApp(framework, auth, idp.Server().Issuer()+"/userinfo")
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/private", nil)
			authtest.SignIn(t, auth, r, session.User{Subject: "ada", Name: "Ada"}, session.Tokens{})
			w := httptest.NewRecorder()
			app.ServeHTTP(w, r)
			if w.Code != http.StatusOK || w.Body.String() != "hello Ada (ada)\n" {
				t.Errorf("signed in: %d %q", w.Code, w.Body)
			}

			r = httptest.NewRequest("GET", "/private", nil)
			r.Header.Set("Accept", "text/html")
			w = httptest.NewRecorder()
			app.ServeHTTP(w, r)
			if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/auth/login?return_to=%2Fprivate" {
				t.Errorf("signed out: %d %q", w.Code, w.Header().Get("Location"))
			}
		})
	}
}
