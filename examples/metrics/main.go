// Command metrics counts portcullis's security events in Prometheus: an
// [middleware.Observer] that increments one counter per event, by kind,
// provider, reason and logout kind, and /metrics served by promhttp. Like
// examples/demo it needs no configuration: it starts a development OpenID
// provider (devoidc) beside the application, both on 127.0.0.1.
//
//	cd examples/metrics && go run .
//
// SESSION_KEYS (comma separated, base64, newest first: `openssl rand
// -base64 32`) keeps sessions across restarts; without it the example
// makes a new key each run and says so.
//
// Sign in at /private (pick a test user), sign out, then look at /metrics:
//
//	portcullis_events_total{kind="login",logout="",provider="devoidc",reason=""} 1
//	portcullis_events_total{kind="logout",logout="local",provider="devoidc",reason=""} 1
//
// Every label takes values from a small fixed set: the kinds and reasons
// are portcullis's fixed codes, and the provider is only ever the name of
// a configured one, never a name taken from a request. The event's User
// is deliberately not a label: one series per user would grow without
// bound. In production, serve /metrics on an internal listener, not to the
// internet.
package main

import (
	"context"
	"fmt"
	"html/template"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/portcullis-go/portcullis/examples/internal/envkeys"
	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/providers/devoidc"
)

// eventCounter is the Observer: one counter per kind, provider, reason
// and logout kind. Observe only increments a counter, as an Observer on
// the request path should: it must be fast.
type eventCounter struct {
	events *prometheus.CounterVec
}

func newEventCounter(reg prometheus.Registerer) *eventCounter {
	c := &eventCounter{events: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portcullis_events_total",
		Help: "Security events of portcullis (sign-ins, refusals, refreshes, logouts, store failures), by kind, provider, reason and logout kind.",
	}, []string{"kind", "provider", "reason", "logout"})}
	reg.MustRegister(c.events)
	return c
}

func (c *eventCounter) Observe(_ context.Context, e middleware.Event) {
	c.events.WithLabelValues(string(e.Kind), e.Provider, e.Reason, e.Logout).Inc()
}

func main() {
	appLn := listen("127.0.0.1:8080")
	opLn := listen("127.0.0.1:9090")
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	// SESSION_KEYS is optional: without it, a new key each run, and a
	// restart signs everyone out.
	keys, err := envkeys.SessionKeys(os.Getenv("SESSION_KEYS"), logger)
	if err != nil {
		log.Fatal(err)
	}
	handler, err := app("http://"+appLn.Addr().String(), opLn, "", keys, logger)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("\n  portcullis metrics example: open http://%s/private, then http://%s/metrics\n\n", appLn.Addr(), appLn.Addr())
	log.Fatal(http.Serve(appLn, handler))
}

// app starts the development provider on opLn (signing in autoLogin
// without its sign-in page when set) and returns the application at
// appURL, its cookies sealed with keys: a public home page, /private
// behind sign-in, and /metrics.
func app(appURL string, opLn net.Listener, autoLogin string, keys [][]byte, logger *slog.Logger) (http.Handler, error) {
	opURL := "http://" + opLn.Addr().String()
	op, err := devoidc.New(devoidc.Config{
		Issuer: opURL,
		Clients: []devoidc.Client{{
			ID: "metrics", Secret: "metrics-secret",
			RedirectURIs: []string{appURL + "/auth/callback/devoidc"},
		}},
		AutoLogin: autoLogin,
		Logger:    logger,
	})
	if err != nil {
		return nil, err
	}
	go http.Serve(opLn, op)
	p, err := providers.OIDC(context.Background(), providers.OIDCConfig{
		Name: "devoidc", Issuer: opURL, ClientID: "metrics", ClientSecret: "metrics-secret",
	})
	if err != nil {
		return nil, err
	}
	return newApp(appURL, p, keys, logger)
}

// newApp returns the application at appURL signing in with p, its
// cookies sealed with keys.
func newApp(appURL string, p *providers.Provider, keys [][]byte, logger *slog.Logger) (http.Handler, error) {
	reg := prometheus.NewRegistry()
	auth, err := middleware.New(middleware.Config{
		BaseURL:   appURL,
		Providers: []*providers.Provider{p},
		Keys:      keys,
		Logger:    logger,
		Observer:  newEventCounter(reg),
	})
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /private", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := middleware.UserFrom(r.Context())
		page.Execute(w, u.Name)
	})))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		page.Execute(w, "")
	})
	return mux, nil
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<title>portcullis metrics</title>
{{if .}}<p>Signed in as {{.}}.</p>
<form method="post" action="/auth/logout"><button>Sign out</button></form>
{{else}}<p><a href="/private">Sign in</a></p>{{end}}
<p><a href="/metrics">/metrics</a></p>
`))

// listen listens on addr, or on a random port of 127.0.0.1 when addr is
// taken.
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
