// Command demo is portcullis with nothing to configure: it starts a
// development OpenID provider (devoidc) and an application in one process,
// both on 127.0.0.1, and prints the application's URL.
//
//	go run ./examples/demo
//
// SESSION_KEYS (comma separated, base64, newest first: `openssl rand
// -base64 32`) keeps sessions across restarts; without it the demo makes a
// new key each run and says so.
//
// The home page is public; /private requires signing in, which goes
// through the development provider's sign-in page (pick a test user) and
// comes back with the user and the expiry of their access token. "Sign
// out" also ends the session at the provider (RP-initiated logout), and
// the provider tells the app when its session ends (back-channel logout);
// "Sign out everywhere" ends the user's sessions on every device.
//
// /api/whoami answers JSON to a signed-in browser, and to a script with an
// access token, which the development provider issues to the demo's
// client (client_credentials) as a JWT for the audience "demo-api":
//
//	TOKEN=$(curl -s -u demo:demo-secret -d grant_type=client_credentials \
//	  http://127.0.0.1:9090/token | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
//	curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/api/whoami
//
// The provider is for development only; see examples/oidc for a real one.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/portcullis-go/portcullis/examples/internal/envkeys"
	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/providers/devoidc"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	// Listen first, so that the URLs are known before anything is
	// configured. The ports fall back to random ones when taken.
	appLn := listen("127.0.0.1:8080")
	opLn := listen("127.0.0.1:9090")
	// SESSION_KEYS is optional: without it, a fresh key per run, and
	// restarting the demo signs everyone out.
	keys, err := envkeys.SessionKeys(os.Getenv("SESSION_KEYS"), logger)
	if err != nil {
		log.Fatal(err)
	}
	app, err := demo("http://"+appLn.Addr().String(), opLn, keys, logger)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("\n  portcullis demo: open http://%s\n  (development provider at http://%s)\n", appLn.Addr(), opLn.Addr())
	fmt.Printf("  API: curl -H \"Authorization: Bearer $TOKEN\" http://%s/api/whoami\n", appLn.Addr())
	fmt.Printf("       with TOKEN from: curl -u demo:demo-secret -d grant_type=client_credentials http://%s/token\n\n", opLn.Addr())
	log.Fatal(http.Serve(appLn, app))
}

// demo starts the development provider on opLn and returns the handler of
// an application at appURL that signs in with it, its cookies sealed with
// keys.
func demo(appURL string, opLn net.Listener, keys [][]byte, logger *slog.Logger) (http.Handler, error) {
	opURL := "http://" + opLn.Addr().String()
	op, err := devoidc.New(devoidc.Config{
		Issuer: opURL,
		Clients: []devoidc.Client{{
			ID:                     "demo",
			Secret:                 "demo-secret",
			RedirectURIs:           []string{appURL + "/auth/callback/devoidc"},
			PostLogoutRedirectURIs: []string{appURL + "/auth/logout/callback"},
			// Signing out at the provider signs out of the app too.
			BackchannelLogoutURI: appURL + "/auth/backchannel-logout/devoidc",
		}},
		// Access tokens are JWTs for the demo's API.
		AccessTokenAudience: apiAudience,
		Logger:              logger,
	})
	if err != nil {
		return nil, err
	}
	go http.Serve(opLn, op)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	provider, err := providers.OIDC(ctx, providers.OIDCConfig{
		Name:         "devoidc",
		DisplayName:  "Development provider",
		Issuer:       opURL,
		ClientID:     "demo",
		ClientSecret: "demo-secret",
		Logger:       logger,
	})
	if err != nil {
		return nil, err
	}
	return newApp(appURL, provider, keys, logger)
}

// newApp returns the handler of the application at appURL signing in
// with provider (named "devoidc"), its cookies sealed with keys.
func newApp(appURL string, provider *providers.Provider, keys [][]byte, logger *slog.Logger) (http.Handler, error) {
	auth, err := middleware.New(middleware.Config{
		BaseURL:   appURL,
		Providers: []*providers.Provider{provider},
		Keys:      keys,
		Logger:    logger,
		// Scripts may call the API routes with an access token.
		BearerTokens: &middleware.BearerTokens{Provider: "devoidc", Audience: apiAudience},
	})
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		render(w, homePage, nil)
	})
	mux.Handle("GET /private", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFrom(r.Context())
		render(w, privatePage, s)
	})))

	// The API: a browser's session or a script's access token.
	mux.Handle("GET /api/whoami", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := middleware.UserFrom(r.Context())
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"sub": u.Subject, "email": u.Email, "groups": u.Groups})
	})))

	// "Sign out everywhere": every session of this user, on every device,
	// ends at its next request. The form is same-origin only.
	everywhere := auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := middleware.UserFrom(r.Context())
		if err := auth.EndSessions(r.Context(), u.Provider, u.Subject); err != nil {
			http.Error(w, "could not sign out everywhere", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}))
	mux.Handle("POST /signout-everywhere", http.NewCrossOriginProtection().Handler(everywhere))
	return mux, nil
}

// apiAudience identifies the demo's API at the development provider.
const apiAudience = "demo-api"

// listen listens on addr, or on a random loopback port when addr is taken.
func listen(addr string) net.Listener {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		log.Fatal(err)
	}
	return ln
}

func render(w http.ResponseWriter, t *template.Template, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := t.Execute(w, data); err != nil {
		log.Print(err)
	}
}

const style = `<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}
a.button,button{display:inline-block;padding:.6rem 1.1rem;border-radius:8px;border:1px solid #1f5fbf;background:#1f5fbf;color:#fff;font:inherit;font-weight:600;text-decoration:none;cursor:pointer}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}dt{font-weight:600}</style>`

var homePage = template.Must(template.New("home").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>portcullis demo</title>` + style + `</head>
<body><main><h1>portcullis demo</h1>
<p>This page is public. The private page needs you to sign in with the development provider, which runs in this same process.</p>
<p><a class="button" href="/private">Sign in</a></p></main></body></html>`))

var privatePage = template.Must(template.New("private").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Private — portcullis demo</title>` + style + `</head>
<body><main><h1>Hello, {{.User.Name}}</h1>
<p>You are signed in. This page is behind <code>auth.Require</code>.</p>
<dl>
<dt>Name</dt><dd>{{.User.Name}}</dd>
<dt>Email</dt><dd>{{.User.Email}}</dd>
<dt>Subject</dt><dd>{{.User.Subject}}</dd>
<dt>Provider</dt><dd>{{.User.Provider}}</dd>
<dt>Access token expires</dt><dd>{{.Tokens.Expiry.Format "15:04:05 MST"}}</dd>
<dt>Session ends</dt><dd>{{.Expires.Format "Jan 2 15:04 MST"}}</dd>
</dl>
<form method="post" action="/auth/logout"><button type="submit">Sign out</button></form>
<form method="post" action="/signout-everywhere"><p><button type="submit">Sign out everywhere</button></p></form>
</main></body></html>`))
