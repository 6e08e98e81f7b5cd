package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/opkit"
	"github.com/portcullis-go/portcullis/providers/devoidc"
)

// app is the example served on a loopback listener, n instances behind
// one address (round robin), signing in with devoidc.
type app struct {
	url     string
	op      *devoidc.Server
	outage  *opkit.Outage // in front of op; up unless the test says otherwise
	browser *http.Client
}

func startApp(t *testing.T, n int, extra map[string]string) *app {
	t.Helper()
	return startAppMode(t, n, extra, opkit.Up)
}

// startAppMode is startApp with the provider in mode m at startup.
func startAppMode(t *testing.T, n int, extra map[string]string, m opkit.Mode) *app {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	baseURL := "http://" + ln.Addr().String()
	opTS := httptest.NewServer(nil)
	t.Cleanup(opTS.Close)
	op, err := devoidc.New(devoidc.Config{
		Issuer: opTS.URL,
		Clients: []devoidc.Client{{ID: "app", Secret: "app-secret",
			RedirectURIs: []string{baseURL + "/auth/callback/oidc"}}},
		AutoLogin: "ada",
	})
	if err != nil {
		t.Fatal(err)
	}
	outage := opkit.NewOutage(op, m)
	opTS.Config.Handler = outage
	vars := map[string]string{
		"OIDC_ISSUER": opTS.URL, "OIDC_CLIENT_ID": "app", "OIDC_CLIENT_SECRET": "app-secret",
		"BASE_URL":     baseURL,
		"SESSION_KEYS": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	}
	for k, v := range extra {
		vars[k] = v
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var hs []http.Handler
	for range n {
		h, err := run(context.Background(), func(k string) string { return vars[k] }, logger)
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	var next atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(next.Add(1)-1) % n
		if v := r.Header.Get("X-Instance"); v != "" {
			i = int(v[0] - '0')
		}
		hs[i].ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	jar, _ := cookiejar.New(nil)
	return &app{url: baseURL, op: op, outage: outage, browser: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

// get fetches path (following redirects) on instance i (-1: round robin).
func (a *app) get(t *testing.T, path string, i int) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", a.url+path, nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	if i >= 0 {
		req.Header.Set("X-Instance", string(rune('0'+i)))
	}
	resp, err := a.browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (a *app) logout(t *testing.T, i int) int {
	t.Helper()
	req, _ := http.NewRequest("POST", a.url+"/auth/logout", nil)
	req.Header.Set("Origin", a.url)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("X-Instance", string(rune('0'+i)))
	c := *a.browser
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestSignIn: without REDIS_URL, / is public and /private signs in.
func TestSignIn(t *testing.T) {
	a := startApp(t, 1, nil)
	if code, body := a.get(t, "/", -1); code != 200 || !strings.Contains(body, "Public page") {
		t.Fatalf("/: %d", code)
	}
	if code, body := a.get(t, "/private", -1); code != 200 || !strings.Contains(body, "Signed in") {
		t.Fatalf("/private: %d %s", code, body)
	}
}

// TestRedisInstances: two instances with the same SESSION_KEYS and
// REDIS_URL act as one: a sign-in that crosses them works on both, and a
// logout on one ends the session on the other.
func TestRedisInstances(t *testing.T) {
	addr := os.Getenv("PORTCULLIS_REDIS_ADDR")
	if addr == "" {
		t.Skip("PORTCULLIS_REDIS_ADDR is not set: the REDIS_URL test needs a redis-server (.ci/run starts one)")
	}
	a := startApp(t, 2, map[string]string{"REDIS_URL": "redis://" + addr + "/0"})
	if code, body := a.get(t, "/private", -1); code != 200 || !strings.Contains(body, "Signed in") {
		t.Fatalf("sign-in: %d", code)
	}
	for i := range 2 {
		if code, body := a.get(t, "/private", i); code != 200 || !strings.Contains(body, "Signed in") {
			t.Fatalf("instance %d: %d", i, code)
		}
	}
	u := a.url
	jar := a.browser.Jar
	req, _ := http.NewRequest("GET", u, nil)
	copied := jar.Cookies(req.URL)
	// (The jar also holds devoidc's cookie: cookies do not tell ports apart.)
	var id *http.Cookie
	for _, c := range copied {
		if c.Name == "portcullis-id" {
			id = c
		}
	}
	if id == nil || len(id.Value) > 200 {
		t.Fatalf("session cookie with Redis: %v; want portcullis-id, a short signed id", copied)
	}
	if code := a.logout(t, 0); code != http.StatusSeeOther {
		t.Fatalf("logout: %d", code)
	}
	// The copied cookie, on the other instance: the session is gone.
	jar.SetCookies(req.URL, copied)
	nc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, _ := http.NewRequest("GET", u+"/private", nil)
	r.Header.Set("Accept", "text/html")
	r.Header.Set("Sec-Fetch-Mode", "navigate")
	r.Header.Set("X-Instance", "1")
	resp, err := nc.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "/auth/login") {
		t.Fatalf("copied cookie on the other instance after logout: %d %s, want a redirect to sign in", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestIssuerUnreachable: the app starts and serves / while OIDC_ISSUER
// does not answer; /private then gets the designed 503 page, and signs in
// once the provider answers.
func TestIssuerUnreachable(t *testing.T) {
	a := startAppMode(t, 1, nil, opkit.Drop)
	if code, body := a.get(t, "/", -1); code != 200 || !strings.Contains(body, "Public page") {
		t.Fatalf("/ with the provider down: %d", code)
	}
	if code, body := a.get(t, "/private", -1); code != http.StatusServiceUnavailable || !strings.Contains(body, "unavailable") {
		t.Fatalf("/private with the provider down: %d %q", code, body)
	}
	a.outage.Set(opkit.Up)
	deadline := time.Now().Add(10 * time.Second) // past the first discovery backoff
	for {
		code, body := a.get(t, "/private", -1)
		if code == 200 && strings.Contains(body, "Signed in") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/private after the provider came back: %d", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSessionKeysRefusals: a SESSION_KEYS that cannot be used, or none with
// REDIS_URL (each instance would make its own key), stops the program
// before any network call, with a message naming the variable.
func TestSessionKeysRefusals(t *testing.T) {
	for _, tt := range []struct{ name, keys, redis, want string }{
		{"no keys with redis", "", "redis://127.0.0.1:1/0", "SESSION_KEYS is required with REDIS_URL: give every instance the same keys (`openssl rand -base64 32` makes one)"},
		{"short key", "MDEyMzQ1Njc4OWFiY2RlZg==", "", "SESSION_KEYS: session: key 1 of 1 decodes to 16 bytes; want 32 to 64 random bytes: `openssl rand -base64 32` makes one"},
		{"stray comma", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=,", "", "SESSION_KEYS: session: key 2 of 2 is empty: remove the extra comma"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{
				"OIDC_ISSUER": "http://127.0.0.1:1", "OIDC_CLIENT_ID": "app", // never reached
				"SESSION_KEYS": tt.keys, "REDIS_URL": tt.redis,
			}
			_, err := run(t.Context(), func(k string) string { return vars[k] }, slog.New(slog.DiscardHandler))
			if err == nil || err.Error() != tt.want {
				t.Errorf("run: %v\nwant %q", err, tt.want)
			}
		})
	}
}
