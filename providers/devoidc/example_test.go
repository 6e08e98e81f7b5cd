package devoidc_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

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

// With AccessTokenAudience set, access tokens are JWTs for that API (RFC
// 9068). A service gets one with the client_credentials grant, as a script
// would with
//
//	curl -u app:s3cret -d grant_type=client_credentials -d scope=read http://127.0.0.1:PORT/token
//
// and the API verifies it against the JWKS, or asks the introspection
// endpoint about it (RFC 7662).
func ExampleConfig_accessTokenAudience() {
	ts := httptest.NewUnstartedServer(nil)
	op, err := devoidc.New(devoidc.Config{
		Issuer:              "http://" + ts.Listener.Addr().String(),
		Clients:             []devoidc.Client{{ID: "app", Secret: "s3cret", RedirectURIs: []string{"http://127.0.0.1:8080/auth/callback"}}},
		AccessTokenAudience: "https://api.example.com",
	})
	if err != nil {
		log.Fatal(err)
	}
	ts.Config.Handler = op
	ts.Start()
	defer ts.Close()

	cc := clientcredentials.Config{ClientID: "app", ClientSecret: "s3cret", TokenURL: op.Issuer() + "/token", Scopes: []string{"read"}}
	tok, err := cc.Token(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("JWT:", strings.Count(tok.AccessToken, ".") == 2, "refresh token:", tok.RefreshToken != "")

	req, err := http.NewRequest(http.MethodPost, op.Issuer()+"/introspect", strings.NewReader(url.Values{"token": {tok.AccessToken}}.Encode()))
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("app", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var info struct {
		Active bool   `json:"active"`
		Sub    string `json:"sub"`
		Aud    string `json:"aud"`
		Scope  string `json:"scope"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Active, info.Sub, info.Aud, info.Scope)
	// Output:
	// JWT: true refresh token: false
	// true app https://api.example.com read
}
