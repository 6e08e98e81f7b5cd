// Command buttons shows the sign-in page with a button per provider:
// "Sign in with Google", "Sign in with GitHub" and one OpenID Connect
// provider of your own, configured only by environment variables. A
// provider is on the page when its client ID (OIDC: its issuer) is set;
// with one alone, /auth/login goes straight to it.
//
//	GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET, GOOGLE_HOSTED_DOMAIN (optional),
//	GOOGLE_ISSUER (optional)
//	                    as in examples/google; redirect URI BASE_URL/auth/callback/google
//	GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET, GITHUB_URL (optional), GITHUB_ORG (optional)
//	                    as in examples/github; callback URL BASE_URL/auth/callback/github
//	OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_SCOPES
//	                    as in examples/oidc; redirect URI BASE_URL/auth/callback/oidc
//	BASE_URL            the app's public origin; default http://127.0.0.1:8080
//	LISTEN_ADDR         default 127.0.0.1:8080
//	SESSION_KEYS        comma separated, base64, 32 random bytes each, newest
//	                    first (openssl rand -base64 32); default: a random key
//	                    per run, which signs everyone out on restart
//
// / is public; /private requires signing in.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"log"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/portcullis-go/portcullis/examples/internal/envkeys"
	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/providers"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	h, err := run(ctx, os.Getenv, logger, nil)
	cancel()
	if err != nil {
		log.Fatal(err)
	}
	logger.Info("listening", "url", cmp.Or(os.Getenv("BASE_URL"), "http://127.0.0.1:8080"))
	log.Fatal(http.ListenAndServe(cmp.Or(os.Getenv("LISTEN_ADDR"), "127.0.0.1:8080"), h))
}

// run reads the configuration with getenv and returns the application's
// handler. client makes the requests to the providers; nil means a
// default one.
func run(ctx context.Context, getenv func(string) string, logger *slog.Logger, client *http.Client) (http.Handler, error) {
	auth, err := newAuth(ctx, getenv, logger, client)
	if err != nil {
		return nil, err
	}
	return routes(auth), nil
}

// newAuth builds the middleware from the environment.
func newAuth(ctx context.Context, getenv func(string) string, logger *slog.Logger, client *http.Client) (*middleware.Auth, error) {
	baseURL := cmp.Or(getenv("BASE_URL"), "http://127.0.0.1:8080")
	keys, err := envkeys.SessionKeys(getenv("SESSION_KEYS"), logger)
	if err != nil {
		return nil, err
	}
	ps, err := configuredProviders(ctx, getenv, logger, client)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		logger.Info("provider", "name", p.Name(), "redirect_uri", baseURL+"/auth/callback/"+p.Name())
	}
	return middleware.New(middleware.Config{
		BaseURL:   baseURL,
		Providers: ps,
		Keys:      keys,
		Logger:    logger,
	})
}

// routes are the application's pages: / is public, /private requires
// signing in, /auth/login shows a button per provider.
func routes(auth *middleware.Auth) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		page.Execute(w, nil)
	})
	mux.Handle("GET /private", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := middleware.UserFrom(r.Context())
		page.Execute(w, u)
	})))
	return mux
}

// configuredProviders returns the providers whose variables are set, in
// the order Google, GitHub, OIDC. One that is down at startup is returned
// all the same: its sign-ins wait for it (logged), the others work.
func configuredProviders(ctx context.Context, getenv func(string) string, logger *slog.Logger, client *http.Client) ([]*providers.Provider, error) {
	var ps []*providers.Provider
	if id := getenv("GOOGLE_CLIENT_ID"); id != "" {
		if getenv("GOOGLE_CLIENT_SECRET") == "" {
			return nil, errors.New("GOOGLE_CLIENT_SECRET is required with GOOGLE_CLIENT_ID")
		}
		var domains []string
		if d := getenv("GOOGLE_HOSTED_DOMAIN"); d != "" {
			domains = []string{d}
		}
		issuer := cmp.Or(getenv("GOOGLE_ISSUER"), "https://accounts.google.com")
		google, err := providers.Google(ctx, providers.GoogleConfig{
			ClientID: id, ClientSecret: getenv("GOOGLE_CLIENT_SECRET"), HostedDomains: domains,
			Issuer: issuer, HTTPClient: client, Logger: logger,
		})
		if err != nil {
			return nil, fmt.Errorf("GOOGLE_ISSUER %s: %w", issuer, err)
		}
		ps = append(ps, google)
	}
	if id := getenv("GITHUB_CLIENT_ID"); id != "" {
		if getenv("GITHUB_CLIENT_SECRET") == "" {
			return nil, errors.New("GITHUB_CLIENT_SECRET is required with GITHUB_CLIENT_ID")
		}
		var orgs []string
		if org := getenv("GITHUB_ORG"); org != "" {
			orgs = []string{org}
		}
		github, err := providers.GitHub(providers.GitHubConfig{
			ClientID: id, ClientSecret: getenv("GITHUB_CLIENT_SECRET"), BaseURL: getenv("GITHUB_URL"), Orgs: orgs,
			HTTPClient: client,
		})
		if err != nil {
			return nil, err
		}
		ps = append(ps, github)
	}
	if issuer := getenv("OIDC_ISSUER"); issuer != "" {
		if getenv("OIDC_CLIENT_ID") == "" {
			return nil, errors.New("OIDC_CLIENT_ID is required with OIDC_ISSUER")
		}
		u, err := url.Parse(issuer)
		if err != nil {
			return nil, fmt.Errorf("OIDC_ISSUER: %v", err)
		}
		oidc, err := providers.OIDC(ctx, providers.OIDCConfig{
			Name:         "oidc",
			DisplayName:  u.Hostname(), // "Sign in with login.example.com"
			Issuer:       issuer,
			ClientID:     getenv("OIDC_CLIENT_ID"),
			ClientSecret: getenv("OIDC_CLIENT_SECRET"),
			Scopes:       strings.Fields(getenv("OIDC_SCOPES")),
			HTTPClient:   client,
			Logger:       logger,
		})
		if err != nil {
			return nil, fmt.Errorf("OIDC_ISSUER %s: %w", issuer, err)
		}
		ps = append(ps, oidc)
	}
	if len(ps) == 0 {
		return nil, errors.New("no provider: set GOOGLE_CLIENT_ID, GITHUB_CLIENT_ID or OIDC_ISSUER (see go doc ./examples/buttons)")
	}
	return ps, nil
}

var page = template.Must(template.New("page").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark">
<title>portcullis</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}</style></head><body><main>
{{if .}}<h1>Signed in</h1>
<dl><dt>Name</dt><dd>{{.Name}}</dd><dt>Email</dt><dd>{{.Email}}</dd>
{{if .Login}}<dt>Login</dt><dd>{{.Login}}</dd>{{else}}<dt>Subject</dt><dd>{{.Subject}}</dd>{{end}}
<dt>Provider</dt><dd>{{.Provider}}</dd></dl>
<form method="post" action="/auth/logout"><button type="submit">Sign out</button></form>
{{else}}<h1>Public page</h1><p><a href="/private">Go to the private page</a> (requires signing in).</p>{{end}}
</main></body></html>`))
