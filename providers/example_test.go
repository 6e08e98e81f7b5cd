package providers_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"net/url"

	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/providers/devoidc"
)

func ExampleOIDC() {
	// A development provider stands in for a real one here.
	opServer := httptest.NewServer(nil)
	defer opServer.Close()
	op, err := devoidc.New(devoidc.Config{
		Issuer: opServer.URL,
		Clients: []devoidc.Client{{
			ID: "app", Secret: "app-secret",
			RedirectURIs: []string{"https://app.example.com/auth/callback/corp"},
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	opServer.Config.Handler = op

	corp, err := providers.OIDC(context.Background(), providers.OIDCConfig{
		Name:         "corp",
		DisplayName:  "Example Corp",
		Issuer:       opServer.URL,
		ClientID:     "app",
		ClientSecret: "app-secret",
	})
	if err != nil {
		log.Fatal(err)
	}
	u, _ := url.Parse(corp.AuthCodeURL(providers.Flow{
		RedirectURL: "https://app.example.com/auth/callback/corp",
		State:       "state-from-crypto-rand",
		Nonce:       "nonce-from-crypto-rand",
		Verifier:    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
	}))
	q := u.Query()
	fmt.Println(corp.Name(), corp.DisplayName())
	fmt.Println(q.Get("response_type"), q.Get("scope"))
	fmt.Println(q.Get("code_challenge_method"), q.Get("code_challenge"))
	// Output:
	// corp Example Corp
	// code openid email profile
	// S256 E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM
}
