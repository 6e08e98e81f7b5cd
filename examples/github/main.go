// Command github puts a page behind "Sign in with GitHub", configured only
// by environment variables:
//
//	GITHUB_CLIENT_ID      OAuth app (or GitHub App) client ID (required)
//	GITHUB_CLIENT_SECRET  its client secret (required)
//	GITHUB_URL            optional GitHub Enterprise Server base URL, such as
//	                      https://github.example.com; default https://github.com
//	GITHUB_ORG            optional: only members of this organisation may sign in
//	BASE_URL              the app's public origin; default http://127.0.0.1:8080
//	LISTEN_ADDR           default 127.0.0.1:8080
//	SESSION_KEYS          comma separated, base64, 32 random bytes each, newest
//	                      first (openssl rand -base64 32); default: a random key
//	                      per run, which signs everyone out on restart
//
// Register BASE_URL/auth/callback/github as the app's callback URL in
// GitHub's developer settings. / is public; /private requires signing in.
package main

import (
	"cmp"
	"context"
	"fmt"
	"html/template"
	"log"
	"log/slog"
	"net/http"
	"os"

	"github.com/portcullis-go/portcullis/examples/internal/envkeys"
	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/providers"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	h, err := run(context.Background(), os.Getenv, logger, nil)
	if err != nil {
		log.Fatal(err)
	}
	baseURL := cmp.Or(os.Getenv("BASE_URL"), "http://127.0.0.1:8080")
	logger.Info("listening", "url", baseURL, "redirect_uri", baseURL+"/auth/callback/github")
	log.Fatal(http.ListenAndServe(cmp.Or(os.Getenv("LISTEN_ADDR"), "127.0.0.1:8080"), h))
}

// run reads the configuration with getenv and returns the application's
// handler. client makes the requests to GitHub; nil means a default one.
// Nothing is asked of GitHub before the first sign-in.
func run(ctx context.Context, getenv func(string) string, logger *slog.Logger, client *http.Client) (http.Handler, error) {
	auth, err := newAuth(ctx, getenv, logger, client)
	if err != nil {
		return nil, err
	}
	return routes(auth), nil
}

// newAuth builds the middleware from the environment.
func newAuth(_ context.Context, getenv func(string) string, logger *slog.Logger, client *http.Client) (*middleware.Auth, error) {
	for _, name := range []string{"GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET"} {
		if getenv(name) == "" {
			return nil, fmt.Errorf("%s is required (see go doc ./examples/github)", name)
		}
	}
	keys, err := envkeys.SessionKeys(getenv("SESSION_KEYS"), logger)
	if err != nil {
		return nil, err
	}
	var orgs []string
	if org := getenv("GITHUB_ORG"); org != "" {
		orgs = []string{org}
	}
	github, err := providers.GitHub(providers.GitHubConfig{
		ClientID:     getenv("GITHUB_CLIENT_ID"),
		ClientSecret: getenv("GITHUB_CLIENT_SECRET"),
		BaseURL:      getenv("GITHUB_URL"),
		Orgs:         orgs,
		HTTPClient:   client,
	})
	if err != nil {
		return nil, err
	}
	return middleware.New(middleware.Config{
		BaseURL:   cmp.Or(getenv("BASE_URL"), "http://127.0.0.1:8080"),
		Providers: []*providers.Provider{github},
		Keys:      keys,
		Logger:    logger,
	})
}

// routes are the application's pages: / is public, /private requires
// signing in.
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

var page = template.Must(template.New("page").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark">
<title>portcullis</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}</style></head><body><main>
{{if .}}<h1>Signed in</h1>
<dl><dt>Name</dt><dd>{{.Name}}</dd><dt>Email</dt><dd>{{.Email}}</dd>
<dt>Login</dt><dd>{{.Login}}</dd><dt>Account id</dt><dd>{{.Subject}}</dd>
<dt>Provider</dt><dd>{{.Provider}}</dd>{{with .Groups}}<dt>Organisations</dt><dd>{{range .}}{{.}} {{end}}</dd>{{end}}</dl>
<form method="post" action="/auth/logout"><button type="submit">Sign out</button></form>
{{else}}<h1>Public page</h1><p><a href="/private">Go to the private page</a> (requires signing in with GitHub).</p>{{end}}
</main></body></html>`))
