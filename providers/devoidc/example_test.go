package devoidc_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/portcullis-go/portcullis/providers/devoidc"
)

// New returns a provider for a fixed issuer; the discovery document lists
// its endpoints under the issuer's path.
func ExampleNew() {
	op, err := devoidc.New(devoidc.Config{
		Issuer: "http://127.0.0.1:9000/op",
		Clients: []devoidc.Client{{
			ID:           "app",
			Secret:       "s3cret",
			RedirectURIs: []string{"http://127.0.0.1:8080/auth/callback"},
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	// In a program: http.ListenAndServe("127.0.0.1:9000", op)
	rec := httptest.NewRecorder()
	op.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9000/op/.well-known/openid-configuration", nil))
	var doc struct {
		Issuer                string `json:"issuer"`
		AuthorizationEndpoint string `json:"authorization_endpoint"`
	}
	if err := json.NewDecoder(rec.Body).Decode(&doc); err != nil {
		log.Fatal(err)
	}
	fmt.Println(doc.Issuer)
	fmt.Println(doc.AuthorizationEndpoint)
	// Output:
	// http://127.0.0.1:9000/op
	// http://127.0.0.1:9000/op/authorize
}

// A test signs in without a browser: with AutoLogin, the authorization
// endpoint redirects straight back with a code, which x/oauth2 exchanges and
// go-oidc verifies.
func ExampleConfig() {
	ts := httptest.NewUnstartedServer(nil)
	const callback = "http://127.0.0.1:8080/auth/callback"
	op, err := devoidc.New(devoidc.Config{
		Issuer:    "http://" + ts.Listener.Addr().String(),
		Clients:   []devoidc.Client{{ID: "app", Secret: "s3cret", RedirectURIs: []string{callback}}},
		AutoLogin: "ada", // one of the default users
	})
	if err != nil {
		log.Fatal(err)
	}
	ts.Config.Handler = op
	ts.Start()
	defer ts.Close()

	ctx := oidc.ClientContext(context.Background(), ts.Client())
	provider, err := oidc.NewProvider(ctx, op.Issuer())
	if err != nil {
		log.Fatal(err)
	}
	conf := oauth2.Config{
		ClientID:     "app",
		ClientSecret: "s3cret",
		RedirectURL:  callback,
		Endpoint:     provider.Endpoint(),
		Scopes:       []string{oidc.ScopeOpenID, "email"},
	}

	// The "browser" stops at the redirect to the application.
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	verifier := oauth2.GenerateVerifier()
	resp, err := browser.Get(conf.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	callbackURL, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		log.Fatal(err)
	}

	tok, err := conf.Exchange(ctx, callbackURL.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		log.Fatal(err)
	}
	rawIDToken, _ := tok.Extra("id_token").(string)
	idToken, err := provider.Verifier(&oidc.Config{ClientID: "app"}).Verify(ctx, rawIDToken)
	if err != nil {
		log.Fatal(err)
	}
	var claims struct {
		Email string `json:"email"`
	}
	if err := idToken.Claims(&claims); err != nil {
		log.Fatal(err)
	}
	fmt.Println(callbackURL.Query().Get("state"), idToken.Subject, claims.Email)
	fmt.Println("code exchanges:", op.Stats().CodeExchanges)
	// Output:
	// state-1 ada ada@example.com
	// code exchanges: 1
}
