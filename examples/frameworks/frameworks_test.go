package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-go/portcullis/providers/devoidc"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode) // no route listing on stdout
	os.Exit(m.Run())
}

// TestRefreshThroughClient, for each framework: sign in at devoidc, then
// call /api/profile, whose handler fetches the provider's userinfo through
// auth.Client. devoidc's access tokens live 5 s, inside auth.Client's 10 s
// margin, so every call refreshes (a rotation: devoidc issues a new
// refresh token and revokes the grant if a spent one comes back); Require
// itself does not (RefreshBefore 1 ns). The response must carry the
// rotated session cookie, private to the browser; the next requests with
// it must work and refresh with the new refresh token, never a reused one.
//
// The gin application's handlers write to c.Writer, not to the writer
// Require hands on: before portcullis wrote a changed session into the
// response's header map at once, its cookie was lost there.
func TestRefreshThroughClient(t *testing.T) {
	for _, framework := range []string{"servemux", "chi", "gorillamux", "echo", "gin"} {
		t.Run(framework, func(t *testing.T) {
			b, op := start(t, framework)
			if code, body := b.get(t, "/private"); code != http.StatusOK || body != "hello Ada Lovelace (ada)\n" {
				t.Fatalf("sign-in ended with %d %q", code, body)
			}
			if st := op.Stats(); st.CodeExchanges != 1 || st.Refreshes != 0 {
				t.Fatalf("after sign-in: %+v, want one code exchange and no refresh", st)
			}
			for i := 1; i <= 3; i++ {
				before := b.session(t)
				resp := b.do(t, "/api/profile")
				var claims map[string]any
				if err := json.NewDecoder(resp.Body).Decode(&claims); resp.StatusCode != http.StatusOK || err != nil || claims["sub"] != "ada" {
					t.Fatalf("call %d: %d, claims %v (%v)", i, resp.StatusCode, claims, err)
				}
				if !setsCookie(resp, "portcullis") {
					t.Fatalf("call %d: the refreshed session cookie did not reach the browser (Set-Cookie: %q)", i, resp.Header.Values("Set-Cookie"))
				}
				if after := b.session(t); after == before {
					t.Fatalf("call %d: the browser's session cookie did not change", i)
				}
				if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "private") && !strings.Contains(cc, "no-store") {
					t.Errorf("call %d: Cache-Control %q on a response setting the session cookie", i, cc)
				}
				if !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Cookie") {
					t.Errorf("call %d: no Vary: Cookie on a response setting the session cookie", i)
				}
				if st := op.Stats(); st.Refreshes != i || st.RefreshReuses != 0 || st.GrantsRevoked != 0 {
					t.Fatalf("after call %d: %+v, want %d refreshes, no reuse, no grant revoked", i, st, i)
				}
			}
			if code, body := b.get(t, "/private"); code != http.StatusOK || !strings.HasPrefix(body, "hello Ada") {
				t.Fatalf("after the refreshes: %d %q", code, body)
			}
			if code, body := b.get(t, "/"); code != http.StatusOK || !strings.HasPrefix(body, "public page") {
				t.Fatalf("public page: %d %q", code, body)
			}
		})
	}
}

// start serves devoidc and the framework's application on loopback
// listeners and returns a browser for the application.
func start(t *testing.T, framework string) (*browser, *devoidc.Server) {
	t.Helper()
	opTS := httptest.NewServer(nil)
	t.Cleanup(opTS.Close)
	appTS := httptest.NewServer(nil)
	t.Cleanup(appTS.Close)
	cfg := devSetup{
		AppURL: appTS.URL, ProviderURL: opTS.URL,
		AccessTokenTTL: 5 * time.Second, RefreshBefore: time.Nanosecond,
		AutoLogin: "ada",
	}
	op, err := newProvider(cfg)
	if err != nil {
		t.Fatal(err)
	}
	opTS.Config.Handler = op
	auth, err := newAuth(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	app, err := newApp(framework, auth, opTS.URL+"/userinfo")
	if err != nil {
		t.Fatal(err)
	}
	appTS.Config.Handler = app
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(appTS.URL)
	return &browser{base: u, jar: jar, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}, op
}

// browser is a client with a cookie jar that follows redirects and asks
// for HTML, as a browser navigating does.
type browser struct {
	base *url.URL
	jar  *cookiejar.Jar
	c    *http.Client
}

func (b *browser) do(t *testing.T, path string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.base.String()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (b *browser) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp := b.do(t, path)
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// session is the value of the session cookie the browser holds.
func (b *browser) session(t *testing.T) string {
	t.Helper()
	for _, c := range b.jar.Cookies(b.base) {
		if c.Name == "portcullis" {
			return c.Value
		}
	}
	t.Fatal("the browser holds no session cookie")
	return ""
}

// setsCookie reports whether resp sets a cookie of that name.
func setsCookie(resp *http.Response, name string) bool {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return true
		}
	}
	return false
}
