package authtest

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/providers/devoidc"
)

// Config configures a [Provider]. Zero values are documented defaults.
type Config struct {
	// BaseURL is the application's middleware.Config.BaseURL, such as an
	// httptest.Server's URL: the provider accepts its callback
	// (BaseURL + PathPrefix + "/callback/" + Name) and its logout
	// callback, and [Provider.Client] signs in there. Required.
	BaseURL string
	// PathPrefix is the application's middleware.Config.PathPrefix.
	// Default "/auth".
	PathPrefix string
	// Name is the name of the provider the application is given. Default
	// "dev".
	Name string
	// Users are the people who can sign in; their Subject is what
	// [Provider.Client] takes. Default: devoidc's "ada" (Ada Lovelace) and
	// "grace" (Grace Hopper).
	Users []devoidc.User
	// HTTPClient is the client whose Transport reaches the application,
	// such as the Client of an httptest.Server started with TLS, whose
	// certificate it trusts. Default: a transport like
	// http.DefaultTransport.
	HTTPClient *http.Client
}

// Provider is a running [devoidc] OpenID provider on a loopback address,
// with the application registered as its one client. It stops when the
// test ends.
type Provider struct {
	cfg      Config
	srv      *httptest.Server
	op       *devoidc.Server
	provider *providers.Provider
	secret   string
}

// NewProvider starts a devoidc provider on 127.0.0.1 for the application
// at cfg.BaseURL, and fetches its discovery document. It is closed when
// the test ends (t.Cleanup), after which nothing listens on its address.
// Any failure ends the test with t.Fatalf.
//
// Start the application's httptest.Server first, without a handler, to
// know its URL; give it its handler once the Auth is made:
//
//	app := httptest.NewServer(nil)
//	t.Cleanup(app.Close)
//	idp := authtest.NewProvider(t, authtest.Config{BaseURL: app.URL})
//	auth, err := middleware.New(middleware.Config{BaseURL: app.URL, Providers: []*providers.Provider{idp.Provider()}, Keys: keys})
//	app.Config.Handler = routes(auth)
func NewProvider(t testing.TB, cfg Config) *Provider {
	t.Helper()
	if cfg.BaseURL == "" {
		t.Fatalf("authtest: NewProvider: Config.BaseURL is required (the application's middleware.Config.BaseURL)")
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	if cfg.PathPrefix == "" {
		cfg.PathPrefix = "/auth"
	}
	if cfg.Name == "" {
		cfg.Name = "dev"
	}
	secret := rand.Text()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	op, err := devoidc.New(devoidc.Config{
		Issuer: issuer,
		Clients: []devoidc.Client{{
			ID: "app", Secret: secret,
			RedirectURIs:           []string{cfg.BaseURL + cfg.PathPrefix + "/callback/" + cfg.Name},
			PostLogoutRedirectURIs: []string{cfg.BaseURL + cfg.PathPrefix + "/logout/callback"},
		}},
		Users: cfg.Users,
	})
	if err != nil {
		srv.Listener.Close()
		t.Fatalf("authtest: NewProvider: %v", err)
	}
	srv.Config.Handler = op
	srv.Start()
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), providerTimeout)
	defer cancel()
	p, err := providers.OIDC(ctx, providers.OIDCConfig{
		Name: cfg.Name, Issuer: issuer, ClientID: "app", ClientSecret: secret,
	})
	if err != nil {
		t.Fatalf("authtest: NewProvider: %v", err)
	}
	return &Provider{cfg: cfg, srv: srv, op: op, provider: p, secret: secret}
}

// Provider returns the provider to put in the application's
// middleware.Config.Providers. Its discovery document is already fetched.
func (p *Provider) Provider() *providers.Provider { return p.provider }

// ClientCredentials returns the client ID and secret the application is
// registered with, for an application that builds its provider itself
// from its configuration (an issuer, a client ID and secret read from the
// environment): give it Server().Issuer() and these, and its own setup
// runs in the test.
func (p *Provider) ClientCredentials() (id, secret string) { return "app", p.secret }

// Server returns the running devoidc server: its Issuer (the userinfo
// endpoint is Issuer() + "/userinfo"), Stats, EndSessions, RotateKey.
func (p *Provider) Server() *devoidc.Server { return p.op }
