package authtest_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/middleware/authtest"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/session"
)

// fatalTB is t, except that Fatalf records its message and ends only the
// goroutine of the helper under test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fatalTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

// fatalOf runs fn with a fatalTB and returns the message it failed with,
// "" when it did not fail.
func fatalOf(t *testing.T, fn func(tb testing.TB)) string {
	t.Helper()
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f.msg
}

// serve answers a request with h and returns the status and body.
func serve(h http.Handler, r *http.Request) (int, string) {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

// whoami writes the signed-in user's ID, issuer and name.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	u, ok := middleware.UserFrom(r.Context())
	if !ok {
		http.Error(w, "no user", http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(w, "%s %s %s", u.ID(), u.Issuer, u.Name)
})

func TestSignIn(t *testing.T) {
	idp := authtest.NewProvider(t, authtest.Config{BaseURL: "http://localhost:8080"})
	auth := newAuth(t, "http://localhost:8080", idp)
	h := auth.Require(whoami)

	r := httptest.NewRequest("GET", "/", nil)
	authtest.SignIn(t, auth, r, session.User{Subject: "ada", Name: "Ada"}, session.Tokens{})
	status, body := serve(h, r)
	if want := "dev|ada " + idp.Server().Issuer() + " Ada"; status != 200 || body != want {
		t.Fatalf("signed in: got %d %q, want 200 %q", status, body, want)
	}

	// A second SignIn replaces the session cookie: one session, the new user's.
	authtest.SignIn(t, auth, r, session.User{Subject: "grace", Name: "Grace"}, session.Tokens{})
	if status, body := serve(h, r); status != 200 || !strings.HasPrefix(body, "dev|grace ") {
		t.Fatalf("signed in again: got %d %q, want grace", status, body)
	}
	if n := len(r.Cookies()); n != 1 {
		t.Fatalf("request has %d cookies after two sign-ins, want 1: %v", n, r.Cookies())
	}

	// The revocation list judges the session as a real one.
	if err := auth.EndSessions(context.Background(), "dev", "grace"); err != nil {
		t.Fatal(err)
	}
	if status, _ := serve(h, r); status != http.StatusUnauthorized {
		t.Fatalf("after EndSessions: got %d, want 401", status)
	}
}

func TestSignInTokens(t *testing.T) {
	idp := authtest.NewProvider(t, authtest.Config{BaseURL: "http://localhost:8080"})
	auth := newAuth(t, "http://localhost:8080", idp)
	tok := session.Tokens{AccessToken: "made-up", TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}
	var got session.Tokens
	h := auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFrom(r.Context())
		got = s.Tokens
		// The provider does not know a token SignIn stored.
		resp, err := auth.Client(r).Get(idp.Server().Issuer() + "/userinfo")
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
	}))
	r := httptest.NewRequest("GET", "/", nil)
	authtest.SignIn(t, auth, r, session.User{Subject: "ada"}, tok)
	status, _ := serve(h, r)
	if got.AccessToken != tok.AccessToken || !got.Expiry.Equal(tok.Expiry) {
		t.Errorf("session tokens = %+v, want %+v", got, tok)
	}
	if status != http.StatusUnauthorized {
		t.Errorf("userinfo with a made-up token answered %d, want 401", status)
	}
}

func TestSignInFailures(t *testing.T) {
	idp := authtest.NewProvider(t, authtest.Config{BaseURL: "http://localhost:8080"})
	auth := newAuth(t, "http://localhost:8080", idp)
	for _, tc := range []struct {
		name string
		u    session.User
		want string
	}{
		{"unknown provider", session.User{Provider: "google", Subject: "ada"}, `authtest: SignIn "ada": middleware: SignInForTest: User.Provider "google" is not one of the configured providers ["dev"]`},
		{"no subject", session.User{Name: "Ada"}, `authtest: SignIn "": middleware: SignInForTest: User.Subject is required`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			msg := fatalOf(t, func(tb testing.TB) { authtest.SignIn(tb, auth, r, tc.u, session.Tokens{}) })
			if msg != tc.want {
				t.Errorf("failed with %q, want %q", msg, tc.want)
			}
			if len(r.Cookies()) != 0 {
				t.Errorf("the request got cookies: %v", r.Cookies())
			}
		})
	}
}

// app serves routes(auth) for an Auth with an authtest provider.
func app(t *testing.T, cfg authtest.Config, routes func(*middleware.Auth) http.Handler) (*httptest.Server, *authtest.Provider) {
	t.Helper()
	ts := httptest.NewServer(nil)
	t.Cleanup(ts.Close)
	cfg.BaseURL = ts.URL
	idp := authtest.NewProvider(t, cfg)
	mc := middleware.Config{BaseURL: ts.URL, Providers: []*providers.Provider{idp.Provider()}, Keys: keys, PathPrefix: cfg.PathPrefix}
	auth, err := middleware.New(mc)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = routes(auth)
	return ts, idp
}

// standard mounts the auth endpoints at /auth/ and whoami at /me.
func standard(auth *middleware.Auth) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("/me", auth.Require(whoami))
	return mux
}

func get(t *testing.T, c *http.Client, target string) (int, string) {
	t.Helper()
	resp, err := c.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestClient(t *testing.T) {
	ts, idp := app(t, authtest.Config{}, standard)
	for _, sub := range []string{"ada", "grace"} {
		c := idp.Client(t, sub)
		status, body := get(t, c, ts.URL+"/me")
		if want := "dev|" + sub + " " + idp.Server().Issuer() + " "; status != 200 || !strings.HasPrefix(body, want) {
			t.Errorf("%s: got %d %q, want 200 %q…", sub, status, body, want)
		}
	}
	if n := idp.Server().Stats().CodeExchanges; n != 2 {
		t.Errorf("devoidc exchanged %d codes, want 2 (one per Client)", n)
	}
	anon := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if status, _ := get(t, anon, ts.URL+"/me"); status != http.StatusUnauthorized {
		t.Errorf("anonymous: got %d, want 401", status)
	}
}

func TestClientCustomPrefixAndName(t *testing.T) {
	ts, idp := app(t, authtest.Config{PathPrefix: "/login", Name: "corp"}, func(auth *middleware.Auth) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/login/", auth.Handler())
		mux.Handle("/me", auth.Require(whoami))
		return mux
	})
	if status, body := get(t, idp.Client(t, "ada"), ts.URL+"/me"); status != 200 || !strings.HasPrefix(body, "corp|ada ") {
		t.Errorf("got %d %q, want 200 corp|ada", status, body)
	}
}

func TestClientFailures(t *testing.T) {
	t.Run("unknown user", func(t *testing.T) {
		_, idp := app(t, authtest.Config{}, standard)
		msg := fatalOf(t, func(tb testing.TB) { idp.Client(tb, "linus") })
		if want := `authtest: signing in "linus": no user with this subject at the provider (Config.Users has ["ada" "grace"])`; msg != want {
			t.Errorf("failed with %q, want %q", msg, want)
		}
	})
	t.Run("handler not mounted", func(t *testing.T) {
		ts, idp := app(t, authtest.Config{}, func(auth *middleware.Auth) http.Handler { return auth.Require(whoami) })
		msg := fatalOf(t, func(tb testing.TB) { idp.Client(tb, "ada") })
		want := `authtest: signing in "ada": GET ` + ts.URL + `/auth/login/dev: got 401 to "", want a redirect to ` + idp.Server().Issuer() + `/authorize is auth.Handler() mounted at /auth/ on the server at ` + ts.URL + `?`
		if msg != want {
			t.Errorf("failed with\n%q, want\n%q", msg, want)
		}
	})
	t.Run("sign-in refused", func(t *testing.T) {
		ts := httptest.NewServer(nil)
		t.Cleanup(ts.Close)
		idp := authtest.NewProvider(t, authtest.Config{BaseURL: ts.URL})
		auth, err := middleware.New(middleware.Config{
			BaseURL: ts.URL, Providers: []*providers.Provider{idp.Provider()}, Keys: keys,
			OnLogin: func(context.Context, *session.Session) error { return middleware.ErrForbidden },
		})
		if err != nil {
			t.Fatal(err)
		}
		ts.Config.Handler = standard(auth)
		msg := fatalOf(t, func(tb testing.TB) { idp.Client(tb, "ada") })
		if !strings.Contains(msg, "/auth/callback/dev?") || !strings.Contains(msg, "got 403") || !strings.HasSuffix(msg, "did the callback refuse the sign-in (SignInPolicy, OnLogin, LinkAccount)?") {
			t.Errorf("failed with %q, want it to name the callback, its 403 and the hooks", msg)
		}
	})
}

func TestNewProviderFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  authtest.Config
		want string
	}{
		{"no BaseURL", authtest.Config{}, "authtest: NewProvider: Config.BaseURL is required (the application's middleware.Config.BaseURL)"},
		{"bad name", authtest.Config{BaseURL: "http://localhost:8080", Name: "Not A Name"}, "authtest: NewProvider: providers: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := fatalOf(t, func(tb testing.TB) { authtest.NewProvider(tb, tc.cfg) })
			if !strings.HasPrefix(msg, tc.want) {
				t.Errorf("failed with %q, want %q…", msg, tc.want)
			}
		})
	}
}

// TestClosedWithTest checks that the provider stops listening, and the
// signed-in client's connections are closed, when the test that made them
// ends.
func TestClosedWithTest(t *testing.T) {
	var issuer, appURL string
	var c *http.Client
	t.Run("uses them", func(t *testing.T) {
		ts, idp := app(t, authtest.Config{}, standard)
		issuer, appURL = idp.Server().Issuer(), ts.URL
		c = idp.Client(t, "ada")
		if status, _ := get(t, c, ts.URL+"/me"); status != 200 {
			t.Fatalf("signed in: got %d", status)
		}
	})
	u, err := url.Parse(issuer)
	if err != nil {
		t.Fatal(err)
	}
	if conn, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
		conn.Close()
		t.Errorf("something still listens at the provider's address %s after its test", u.Host)
	}
	// The client's pooled connection was closed: a request must dial, and
	// the app, closed too, is gone.
	if _, err := c.Get(appURL + "/me"); err == nil {
		t.Errorf("the client still reached the app after the test")
	}
}
