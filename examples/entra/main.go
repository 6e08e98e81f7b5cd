// Command entra puts a page behind "Sign in with Microsoft" (Microsoft
// Entra ID), configured only by environment variables:
//
//	ENTRA_TENANT          who may sign in: "organizations" (work and school
//	                      accounts), "common" (those and personal Microsoft
//	                      accounts), "consumers" (personal accounts only),
//	                      or one tenant's id (required)
//	ENTRA_CLIENT_ID       the app registration's Application (client) ID
//	                      (required)
//	ENTRA_CLIENT_SECRET   one of its client secrets (required)
//	ENTRA_ALLOWED_TENANTS comma separated tenant ids whose users may sign in;
//	                      required with common and organizations
//	ENTRA_AUTHORITY       default https://login.microsoftonline.com (set it
//	                      for a national cloud, or to test against a local
//	                      stand-in)
//	BASE_URL              the app's public origin; default http://127.0.0.1:8080
//	LISTEN_ADDR           default 127.0.0.1:8080
//	SESSION_KEYS          comma separated, base64, 32 random bytes each, newest
//	                      first (openssl rand -base64 32); default: a random key
//	                      per run, which signs everyone out on restart
//
// Register BASE_URL/auth/callback/entra as a Web redirect URI of the app
// registration (see docs/providers/entra.md). / is public; /private
// requires signing in and shows the user's name, verified email, subject,
// tenant id and roles and groups.
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
	"strings"
	"time"

	"github.com/portcullis-go/portcullis/examples/internal/envkeys"
	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/session"
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
	logger.Info("listening", "url", baseURL, "redirect_uri", baseURL+"/auth/callback/entra")
	log.Fatal(http.ListenAndServe(cmp.Or(os.Getenv("LISTEN_ADDR"), "127.0.0.1:8080"), h))
}

// run reads the configuration with getenv and returns the application's
// handler. client makes the requests to Entra; nil means a default one.
func run(ctx context.Context, getenv func(string) string, logger *slog.Logger, client *http.Client) (http.Handler, error) {
	auth, err := newAuth(ctx, getenv, logger, client)
	if err != nil {
		return nil, err
	}
	return routes(auth), nil
}

// newAuth builds the middleware from the environment.
func newAuth(ctx context.Context, getenv func(string) string, logger *slog.Logger, client *http.Client) (*middleware.Auth, error) {
	for _, name := range []string{"ENTRA_TENANT", "ENTRA_CLIENT_ID", "ENTRA_CLIENT_SECRET"} {
		if getenv(name) == "" {
			return nil, fmt.Errorf("%s is required (see go doc ./examples/entra)", name)
		}
	}
	keys, err := envkeys.SessionKeys(getenv("SESSION_KEYS"), logger)
	if err != nil {
		return nil, err
	}
	var allowed []string
	for t := range strings.SplitSeq(getenv("ENTRA_ALLOWED_TENANTS"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			allowed = append(allowed, t)
		}
	}
	entra, err := providers.Entra(ctx, providers.EntraConfig{
		Name:           "entra",
		Tenant:         getenv("ENTRA_TENANT"),
		ClientID:       getenv("ENTRA_CLIENT_ID"),
		ClientSecret:   getenv("ENTRA_CLIENT_SECRET"),
		AllowedTenants: allowed,
		Authority:      getenv("ENTRA_AUTHORITY"),
		HTTPClient:     client,
		Logger:         logger,
	})
	if err != nil {
		return nil, fmt.Errorf("ENTRA_TENANT, ENTRA_ALLOWED_TENANTS or ENTRA_AUTHORITY: %w", err)
	}
	return middleware.New(middleware.Config{
		BaseURL:   cmp.Or(getenv("BASE_URL"), "http://127.0.0.1:8080"),
		Providers: []*providers.Provider{entra},
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
		page.Execute(w, newView(u))
	})))
	return mux
}

// view is what /private shows of the user.
type view struct {
	Name, Email, Subject, Tenant string
	Groups                       []string
	GroupsIncomplete             bool
}

func newView(u *session.User) *view {
	v := &view{Name: u.Name, Email: u.Email, Subject: u.Subject, Groups: u.Groups, GroupsIncomplete: u.GroupsIncomplete}
	if v.Email == "" {
		v.Email = "(no verified email)"
	}
	// providers.Entra keeps the user's tenant id as the claim "tid".
	if ok, err := u.Claim("tid", &v.Tenant); !ok || err != nil {
		v.Tenant = "(unknown)"
	}
	return v
}

var page = template.Must(template.New("page").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark">
<title>portcullis</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}</style></head><body><main>
{{if .}}<h1>Signed in</h1>
<dl><dt>Name</dt><dd>{{.Name}}</dd><dt>Email</dt><dd>{{.Email}}</dd>
<dt>Subject</dt><dd>{{.Subject}}</dd><dt>Tenant id</dt><dd>{{.Tenant}}</dd>
<dt>Roles and groups</dt>{{range .Groups}}<dd>{{.}}</dd>{{else}}<dd>(none)</dd>{{end}}
{{if .GroupsIncomplete}}<dd>(more groups than the token lists: ask Microsoft Graph)</dd>{{end}}</dl>
<form method="post" action="/auth/logout"><button type="submit">Sign out</button></form>
{{else}}<h1>Public page</h1><p><a href="/private">Go to the private page</a> (requires signing in with Microsoft).</p>{{end}}
</main></body></html>`))
