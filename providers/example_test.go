package providers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"

	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/providers/devoidc"
	"github.com/portcullis-go/portcullis/session"
	"golang.org/x/oauth2"
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
	authURL, err := corp.AuthCodeURL(context.Background(), providers.Flow{
		RedirectURL: "https://app.example.com/auth/callback/corp",
		State:       "state-from-crypto-rand",
		Nonce:       "nonce-from-crypto-rand",
		Verifier:    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
	})
	if err != nil {
		log.Fatal(err) // the provider is down (ErrUnavailable): try again later
	}
	u, _ := url.Parse(authURL)
	q := u.Query()
	fmt.Println(corp.Name(), corp.DisplayName())
	fmt.Println(q.Get("response_type"), q.Get("scope"))
	fmt.Println(q.Get("code_challenge_method"), q.Get("code_challenge"))
	// Output:
	// corp Example Corp
	// code openid email profile
	// S256 E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM
}

func ExampleGoogle() {
	// A development provider stands in for accounts.google.com here; in
	// production leave Issuer unset.
	opServer := httptest.NewServer(nil)
	defer opServer.Close()
	op, err := devoidc.New(devoidc.Config{Issuer: opServer.URL, Clients: []devoidc.Client{{
		ID: "1234567890-abc.apps.googleusercontent.com", Secret: "GOCSPX-secret",
		RedirectURIs: []string{"https://app.example.com/auth/callback/google"},
	}}})
	if err != nil {
		log.Fatal(err)
	}
	opServer.Config.Handler = op

	google, err := providers.Google(context.Background(), providers.GoogleConfig{
		ClientID:      "1234567890-abc.apps.googleusercontent.com",
		ClientSecret:  "GOCSPX-secret",
		HostedDomains: []string{"example.com"}, // Workspace accounts of example.com only
		Offline:       true,                    // a refresh token, for long sessions
		Issuer:        opServer.URL,
	})
	if err != nil {
		log.Fatal(err)
	}
	authURL, err := google.AuthCodeURL(context.Background(), providers.Flow{
		RedirectURL: "https://app.example.com/auth/callback/google",
		State:       "state-from-crypto-rand",
		Nonce:       "nonce-from-crypto-rand",
		Verifier:    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
	})
	if err != nil {
		log.Fatal(err) // the provider is down (ErrUnavailable): try again later
	}
	u, _ := url.Parse(authURL)
	q := u.Query()
	fmt.Println(google.Name(), google.DisplayName(), google.Brand())
	fmt.Println(q.Get("scope"), q.Get("access_type"), q.Get("hd"), q.Get("code_challenge_method"))
	// Output:
	// google Google google
	// openid email profile offline example.com S256
}

func ExampleGitHub() {
	github, err := providers.GitHub(providers.GitHubConfig{
		ClientID:     "Iv1.0123456789abcdef",
		ClientSecret: "secret",
		BaseURL:      "https://github.example.com", // GitHub Enterprise Server; omit for github.com
		Orgs:         []string{"acme"},             // members of acme only
	})
	if err != nil {
		log.Fatal(err)
	}
	authURL, err := github.AuthCodeURL(context.Background(), providers.Flow{
		RedirectURL: "https://app.example.com/auth/callback/github",
		State:       "state-from-crypto-rand",
		Verifier:    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
	})
	if err != nil {
		log.Fatal(err) // never: GitHub's endpoints are configured
	}
	u, _ := url.Parse(authURL)
	q := u.Query()
	fmt.Println(github.Name(), github.DisplayName(), github.Brand(), github.Issuer() == "")
	fmt.Println(u.Host + u.Path)
	fmt.Println(q.Get("scope"), q.Get("code_challenge_method"), q.Has("nonce"))
	// Output:
	// github GitHub github true
	// github.example.com/login/oauth/authorize
	// read:user user:email read:org S256 false
}

func ExampleOAuth2() {
	// Any OAuth 2.0 provider: its endpoints and a function that reads the
	// user from its API with the login's token. Here, GitLab.
	gitlab, err := providers.OAuth2(providers.OAuth2Config{
		Name:         "gitlab",
		DisplayName:  "GitLab",
		ClientID:     "application-id",
		ClientSecret: "secret",
		Endpoint: oauth2.Endpoint{
			AuthURL:  "https://gitlab.com/oauth/authorize",
			TokenURL: "https://gitlab.com/oauth/token",
		},
		Scopes: []string{"read_user"},
		Identify: func(ctx context.Context, c *http.Client, _ *oauth2.Token) (session.User, error) {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://gitlab.com/api/v4/user", nil)
			resp, err := c.Do(req) // c sends the access token
			if err != nil {
				return session.User{}, err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return session.User{}, fmt.Errorf("GET /user: HTTP %d", resp.StatusCode)
			}
			var me struct {
				ID       int64  `json:"id"`
				Username string `json:"username"`
				Name     string `json:"name"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&me); err != nil {
				return session.User{}, err
			}
			// The numeric id is stable; the username can change.
			return session.User{Subject: strconv.FormatInt(me.ID, 10), Login: me.Username, Name: me.Name}, nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	authURL, err := gitlab.AuthCodeURL(context.Background(), providers.Flow{
		RedirectURL: "https://app.example.com/auth/callback/gitlab",
		State:       "state-from-crypto-rand",
		Verifier:    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
	})
	if err != nil {
		log.Fatal(err) // never: the endpoints are configured
	}
	u, _ := url.Parse(authURL)
	fmt.Println(gitlab.Name(), gitlab.DisplayName(), gitlab.Brand() == "")
	fmt.Println(u.Query().Get("scope"), u.Query().Get("code_challenge"))
	// Output:
	// gitlab GitLab true
	// read_user E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM
}
