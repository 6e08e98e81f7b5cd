// Command oidc puts a page behind a login with any OpenID Connect provider,
// configured only by environment variables:
//
//	OIDC_ISSUER         the issuer URL, e.g. https://accounts.google.com (required)
//	OIDC_CLIENT_ID      the client ID registered at the provider (required)
//	OIDC_CLIENT_SECRET  its secret
//	OIDC_SCOPES         space separated; default "openid email profile"
//	OIDC_AUTH_PARAMS    extra authorization request parameters, in query
//	                    form: audience=https://api.example.com&prompt=login
//	                    (Auth0's API audience, RFC 8707's resource,
//	                    login_hint, ...); default none
//	OIDC_CLIENT_AUTH    client_secret_basic, client_secret_post or
//	                    private_key_jwt; default: chosen from the provider's
//	                    discovery document (private_key_jwt with
//	                    OIDC_CLIENT_KEY)
//	OIDC_CLIENT_KEY     path to a PEM private key (PKCS #8, or SEC 1 / PKCS
//	                    #1) for private_key_jwt, in place of
//	                    OIDC_CLIENT_SECRET: RSA of 2048 bits or more, ECDSA
//	                    P-256/P-384/P-521, or Ed25519. Its public JWK, with
//	                    its kid, is logged at start-up: register it at the
//	                    provider. Make one with
//	                    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256
//	BASE_URL            the app's public origin; default http://127.0.0.1:8080
//	LISTEN_ADDR         default 127.0.0.1:8080
//	SESSION_KEYS        comma separated, base64, 32 random bytes each, newest
//	                    first (openssl rand -base64 32), as session.ParseKeys
//	                    reads them; default: a random key per run, which
//	                    signs everyone out on restart (required with REDIS_URL)
//	REDIS_URL           e.g. redis://127.0.0.1:6379/0: sessions and everything
//	                    instances must agree on (refresh, logouts, used
//	                    callbacks) live in Redis, so several instances with
//	                    the same SESSION_KEYS and REDIS_URL behind one
//	                    BASE_URL act as one. Default: none (one instance;
//	                    sessions in cookies)
//
// Register BASE_URL/auth/callback/oidc as the redirect URI at the provider.
// / is public; /private requires signing in. The program starts, and serves
// /, while OIDC_ISSUER does not answer: signing in then shows a "try again"
// page (503) until the provider answers. A configuration that is wrong
// (a bad URL, an issuer that does not match its discovery document) stops
// it with a message.
package main

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-go/portcullis/examples/internal/envkeys"
	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/session/redisstore"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	h, err := run(context.Background(), os.Getenv, logger)
	if err != nil {
		log.Fatal(err)
	}
	baseURL := env(os.Getenv, "BASE_URL", "http://127.0.0.1:8080")
	logger.Info("listening", "url", baseURL, "redirect_uri", baseURL+"/auth/callback/oidc")
	log.Fatal(http.ListenAndServe(env(os.Getenv, "LISTEN_ADDR", "127.0.0.1:8080"), h))
}

// run builds the application from the environment.
func run(ctx context.Context, getenv func(string) string, logger *slog.Logger) (http.Handler, error) {
	baseURL := env(getenv, "BASE_URL", "http://127.0.0.1:8080")
	if getenv("REDIS_URL") != "" && getenv("SESSION_KEYS") == "" {
		// A random key per instance: none could read another's cookies.
		return nil, errors.New("SESSION_KEYS is required with REDIS_URL: give every instance the same keys (`openssl rand -base64 32` makes one)")
	}
	keys, err := envkeys.SessionKeys(getenv("SESSION_KEYS"), logger)
	if err != nil {
		return nil, err
	}
	cfg := middleware.Config{BaseURL: baseURL, Keys: keys, Logger: logger}
	if u := getenv("REDIS_URL"); u != "" {
		if cfg.Sessions, cfg.Shared, err = useRedis(ctx, u, keys, strings.HasPrefix(baseURL, "http://")); err != nil {
			return nil, err
		}
	}

	oc := providers.OIDCConfig{
		Name:         "oidc",
		Issuer:       getenv("OIDC_ISSUER"),
		ClientID:     getenv("OIDC_CLIENT_ID"),
		ClientSecret: getenv("OIDC_CLIENT_SECRET"),
		Scopes:       strings.Fields(getenv("OIDC_SCOPES")),
		// A provider that is down at startup does not stop the app:
		// sign-ins wait for it, and the logger says why.
		Logger: logger,
	}
	if err := clientAuth(getenv, &oc, logger); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	provider, err := providers.OIDC(ctx, oc)
	if err != nil {
		return nil, err
	}
	cfg.Providers = []*providers.Provider{provider}
	auth, err := middleware.New(cfg)
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		page.Execute(w, nil)
	})
	mux.Handle("GET /private", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFrom(r.Context())
		page.Execute(w, s)
	})))
	return mux, nil
}

// useRedis connects to REDIS_URL and returns the session store and the
// shared state on it. insecure: BASE_URL is plain http (loopback only), so
// the session cookie cannot be Secure.
func useRedis(ctx context.Context, rawURL string, keys [][]byte, insecure bool) (*redisstore.Store, *redisstore.Shared, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	client := redis.NewClient(opts)
	store, err := redisstore.New(redisstore.Config{Client: client, Keys: keys, InsecureCookies: insecure})
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	shared, err := redisstore.NewShared(ctx, redisstore.SharedConfig{Client: client})
	if err != nil {
		return nil, nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	return store, shared, nil
}

func env(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

var page = template.Must(template.New("page").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark">
<title>portcullis</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}</style></head><body><main>
{{if .}}<h1>Signed in</h1>
<dl><dt>Name</dt><dd>{{.User.Name}}</dd><dt>Email</dt><dd>{{.User.Email}}</dd>
<dt>Subject</dt><dd>{{.User.Subject}}</dd><dt>Provider</dt><dd>{{.User.Provider}}</dd>
<dt>Access token expires</dt><dd>{{.Tokens.Expiry.Format "2006-01-02 15:04:05 MST"}}</dd></dl>
<form method="post" action="/auth/logout"><button type="submit">Sign out</button></form>
{{else}}<h1>Public page</h1><p><a href="/private">Go to the private page</a> (requires signing in).</p>{{end}}
</main></body></html>`))
