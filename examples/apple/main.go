// Command apple puts a page behind "Sign in with Apple", configured only
// by environment variables:
//
//	APPLE_TEAM_ID      your 10-character Team ID (required)
//	APPLE_CLIENT_ID    the Services ID, such as com.example.web (required)
//	APPLE_KEY_ID       the 10-character Key ID of the Sign in with Apple key
//	                   (required)
//	APPLE_PRIVATE_KEY  path to that key's .p8 file (PEM, PKCS #8) (required)
//	APPLE_AUTHORITY    where OpenID discovery starts; default
//	                   https://appleid.apple.com (set it only to test against
//	                   a local stand-in)
//	BASE_URL           the app's public origin; default http://127.0.0.1:8080
//	                   (Apple accepts only https Return URLs with a domain
//	                   name, so a real sign-in needs BASE_URL https)
//	LISTEN_ADDR        default 127.0.0.1:8080
//	SESSION_KEYS       comma separated, base64, 32 random bytes each, newest
//	                   first (openssl rand -base64 32); default: a random key
//	                   per run, which signs everyone out on restart
//
// Register BASE_URL/auth/callback/apple as a Return URL of the Services ID
// (docs/providers/apple.md). The provider is named "apple" and asks for the
// scopes "name email". / is public; /private requires signing in and shows
// the user's name (Apple sends it on the first sign-in only), verified
// email and subject.
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
	logger.Info("listening", "url", baseURL, "return_url", baseURL+"/auth/callback/apple")
	log.Fatal(http.ListenAndServe(cmp.Or(os.Getenv("LISTEN_ADDR"), "127.0.0.1:8080"), h))
}

// run reads the configuration with getenv and returns the application's
// handler. client makes the requests to Apple; nil means a default one.
func run(ctx context.Context, getenv func(string) string, logger *slog.Logger, client *http.Client) (http.Handler, error) {
	auth, err := newAuth(ctx, getenv, logger, client)
	if err != nil {
		return nil, err
	}
	return routes(auth), nil
}

// newAuth builds the middleware from the environment.
func newAuth(ctx context.Context, getenv func(string) string, logger *slog.Logger, client *http.Client) (*middleware.Auth, error) {
	for _, name := range []string{"APPLE_TEAM_ID", "APPLE_CLIENT_ID", "APPLE_KEY_ID", "APPLE_PRIVATE_KEY"} {
		if getenv(name) == "" {
			return nil, fmt.Errorf("%s is required (see go doc ./examples/apple)", name)
		}
	}
	key, err := os.ReadFile(getenv("APPLE_PRIVATE_KEY"))
	if err != nil {
		return nil, fmt.Errorf("APPLE_PRIVATE_KEY: %w", err)
	}
	keys, err := envkeys.SessionKeys(getenv("SESSION_KEYS"), logger)
	if err != nil {
		return nil, err
	}
	authority := cmp.Or(getenv("APPLE_AUTHORITY"), "https://appleid.apple.com")
	apple, err := providers.Apple(ctx, providers.AppleConfig{
		TeamID:     getenv("APPLE_TEAM_ID"),
		ClientID:   getenv("APPLE_CLIENT_ID"),
		KeyID:      getenv("APPLE_KEY_ID"),
		PrivateKey: key,
		Authority:  authority,
		Scopes:     []string{"name", "email"},
		HTTPClient: client,
		Logger:     logger,
	})
	if err != nil {
		return nil, fmt.Errorf("APPLE_AUTHORITY %s: %w", authority, err)
	}
	return middleware.New(middleware.Config{
		BaseURL:   cmp.Or(getenv("BASE_URL"), "http://127.0.0.1:8080"),
		Providers: []*providers.Provider{apple},
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
<dl><dt>Name</dt><dd>{{with .Name}}{{.}}{{else}}(not sent: Apple sends the name on the first sign-in only){{end}}</dd>
<dt>Email</dt><dd>{{with .Email}}{{.}}{{else}}(no verified email){{end}}</dd>
<dt>Subject</dt><dd>{{.Subject}}</dd></dl>
<form method="post" action="/auth/logout"><button type="submit">Sign out</button></form>
{{else}}<h1>Public page</h1><p><a href="/private">Go to the private page</a> (requires signing in with Apple).</p>{{end}}
</main></body></html>`))
