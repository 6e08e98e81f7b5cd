package middleware

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/providers/devoidc"
)

// e2e is an application behind Auth and a devoidc provider, both served by
// httptest servers, with a browser-like client (cookie jar, no automatic
// redirects).
type e2e struct {
	t    *testing.T
	logs *logBuffer
	// secrets collects every token, code, state and cookie value seen, to
	// check that none reaches the logs.
	secrets []string
	app     *httptest.Server
	op      *devoidc.Server
	auth    *Auth
	client  *http.Client
}

func newE2E(t *testing.T, tls bool, edits ...func(*Config)) *e2e {
	t.Helper()
	return newE2EOP(t, tls, nil, edits...)
}

// newE2EWith is newE2E (plain http) with devoidc's Config edited by opEdit.
func newE2EWith(t *testing.T, opEdit func(*devoidc.Config), edits ...func(*Config)) *e2e {
	t.Helper()
	return newE2EOP(t, false, opEdit, edits...)
}

func newE2EOP(t *testing.T, tls bool, opEdit func(*devoidc.Config), edits ...func(*Config)) *e2e {
	t.Helper()
	start := httptest.NewServer
	if tls {
		start = httptest.NewTLSServer
	}
	opTS := start(nil)
	t.Cleanup(opTS.Close)
	appTS := start(nil)
	t.Cleanup(appTS.Close)
	appURL := appTS.URL
	opCfg := devoidc.Config{
		Issuer: opTS.URL,
		Clients: []devoidc.Client{{
			ID: "app", Secret: "app-secret",
			RedirectURIs:           []string{appURL + "/auth/callback/dev"},
			PostLogoutRedirectURIs: []string{appURL + "/auth/logout/callback"},
			BackchannelLogoutURI:   appURL + "/auth/backchannel-logout/dev",
		}},
		AutoLogin:  "ada",
		HTTPClient: appTS.Client(), // trusts the test certificate
		Logger:     scanLogger(t),
	}
	if opEdit != nil {
		opEdit(&opCfg)
	}
	op, err := devoidc.New(opCfg)
	if err != nil {
		t.Fatal(err)
	}
	opTS.Config.Handler = tapProvider(t, op)
	p, err := providers.OIDC(context.Background(), providers.OIDCConfig{
		Name: "dev", Issuer: opTS.URL, ClientID: "app", ClientSecret: "app-secret",
		HTTPClient: opTS.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	e := &e2e{t: t, logs: logs}
	cfg := Config{
		BaseURL:   appURL,
		Providers: []*providers.Provider{p},
		Keys:      [][]byte{[]byte("0123456789abcdef0123456789abcdef")},
		Logger:    logs.logger(),
	}
	for _, edit := range edits {
		edit(&cfg)
	}
	auth, err := newAuth(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("/private", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := UserFrom(r.Context())
		if !ok {
			t.Error("Require let a request through without a user")
			return
		}
		s, _ := SessionFrom(r.Context())
		e.secrets = append(e.secrets, s.Tokens.AccessToken, s.Tokens.RefreshToken, s.Tokens.IDToken, s.ID, u.Email)
		io.WriteString(w, "hello "+u.Name+" <"+u.Email+"> via "+u.Provider+" at "+r.URL.RequestURI())
	})))
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "home") })
	appTS.Config.Handler = mux
	jar, _ := cookiejar.New(nil)
	client := tapClient(t, auth, appTS.Client())
	client.Jar = jar
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	e.app, e.op, e.auth, e.client = appTS, op, auth, client
	return e
}

// do sends a request like a browser navigation and returns the response
// with its body read.
func (e *e2e) do(method, rawURL string, hdr map[string]string) (*http.Response, string) {
	e.t.Helper()
	if strings.HasPrefix(rawURL, "/") {
		rawURL = e.app.URL + rawURL
	}
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range resp.Cookies() {
		e.secrets = append(e.secrets, c.Value)
	}
	if q := resp.Request.URL.Query(); q.Get("code") != "" {
		e.secrets = append(e.secrets, q.Get("code"), q.Get("state"))
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// follow follows redirects from rawURL, across hosts, and returns the
// final response.
func (e *e2e) follow(rawURL string) (*http.Response, string) {
	e.t.Helper()
	for i := 0; i < 10; i++ {
		resp, body := e.do(http.MethodGet, rawURL, nil)
		if resp.StatusCode < 300 || resp.StatusCode > 399 {
			return resp, body
		}
		loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if err != nil {
			e.t.Fatal(err)
		}
		rawURL = loc.String()
	}
	e.t.Fatal("too many redirects")
	return nil, ""
}

func TestEndToEnd(t *testing.T) {
	for _, tls := range []bool{true, false} {
		name := map[bool]string{true: "https", false: "http-loopback"}[tls]
		t.Run(name, func(t *testing.T) {
			e := newE2E(t, tls)
			// 1. A protected page without a session redirects to sign in,
			// keeping the path.
			resp, _ := e.do(http.MethodGet, "/private?x=1&y=%2F%2Fnot-a-host", nil)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("protected page: status %d, want 303", resp.StatusCode)
			}
			loc := resp.Header.Get("Location")
			if loc != "/auth/login?return_to="+url.QueryEscape("/private?x=1&y=%2F%2Fnot-a-host") {
				t.Fatalf("protected page: Location %q", loc)
			}

			// 2. Login start: one provider, so straight to it, with a flow
			// cookie.
			resp, _ = e.do(http.MethodGet, loc, nil)
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("login: status %d", resp.StatusCode)
			}
			authz, _ := url.Parse(resp.Header.Get("Location"))
			q := authz.Query()
			for _, k := range []string{"state", "nonce", "code_challenge"} {
				if len(q.Get(k)) < 43 {
					t.Errorf("authorization request %s = %q, want ≥43 chars", k, q.Get(k))
				}
			}
			if q.Get("code_challenge_method") != "S256" || q.Get("response_type") != "code" ||
				q.Get("redirect_uri") != e.app.URL+"/auth/callback/dev" || !strings.Contains(q.Get("scope"), "openid") {
				t.Errorf("authorization request: %v", q)
			}
			if strings.Contains(authz.RawQuery, "private") {
				t.Error("the return path leaked into the authorization URL")
			}
			flowCookies := setCookies(resp)
			if len(flowCookies) != 1 || !strings.Contains(flowCookies[0].Name, "portcullis-flow.") {
				t.Fatalf("login set cookies %v, want one flow cookie", flowCookies)
			}
			checkCookieAttrs(t, flowCookies[0], tls)

			// 3. The provider (auto login) redirects to the callback, which
			// creates the session and returns to the original path.
			resp, _ = e.do(http.MethodGet, authz.String(), nil)
			cb := resp.Header.Get("Location")
			if !strings.HasPrefix(cb, e.app.URL+"/auth/callback/dev?") {
				t.Fatalf("provider redirected to %q", cb)
			}
			resp, _ = e.do(http.MethodGet, cb, nil)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/private?x=1&y=%2F%2Fnot-a-host" {
				t.Fatalf("callback: status %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("callback headers: %v", resp.Header)
			}
			var sessionSet, flowExpired bool
			for _, c := range setCookies(resp) {
				switch {
				case strings.Contains(c.Name, "portcullis-flow."):
					flowExpired = c.MaxAge < 0
				case c.Value != "":
					sessionSet = true
					checkCookieAttrs(t, c, tls)
				}
			}
			if !sessionSet || !flowExpired {
				t.Fatalf("callback cookies: session set %v, flow expired %v", sessionSet, flowExpired)
			}

			// 4. The protected page now shows the user.
			resp, body := e.do(http.MethodGet, "/private?x=1&y=%2F%2Fnot-a-host", nil)
			if resp.StatusCode != 200 || !strings.Contains(body, "hello Ada Lovelace <ada@example.com> via dev") {
				t.Fatalf("protected page after login: %d %q", resp.StatusCode, body)
			}

			// 5. /auth/userinfo as JSON.
			resp, body = e.do(http.MethodGet, "/auth/userinfo", map[string]string{"Accept": "application/json", "Sec-Fetch-Mode": "cors"})
			var ui map[string]any
			if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &ui) != nil || ui["sub"] != "ada" || ui["provider"] != "dev" {
				t.Fatalf("userinfo: %d %s", resp.StatusCode, body)
			}
			if strings.Contains(body, "eyJ") {
				t.Error("userinfo leaks a token")
			}

			// 6. A cross-origin POST does not sign out.
			resp, _ = e.do(http.MethodPost, "/auth/logout", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("cross-origin logout: status %d, want 403", resp.StatusCode)
			}
			if resp, _ := e.do(http.MethodGet, "/private", nil); resp.StatusCode != 200 {
				t.Fatalf("session gone after a refused cross-origin logout: %d", resp.StatusCode)
			}

			// 7. A same-origin POST signs out: every cookie of the session
			// expires, and the browser goes to the provider's end_session
			// endpoint (RP-initiated logout) with a fresh state.
			u, _ := url.Parse(e.app.URL)
			copied := e.client.Jar.Cookies(u)
			resp, _ = e.do(http.MethodPost, "/auth/logout?return_to=/", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": e.app.URL})
			end, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusSeeOther || end == nil || end.Path != "/end_session" {
				t.Fatalf("logout: status %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			eq := end.Query()
			if eq.Get("client_id") != "app" || eq.Get("post_logout_redirect_uri") != e.app.URL+"/auth/logout/callback" ||
				len(eq.Get("state")) != 43 || !strings.HasPrefix(eq.Get("id_token_hint"), "eyJ") || strings.Contains(end.RawQuery, "return_to") {
				t.Errorf("end_session request: %v", eq)
			}
			var logoutFlow bool
			for _, c := range setCookies(resp) {
				switch {
				case strings.Contains(c.Name, "portcullis-logout."):
					logoutFlow = c.MaxAge > 0
					checkCookieAttrs(t, c, tls)
				case c.MaxAge >= 0 || c.Value != "":
					t.Errorf("logout left cookie %s", c.Name)
				}
			}
			if !logoutFlow {
				t.Error("logout set no logout flow cookie")
			}
			// The provider ends its session and sends the browser back with
			// the state; the app redirects to return_to.
			resp, body = e.follow(end.String())
			if resp.StatusCode != 200 || body != "home" || resp.Request.URL.Path != "/" {
				t.Fatalf("after the provider's logout: %d %s %q", resp.StatusCode, resp.Request.URL, body)
			}
			// Browsers scope cookies by host, not port: the jar also holds
			// the provider's own cookies, which are not ours to clear.
			for _, c := range e.client.Jar.Cookies(u) {
				if !strings.HasPrefix(c.Name, "devoidc_") {
					t.Errorf("cookie %s left in the jar after logout", c.Name)
				}
			}
			if resp, _ := e.do(http.MethodGet, "/private", nil); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("protected page after logout: status %d, want 303", resp.StatusCode)
			}
			// A copy of the cookies taken before the logout no longer works.
			e.client.Jar.SetCookies(u, copied)
			if resp, _ := e.do(http.MethodGet, "/private", nil); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("copied cookie after logout: status %d, want 303", resp.StatusCode)
			}
			// The provider's token was revoked in the background.
			e.auth.background.Wait()
			if st := e.op.Stats(); st.Revocations != 1 {
				t.Errorf("provider revocations = %d, want 1", st.Revocations)
			}
			// A return from the provider with a wrong state triggers nothing.
			resp, body = e.do(http.MethodGet, "/auth/logout/callback?state=forged", nil)
			if resp.StatusCode != 200 || resp.Header.Get("Location") != "" || !strings.Contains(body, "You are signed out") {
				t.Fatalf("logout callback with a wrong state: %d %q", resp.StatusCode, resp.Header.Get("Location"))
			}

			// 8. The logs tell the story without a token, code, state,
			// cookie or claim (LK-01).
			logs := e.logs.String()
			for _, want := range []string{"event=login_started", "event=login ", "event=csrf_failed reason=cross_origin logout=local status=403", "event=logout provider=dev logout=local user=u_"} {
				if !strings.Contains(logs, want) {
					t.Errorf("logs lack %q:\n%s", want, logs)
				}
			}
			for _, s := range e.secrets {
				if len(s) >= 8 && strings.Contains(logs, s) {
					t.Errorf("logs contain a secret value %.12s…", s)
				}
			}
			if len(e.secrets) < 8 {
				t.Errorf("only %d secret values collected; the leak check is not looking", len(e.secrets))
			}
		})
	}
}

func setCookies(resp *http.Response) []*http.Cookie { return resp.Cookies() }

// checkCookieAttrs asserts the attributes every portcullis cookie has.
func checkCookieAttrs(t *testing.T, c *http.Cookie, tls bool) {
	t.Helper()
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" || c.Secure != tls {
		t.Errorf("cookie %s: HttpOnly %v SameSite %v Path %q Domain %q Secure %v", c.Name, c.HttpOnly, c.SameSite, c.Path, c.Domain, c.Secure)
	}
	if tls != strings.HasPrefix(c.Name, "__Host-") {
		t.Errorf("cookie %s: __Host- prefix should be used exactly when Secure", c.Name)
	}
	if len(c.String()) > 4096 {
		t.Errorf("cookie %s is %d bytes", c.Name, len(c.String()))
	}
}
