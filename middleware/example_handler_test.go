package middleware_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/providers/devoidc"
	"github.com/portcullis-go/portcullis/session"
)

// exampleEnv is an application behind portcullis and a development
// provider that signs a test user in without its sign-in page, each on a
// loopback test server, and a browser with a cookie jar.
type exampleEnv struct {
	app, issuer string
	browser     *http.Client
	stop        func()
}

// startExample serves the routes that routes adds to a mux (which already
// has auth.Handler() on /auth/) with an Auth made from cfg, whose
// BaseURL, Providers and Keys it fills in; the provider, named "corp",
// signs the devoidc test user autoLogin ("ada" or "grace") in.
func startExample(autoLogin string, cfg middleware.Config, routes func(mux *http.ServeMux, auth *middleware.Auth)) *exampleEnv {
	opServer, appServer := httptest.NewServer(nil), httptest.NewServer(nil)
	op, err := devoidc.New(devoidc.Config{
		Issuer: opServer.URL,
		Clients: []devoidc.Client{{
			ID: "app", Secret: "app-secret",
			RedirectURIs:           []string{appServer.URL + "/auth/callback/corp"},
			PostLogoutRedirectURIs: []string{appServer.URL + "/auth/logout/callback"},
		}},
		AutoLogin: autoLogin,
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
	cfg.BaseURL = appServer.URL
	cfg.Providers = []*providers.Provider{corp}
	cfg.Keys = [][]byte{[]byte("use 32 random bytes, not this!!!")}
	auth, err := middleware.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	routes(mux, auth)
	appServer.Config.Handler = mux
	jar, _ := cookiejar.New(nil)
	return &exampleEnv{
		app: appServer.URL, issuer: opServer.URL,
		browser: &http.Client{Jar: jar},
		stop:    func() { appServer.Close(); opServer.Close() },
	}
}

// visit sends a browser navigation to the app's path, following
// redirects, and returns the final path, the status and the body.
func (e *exampleEnv) visit(method, path string, form url.Values) (string, int, string) {
	req, err := http.NewRequest(method, e.app+path, strings.NewReader(form.Encode()))
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := e.browser.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.Request.URL.Path, resp.StatusCode, strings.TrimSpace(string(body))
}

// A handler behind Require calls the provider's API with the user's
// access token: here the OpenID Connect UserInfo endpoint. The client
// refreshes the token when it is about to expire and sends it to no other
// origin; outside Require its requests fail with ErrUnauthenticated.
func ExampleAuth_Client() {
	var auth *middleware.Auth
	var issuer string
	env := startExample("ada", middleware.Config{}, func(mux *http.ServeMux, a *middleware.Auth) {
		auth = a
		mux.Handle("/profile", a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			resp, err := auth.Client(r).Get(issuer + "/userinfo")
			if err != nil {
				http.Error(w, "the provider did not answer", http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			var info struct{ Name, Email string }
			if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
				http.Error(w, "unexpected answer", http.StatusBadGateway)
				return
			}
			fmt.Fprintf(w, "%s: %s <%s>", resp.Status, info.Name, info.Email)
		})))
	})
	defer env.stop()
	issuer = env.issuer

	_, status, body := env.visit("GET", "/profile", nil) // signs in on the way
	fmt.Println(status, body)

	_, err := auth.Client(httptest.NewRequest("GET", "/not-behind-require", nil)).Get(issuer + "/userinfo")
	fmt.Println(errors.Is(err, middleware.ErrUnauthenticated))
	// Output:
	// 200 200 OK: Ada Lovelace <ada@example.com>
	// true
}

// TokenSource gives the user's access token itself, for an SDK that takes
// an oauth2.TokenSource or a token. It never hands out the refresh token.
func ExampleAuth_TokenSource() {
	env := startExample("ada", middleware.Config{}, func(mux *http.ServeMux, auth *middleware.Auth) {
		mux.Handle("/token", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, err := auth.TokenSource(r).Token()
			if err != nil {
				// ErrUnauthenticated (the session ended) or
				// ErrProviderUnavailable (a needed refresh failed).
				http.Error(w, http.StatusText(middleware.Status(err)), middleware.Status(err))
				return
			}
			fmt.Fprintf(w, "%s token, valid: %v, refresh token given out: %v", tok.Type(), tok.Valid(), tok.RefreshToken != "")
		})))
	})
	defer env.stop()

	_, status, body := env.visit("GET", "/token", nil)
	fmt.Println(status, body)
	// Output:
	// 200 Bearer token, valid: true, refresh token given out: false
}

// An ErrorHandler of the application's own: it logs the error (never shown:
// it may hold provider details), sends a browser that is not signed in to
// LoginURL, which brings it back to the page it asked for, and answers
// everything else with Status and a page of its own.
func ExampleConfig_errorHandler() {
	logger := log.New(io.Discard, "", 0) // the application's logger
	cfg := middleware.Config{
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			logger.Print(err)
			if login := middleware.LoginURL(err); login != "" && r.Header.Get("Sec-Fetch-Mode") == "navigate" {
				http.Redirect(w, r, login, http.StatusSeeOther)
				return
			}
			status := middleware.Status(err)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(status)
			fmt.Fprintf(w, "Sorry: %s. Start again at /auth/login.\n", strings.ToLower(http.StatusText(status)))
		},
	}
	env := startExample("ada", cfg, func(mux *http.ServeMux, auth *middleware.Auth) {
		mux.Handle("/app/", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	})
	defer env.stop()
	env.browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	for _, path := range []string{"/app/reports?q=1", "/auth/callback/corp?state=forged&code=x"} {
		req, _ := http.NewRequest("GET", env.app+path, nil)
		req.Header.Set("Sec-Fetch-Mode", "navigate") // a browser's navigation
		resp, err := env.browser.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); loc != "" {
			fmt.Println(resp.StatusCode, "to", loc)
			continue
		}
		fmt.Println(resp.StatusCode, strings.TrimSpace(string(body)))
	}
	// Output:
	// 303 to /auth/login?return_to=%2Fapp%2Freports%3Fq%3D1
	// 400 Sorry: bad request. Start again at /auth/login.
}

// OnLogin runs once per sign-in, after the provider's answer is verified
// and before the session is saved: here it admits only the users of an
// allow list and provisions their accounts. An error refuses the sign-in
// with 403 and a generic page.
func ExampleConfig_onLogin() {
	allowed := []string{"ada@example.com"}
	for _, who := range []string{"ada", "grace"} {
		cfg := middleware.Config{
			OnLogin: func(ctx context.Context, s *session.Session) error {
				if !slices.Contains(allowed, s.User.Email) {
					return fmt.Errorf("%s is not on the list: %w", s.User.Email, middleware.ErrForbidden)
				}
				fmt.Println("provisioning", s.User.Name, "of", s.User.Provider)
				return nil
			},
		}
		env := startExample(who, cfg, func(mux *http.ServeMux, auth *middleware.Auth) {
			mux.Handle("/app/", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				u, _ := middleware.UserFrom(r.Context())
				fmt.Fprintf(w, "hello %s", u.Name)
			})))
		})
		_, status, body := env.visit("GET", "/app/", nil)
		if status != http.StatusOK {
			body = http.StatusText(status)
		}
		fmt.Println(who+":", status, body)
		env.stop()
	}
	// Output:
	// provisioning Ada Lovelace of corp
	// ada: 200 hello Ada Lovelace
	// grace: 403 Forbidden
}

// logoutForm is the sign-out button of an application's pages. A logout
// is a POST to /auth/logout from the same origin (a GET shows a
// confirmation page instead); return_to is where the browser lands after
// the provider's logout, a same-origin path.
var logoutForm = template.Must(template.New("logout").Parse(
	`<form method="post" action="/auth/logout?return_to={{.}}"><button type="submit">Sign out</button></form>`))

// Signing out: the form above, posted by the browser, ends the session here
// (and on copies of its cookie), revokes its tokens at the provider and
// ends the provider's session too, then lands on return_to. A cross-site
// POST is refused.
func Example_logout() {
	logoutForm.Execute(os.Stdout, "/goodbye")
	fmt.Println()

	env := startExample("ada", middleware.Config{}, func(mux *http.ServeMux, auth *middleware.Auth) {
		mux.Handle("/app/", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var b strings.Builder
			logoutForm.Execute(&b, "/goodbye")
			fmt.Fprint(w, b.String())
		})))
		mux.HandleFunc("/goodbye", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "signed out") })
	})
	defer env.stop()
	env.visit("GET", "/app/", nil) // signs in

	req, _ := http.NewRequest("POST", env.app+"/auth/logout", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := env.browser.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("cross-site:", resp.StatusCode)

	path, status, body := env.visit("POST", "/auth/logout?return_to=/goodbye", nil)
	fmt.Println(path, status, body)
	// Output:
	// <form method="post" action="/auth/logout?return_to=%2fgoodbye"><button type="submit">Sign out</button></form>
	// cross-site: 403
	// /goodbye 200 signed out
}
