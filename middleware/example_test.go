package middleware_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/providers/devoidc"
)

func ExampleNew() {
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
		Issuer:       opServer.URL,
		ClientID:     "app",
		ClientSecret: "app-secret",
	})
	if err != nil {
		log.Fatal(err)
	}
	auth, err := middleware.New(middleware.Config{
		BaseURL:   "https://app.example.com",
		Providers: []*providers.Provider{corp},
		Keys:      [][]byte{[]byte("use 32 random bytes, not this!!!")},
	})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("/admin/", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := middleware.UserFrom(r.Context())
		fmt.Fprintf(w, "hello %s", u.Name)
	})))

	// A browser that is not signed in is sent to sign in, and comes back
	// to /admin/ afterwards.
	req := httptest.NewRequest("GET", "https://app.example.com/admin/", nil)
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("Location"))

	// An API client gets 401.
	req = httptest.NewRequest("GET", "https://app.example.com/admin/", nil)
	req.Header.Set("Accept", "application/json")
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	// Output:
	// 303 /auth/login?return_to=%2Fadmin%2F
	// 401 application/json
}

func ExampleConfig_insecureDevelopment() {
	// Plain http is accepted only on loopback hosts, for local development.
	// New reports every problem of a Config at once.
	_, err := middleware.New(middleware.Config{
		BaseURL: "http://app.example.com",
		Keys:    [][]byte{[]byte("use 32 random bytes, not this!!!")},
	})
	fmt.Println(err)
	// Output:
	// middleware: Config.BaseURL: "http://app.example.com" is plain http on a non-loopback host; use https (InsecureCookies exists for exceptional setups and MUST NOT be used in production)
	// middleware: Config.Providers: none configured
}

// printObserver prints each event's kind, provider, reason and status.
type printObserver struct{}

func (printObserver) Observe(_ context.Context, e middleware.Event) {
	fmt.Printf("%s provider=%s reason=%q status=%d\n", e.Kind, e.Provider, e.Reason, e.Status)
}

func ExampleObserver() {
	opServer := httptest.NewServer(nil)
	defer opServer.Close()
	op, err := devoidc.New(devoidc.Config{
		Issuer:  opServer.URL,
		Clients: []devoidc.Client{{ID: "app", Secret: "app-secret", RedirectURIs: []string{"https://app.example.com/auth/callback/corp"}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	opServer.Config.Handler = op
	corp, err := providers.OIDC(context.Background(), providers.OIDCConfig{
		Name: "corp", Issuer: opServer.URL, ClientID: "app", ClientSecret: "app-secret",
	})
	if err != nil {
		log.Fatal(err)
	}
	auth, err := middleware.New(middleware.Config{
		BaseURL:   "https://app.example.com",
		Providers: []*providers.Provider{corp},
		Keys:      [][]byte{[]byte("use 32 random bytes, not this!!!")},
		Observer:  printObserver{}, // count events in metrics instead: see examples/metrics
	})
	if err != nil {
		log.Fatal(err)
	}

	// A sign-in starts; a callback nobody started is refused.
	for _, target := range []string{"/auth/login", "/auth/callback/corp?state=forged&code=x"} {
		auth.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "https://app.example.com"+target, nil))
	}
	// Output:
	// login_started provider=corp reason="" status=302
	// state_invalid provider=corp reason="state_mismatch" status=400
}
