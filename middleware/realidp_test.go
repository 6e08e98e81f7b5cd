package middleware

import (
	"context"
	"errors"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/realidp"
	"github.com/portcullis-go/portcullis/providers"
)

// realApp is an application signed in to the real provider.
type realApp struct {
	auth   *Auth
	url    string
	client *http.Client
}

// startRealApp serves an application using the real provider on the
// address registered there, with /private writing the user and /token the
// access token. It is stopped when the test ends.
func startRealApp(t *testing.T, idp realidp.Env, edit func(*Config)) *realApp {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := providers.OIDC(ctx, providers.OIDCConfig{
		Name:         "realidp",
		Issuer:       idp.Issuer,
		ClientID:     idp.ClientID,
		ClientSecret: idp.ClientSecret,
		Scopes:       []string{"openid", "email", "profile", "offline_access"},
		UserInfo:     true,
	})
	if err != nil {
		t.Fatal(err)
	}
	// node-oidc-provider advertises RFC 9207: a response without iss is
	// refused before any network call.
	if _, err := p.Callback(ctx, providers.Flow{Issuer: p.Issuer()}, url.Values{"code": {"c"}}); !errors.Is(err, providers.ErrInvalidResponse) {
		t.Errorf("a response without iss: %v, want ErrInvalidResponse", err)
	}
	app := &realApp{url: "http://" + idp.AppAddr}
	cfg := Config{
		BaseURL:   app.url,
		Providers: []*providers.Provider{p},
		Keys:      [][]byte{[]byte("0123456789abcdef0123456789abcdef")},
	}
	if edit != nil {
		edit(&cfg)
	}
	if app.auth, err = newAuth(t, cfg); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", app.auth.Handler())
	mux.Handle("/private", app.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := SessionFrom(r.Context())
		io.WriteString(w, "hello "+s.User.Subject+" "+s.User.Email+" "+r.URL.RequestURI())
		if s.Tokens.RefreshToken == "" || s.Tokens.IDToken == "" || s.SID == "" {
			t.Errorf("session lacks tokens or sid: refresh %v id %v sid %v", s.Tokens.RefreshToken != "", s.Tokens.IDToken != "", s.SID != "")
		}
	})))
	mux.Handle("/token", app.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := SessionFrom(r.Context())
		io.WriteString(w, s.Tokens.AccessToken)
	})))
	ln, err := net.Listen("tcp", idp.AppAddr)
	if err != nil {
		t.Fatalf("listen on %s (registered at the provider): %v", idp.AppAddr, err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	jar, _ := cookiejar.New(nil)
	app.client = tapClient(t, app.auth, &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }})
	return app
}

func (app *realApp) get(t *testing.T, u string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept", "text/html")
	resp, err := app.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// login follows the redirects from path through the provider (its
// interaction is completed automatically by internal/realidp) back to the
// app, and returns the final response's body.
func (app *realApp) login(t *testing.T, idp realidp.Env, path string) string {
	t.Helper()
	next := app.url + path
	var sawCallback bool
	var resp *http.Response
	var body []byte
	for i := 0; i < 20; i++ {
		if strings.HasPrefix(next, app.url+"/auth/callback/realidp?") {
			sawCallback = true
			cb, _ := url.Parse(next)
			if cb.Query().Get("iss") != idp.Issuer {
				t.Errorf("callback iss = %q, want %q", cb.Query().Get("iss"), idp.Issuer)
			}
		}
		resp = app.get(t, next)
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 300 || resp.StatusCode > 399 {
			break
		}
		loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		next = loc.String()
	}
	if !sawCallback || resp.StatusCode != http.StatusOK || next != app.url+path {
		t.Fatalf("login did not complete: callback seen %v, last %s → %d", sawCallback, next, resp.StatusCode)
	}
	return string(body)
}

// cookies returns the app's session cookies from the jar.
func (app *realApp) cookies() []*http.Cookie {
	u, _ := url.Parse(app.url)
	var cs []*http.Cookie
	for _, c := range app.client.Jar.Cookies(u) {
		if strings.HasPrefix(c.Name, "portcullis") {
			cs = append(cs, c)
		}
	}
	return cs
}

// TestRealIdPEndToEnd signs in against node-oidc-provider, an independent,
// OpenID-certified provider: protected page → provider → callback →
// protected page, then signs out.
func TestRealIdPEndToEnd(t *testing.T) {
	idp := realidp.Need(t)
	app := startRealApp(t, idp, nil)
	body := app.login(t, idp, "/private?from=real-idp")
	if !strings.Contains(body, "hello realidp-user-1 user1@realidp.test /private?from=real-idp") {
		t.Fatalf("protected page: %q", body)
	}
	req, _ := http.NewRequest(http.MethodPost, app.url+"/auth/logout", nil)
	req.Header.Set("Origin", app.url)
	resp, err := app.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if resp := app.get(t, app.url+"/private"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("protected page after logout: %d, want 303", resp.StatusCode)
	}
}

// TestRealIdPRefreshConcurrent: node-oidc-provider rotates refresh tokens
// and revokes the whole grant when a spent one is replayed. 50 concurrent
// requests with a session due for refresh make one token-endpoint call,
// all succeed, and the session refreshes again later (the grant lives).
func TestRealIdPRefreshConcurrent(t *testing.T) {
	idp := realidp.Need(t)
	app := startRealApp(t, idp, func(c *Config) { c.RefreshBefore = 10 * time.Second })
	app.login(t, idp, "/token")
	cookies := app.cookies()
	code, oldToken, _ := get(t, app.url+"/token", cookies)
	if code != 200 {
		t.Fatalf("before refresh: %d", code)
	}
	calls0 := app.auth.refresher.callCount()
	req := httptest.NewRequest(http.MethodGet, app.url+"/token", nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	s, err := app.auth.Session(req)
	if err != nil {
		t.Fatal(err)
	}
	ttl := time.Until(s.Tokens.Expiry).Round(time.Second) // REALIDP_ACCESS_TTL
	if ttl < 20*time.Second {
		t.Fatalf("access token lifetime %v: too short for this test", ttl)
	}
	later(app.auth, ttl-5*time.Second)
	const n = 50
	var wg sync.WaitGroup
	codes, tokens := make([]int, n), make([]string, n)
	newCookies := make([][]*http.Cookie, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], tokens[i], newCookies[i] = get(t, app.url+"/token", cookies)
		}()
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		if codes[i] != 200 || tokens[i] == oldToken || tokens[i] != tokens[0] || len(newCookies[i]) == 0 {
			t.Fatalf("request %d: status %d, new token %v, same as others %v, cookies %d", i, codes[i], tokens[i] != oldToken, tokens[i] == tokens[0], len(newCookies[i]))
		}
	}
	if calls := app.auth.refresher.callCount() - calls0; calls != 1 {
		t.Fatalf("%d token-endpoint calls for %d concurrent requests, want 1", calls, n)
	}
	t.Logf("%d concurrent requests → 1 refresh call, %d successes", n, n)
	// Later, with the rotated refresh token: node-oidc-provider would have
	// revoked the grant had the spent token ever been replayed.
	later(app.auth, 2*ttl-5*time.Second)
	code, tok, _ := get(t, app.url+"/token", newCookies[0])
	if code != 200 || tok == tokens[0] {
		t.Fatalf("second refresh: status %d, new token %v", code, tok != tokens[0])
	}
}

// confirmRealLogout answers node-oidc-provider's logout confirmation page
// at pageURL ("Yes, sign me out") and returns the provider's answer.
func (app *realApp) confirmRealLogout(t *testing.T, pageURL string) *http.Response {
	t.Helper()
	resp := app.get(t, pageURL)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	action := regexp.MustCompile(`<form[^>]*action="([^"]+)"`).FindSubmatch(page)
	xsrf := regexp.MustCompile(`name="xsrf" value="([^"]+)"`).FindSubmatch(page)
	if resp.StatusCode != 200 || action == nil || xsrf == nil {
		t.Fatalf("provider logout page: %d %.300s", resp.StatusCode, page)
	}
	target, _ := resp.Request.URL.Parse(html.UnescapeString(string(action[1])))
	req, _ := http.NewRequest(http.MethodPost, target.String(),
		strings.NewReader(url.Values{"xsrf": {string(xsrf[1])}, "logout": {"yes"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := app.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestRealIdPRPInitiatedLogout: POST /auth/logout sends the browser to
// node-oidc-provider's end_session endpoint with id_token_hint and a state;
// after the user confirms, the provider returns to /auth/logout/callback
// with that state, and the app redirects to return_to.
func TestRealIdPRPInitiatedLogout(t *testing.T) {
	idp := realidp.Need(t)
	app := startRealApp(t, idp, nil)
	app.login(t, idp, "/private")
	copied := app.cookies()
	req, _ := http.NewRequest(http.MethodPost, app.url+"/auth/logout?return_to=/bye", nil)
	req.Header.Set("Origin", app.url)
	resp, err := app.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	end := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(end, idp.Issuer+"/") || !strings.Contains(end, "id_token_hint=") {
		t.Fatalf("logout: %d %s", resp.StatusCode, end)
	}
	resp = app.confirmRealLogout(t, end)
	back, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || back == nil || back.Path != "/auth/logout/callback" || back.Query().Get("state") == "" {
		t.Fatalf("provider after confirmation: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = app.get(t, back.String())
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/bye" {
		t.Fatalf("logout callback: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The same callback again (state used) only shows the signed-out page.
	resp = app.get(t, back.String())
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Location") != "" {
		t.Fatalf("replayed logout callback: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if code, _, _ := get(t, app.url+"/token", copied); code != http.StatusUnauthorized {
		t.Fatalf("copied cookie after logout: %d, want 401", code)
	}
}

// TestRealIdPBackchannelLogout: the user signs out at node-oidc-provider
// itself (not through the app); the provider POSTs a logout token to
// /auth/backchannel-logout/realidp, and the app's session — cookie still
// in the browser — stops working.
func TestRealIdPBackchannelLogout(t *testing.T) {
	idp := realidp.Need(t)
	app := startRealApp(t, idp, nil)
	app.login(t, idp, "/private")
	cookies := app.cookies()
	if code, _, _ := get(t, app.url+"/token", cookies); code != 200 {
		t.Fatalf("before logout: %d", code)
	}
	resp := app.confirmRealLogout(t, idp.Issuer+"/session/end")
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusOK {
		t.Fatalf("provider logout: %d", resp.StatusCode)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _, _ := get(t, app.url+"/token", cookies)
		if code == http.StatusUnauthorized {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("session still works 10 s after the provider's logout (status %d): no back-channel logout arrived", code)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
