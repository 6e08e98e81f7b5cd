package redisstore

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/providers/devoidc"
	"github.com/portcullis-go/portcullis/session"
)

// TestMiddlewareEndToEnd runs the whole loop through middleware.New with
// the Redis store: protected page, login at devoidc, protected page again,
// logout, and the copied cookie refused afterwards because its record is
// gone.
func TestMiddlewareEndToEnd(t *testing.T) {
	t.Run("https", func(t *testing.T) { testEndToEnd(t, true) })
	t.Run("http-loopback", func(t *testing.T) { testEndToEnd(t, false) })
}

func testEndToEnd(t *testing.T, tls bool) {
	store, rdb, _ := testStore(t, func(c *Config) { c.InsecureCookies = !tls })
	store.now = time.Now
	ctx := context.Background()

	start := httptest.NewServer
	if tls {
		start = httptest.NewTLSServer
	}
	opTS := start(nil)
	t.Cleanup(opTS.Close)
	appTS := start(nil)
	t.Cleanup(appTS.Close)
	op, err := devoidc.New(devoidc.Config{
		Issuer: opTS.URL,
		Clients: []devoidc.Client{{
			ID: "app", Secret: "app-secret",
			RedirectURIs:           []string{appTS.URL + "/auth/callback/dev"},
			PostLogoutRedirectURIs: []string{appTS.URL + "/auth/logout/callback"},
		}},
		AutoLogin: "ada",
	})
	if err != nil {
		t.Fatal(err)
	}
	opTS.Config.Handler = op
	p, err := providers.OIDC(ctx, providers.OIDCConfig{
		Name: "dev", Issuer: opTS.URL, ClientID: "app", ClientSecret: "app-secret",
		HTTPClient: opTS.Client(), // trusts the test certificate
	})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := middleware.New(middleware.Config{
		BaseURL:   appTS.URL,
		Providers: []*providers.Provider{p},
		Keys:      [][]byte{otherKey}, // flow cookies; the store has its own
		Sessions:  store,
	})
	if err != nil {
		t.Fatal(err)
	}
	if tls {
		// An https application refuses a store that writes cookies
		// without Secure (the middleware probes Clear without a cookie).
		insecure, err := New(Config{Client: rdb, Keys: [][]byte{testKey}, Prefix: store.prefix, InsecureCookies: true})
		if err != nil {
			t.Fatal(err)
		}
		_, err = middleware.New(middleware.Config{BaseURL: appTS.URL, Providers: []*providers.Provider{p}, Keys: [][]byte{otherKey}, Sessions: insecure})
		if err == nil || !strings.Contains(err.Error(), "Sessions") {
			t.Errorf("middleware.New with an insecure store over https: %v", err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("/private", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := middleware.UserFrom(r.Context())
		io.WriteString(w, "hello "+u.Subject)
	})))
	appTS.Config.Handler = mux
	jar, _ := cookiejar.New(nil)
	client := appTS.Client() // httptest's servers share one certificate
	client.Jar = jar
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	get := func(rawURL string, extra ...*http.Cookie) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, rawURL, nil)
		req.Header.Set("Accept", "text/html")
		c := client
		if len(extra) > 0 { // a bare client: only the given cookies
			c = &http.Client{Transport: client.Transport, CheckRedirect: client.CheckRedirect}
			for _, ck := range extra {
				req.AddCookie(ck)
			}
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	// Protected page → login → devoidc (AutoLogin) → callback → page.
	next := appTS.URL + "/private"
	var final *http.Response
	for i := 0; i < 10; i++ {
		resp := get(next)
		if resp.StatusCode < 300 || resp.StatusCode > 399 {
			final = resp
			break
		}
		loc, _ := resp.Request.URL.Parse(resp.Header.Get("Location"))
		next = loc.String()
	}
	if final == nil || final.StatusCode != http.StatusOK {
		t.Fatalf("login loop ended with %v", final)
	}
	appURL, _ := url.Parse(appTS.URL)
	var copied *http.Cookie
	for _, ck := range jar.Cookies(appURL) {
		if ck.Name == store.Name() {
			copied = ck
		}
	}
	if copied == nil || len(copied.Value) != cookieLen {
		t.Fatalf("session cookie %v", copied)
	}
	if wantName := map[bool]string{true: "__Host-portcullis-id", false: "portcullis-id"}[tls]; copied.Name != wantName {
		t.Errorf("cookie name %q, want %q", copied.Name, wantName)
	}
	id, _, _ := strings.Cut(copied.Value, ".")
	if rdb.Exists(ctx, store.sessionKey(id)).Val() != 1 {
		t.Fatal("no record in Redis after the login")
	}
	if got, err := store.Sessions(ctx, "dev", "ada"); err != nil || len(got) != 1 || got[0].ID != id {
		t.Errorf("Sessions after login: %v, %v", err, ids(got))
	}
	if resp := get(appTS.URL+"/private", copied); resp.StatusCode != http.StatusOK {
		t.Fatalf("the copied cookie before logout: %d", resp.StatusCode)
	}

	// Logout.
	req, _ := http.NewRequest(http.MethodPost, appTS.URL+"/auth/logout", nil)
	req.Header.Set("Origin", appTS.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if rdb.Exists(ctx, store.sessionKey(id)).Val() != 0 {
		t.Error("logout left the record in Redis")
	}
	if rdb.SIsMember(ctx, store.userKey("dev", "ada"), id).Val() {
		t.Error("logout left the id in the user index")
	}
	// The copied cookie: refused by the store itself, not only by the
	// middleware's revocation list.
	r := httptest.NewRequest(http.MethodGet, "/private", nil)
	r.AddCookie(copied)
	if _, err := store.Load(r); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("store.Load of the copied cookie: %v", err)
	}
	if resp := get(appTS.URL+"/private", copied); resp.StatusCode == http.StatusOK {
		t.Error("the copied cookie still opens the protected page after logout")
	}
}
