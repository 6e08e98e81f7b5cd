// Command google puts a page behind "Sign in with Google", configured only
// by environment variables:
//
//	GOOGLE_CLIENT_ID      OAuth client ID, type "Web application" (required)
//	GOOGLE_CLIENT_SECRET  its secret (required)
//	GOOGLE_HOSTED_DOMAIN  optional: only accounts of this Google Workspace
//	                      domain may sign in (checked by the "hd" claim)
//	BASE_URL              the app's public origin; default http://127.0.0.1:8080
//	LISTEN_ADDR           default 127.0.0.1:8080
//	SESSION_KEYS          comma separated, base64, 32 random bytes each, newest
//	                      first (openssl rand -base64 32); default: a random key
//	                      per run, which signs everyone out on restart
//	GOOGLE_ISSUER         where OpenID discovery starts; default
//	                      https://accounts.google.com (set it only to test
//	                      against a local stand-in)
//
// Register BASE_URL/auth/callback/google as an authorized redirect URI of
// the client in the Google Cloud console. / is public; /private requires
// signing in.
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
	baseURL := cmp.Or(os.Getenv("BASE_URL"), "http://127.0.0.1:8080")
	logger.Info("listening", "url", baseURL, "redirect_uri", baseURL+"/auth/callback/google")
	log.Fatal(http.ListenAndServe(cmp.Or(os.Getenv("LISTEN_ADDR"), "127.0.0.1:8080"), h))
}

// run reads the configuration with getenv and returns the application's
// handler. client makes the requests to Google; nil means a default one.
func run(ctx context.Context, getenv func(string) string, logger *slog.Logger, client *http.Client) (http.Handler, error) {
	auth, err := newAuth(ctx, getenv, logger, client)
	if err != nil {
		return nil, err
	}
	return routes(auth), nil
}

// newAuth builds the middleware from the environment.
func newAuth(ctx context.Context, getenv func(string) string, logger *slog.Logger, client *http.Client) (*middleware.Auth, error) {
	for _, name := range []string{"GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET"} {
		if getenv(name) == "" {
			return nil, fmt.Errorf("%s is required (see go doc ./examples/google)", name)
		}
	}
	keys, err := envkeys.SessionKeys(getenv("SESSION_KEYS"), logger)
	if err != nil {
		return nil, err
	}
	var domains []string
	if d := getenv("GOOGLE_HOSTED_DOMAIN"); d != "" {
		domains = []string{d}
	}
	issuer := cmp.Or(getenv("GOOGLE_ISSUER"), "https://accounts.google.com")
	google, err := providers.Google(ctx, providers.GoogleConfig{
		ClientID:      getenv("GOOGLE_CLIENT_ID"),
		ClientSecret:  getenv("GOOGLE_CLIENT_SECRET"),
		HostedDomains: domains,
		Issuer:        issuer,
		HTTPClient:    client,
		Logger:        logger,
	})
	if err != nil {
		return nil, fmt.Errorf("GOOGLE_ISSUER %s: %w", issuer, err)
	}
	return middleware.New(middleware.Config{
		BaseURL:   cmp.Or(getenv("BASE_URL"), "http://127.0.0.1:8080"),
		Providers: []*providers.Provider{google},
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
<dt>Subject</dt><dd>{{.Subject}}</dd><dt>Provider</dt><dd>{{.Provider}}</dd></dl>
<form method="post" action="/auth/logout"><button type="submit">Sign out</button></form>
{{else}}<h1>Public page</h1><p><a href="/private">Go to the private page</a> (requires signing in with Google).</p>{{end}}
</main></body></html>`))
