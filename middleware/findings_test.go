package middleware

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/oidctest"
	"github.com/portcullis-go/portcullis/providers"
)

// The tests of the review findings of "Harden and consolidate" that are
// about the middleware's HTTP behaviour, each named after its finding.

// TestRefresh429Or4xxWithoutOAuthErrorKeepsSession: a rate limit or a
// firewall's page at refresh is transient: the session and its valid
// token are kept, and Retry-After holds the next attempt back.
func TestRefresh429Or4xxWithoutOAuthErrorKeepsSession(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     int
		ctype      string
		body       string
		retryAfter string
	}{
		{"429 with Retry-After", http.StatusTooManyRequests, "application/json", `{"error":"slow_down"}`, "120"},
		{"403 HTML from a firewall", http.StatusForbidden, "text/html", `<html>blocked</html>`, ""},
		{"400 without an OAuth error", http.StatusBadRequest, "text/html", `<html>bad gateway config</html>`, ""},
		{"503 temporarily_unavailable", http.StatusServiceUnavailable, "application/json", `{"error":"temporarily_unavailable"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lt, cookies, h := refreshFixture(t, loginOptions{})
			old := originalToken(t, h, cookies)
			lt.op.TokenResponse = func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Content-Type", tc.ctype)
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
				return true
			}
			calls := func() int { return len(lt.op.Requests(oidctest.PathToken)) }
			before := calls()
			later(lt.auth, dueButValid)
			rec := call(h, cookies, nil)
			if rec.Code != 200 || rec.Body.String() != old || sessionCleared(rec) {
				t.Fatalf("status %d, same token %v, session cleared %v: a transient answer ended the session", rec.Code, rec.Body.String() == old, sessionCleared(rec))
			}
			if calls()-before != 1 {
				t.Fatalf("%d token calls, want 1", calls()-before)
			}
			if tc.retryAfter != "" {
				// Past the backoff's first step (1 s) but within the 120 s
				// the provider asked for: no call.
				later(lt.auth, dueButValid+20*time.Second)
				if rec := call(h, cookies, nil); rec.Code != 200 || calls()-before != 1 {
					t.Fatalf("within Retry-After: status %d, %d token calls", rec.Code, calls()-before)
				}
			}
		})
	}
}

// TestCallbackTemporarilyUnavailableIs502: the code exchange and refresh
// classify token endpoint errors alike: temporarily_unavailable at login
// is "try again" (502), not a failed login (401); so is the authorization
// endpoint's own temporarily_unavailable.
func TestCallbackTemporarilyUnavailableIs502(t *testing.T) {
	t.Run("token endpoint", func(t *testing.T) {
		lt := newLoginTest(t, loginOptions{})
		cb := lt.start("a")
		lt.op.TokenResponse = func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"temporarily_unavailable"}`)
			return true
		}
		if r := lt.get(cb.String()); r.StatusCode != http.StatusBadGateway {
			t.Fatalf("status %d, want 502", r.StatusCode)
		}
		if !errors.Is(lt.lastErr(), ErrProviderUnavailable) {
			t.Fatalf("error %v, want ErrProviderUnavailable", lt.lastErr())
		}
	})
	t.Run("authorization endpoint", func(t *testing.T) {
		lt := newLoginTest(t, loginOptions{})
		lt.op.Authorize = func(q url.Values) url.Values {
			q.Del("code")
			q.Set("error", "temporarily_unavailable")
			q.Set("error_description", "<b>busy</b>")
			return q
		}
		cb := lt.start("a")
		if r := lt.get(cb.String()); r.StatusCode != http.StatusBadGateway || strings.Contains(r.body, "<b>busy") {
			t.Fatalf("status %d, want 502 without the description", r.StatusCode)
		}
		var pe *providers.Error
		if !errors.As(lt.lastErr(), &pe) || pe.Code != "temporarily_unavailable" {
			t.Fatalf("the ErrorHandler's error %v does not carry the provider's error", lt.lastErr())
		}
		if !strings.Contains(lt.logs.String(), "error=temporarily_unavailable") || strings.Contains(lt.logs.String(), "busy") {
			t.Fatalf("log should name the RFC error code and never the description:\n%s", lt.logs)
		}
	})
}

// TestClientDoesNotLeakTokenAcrossRedirects: Auth.Client sends the user's
// token only to the origin the request went to; a redirect elsewhere is
// followed without it; the client is bounded in time and size.
func TestClientDoesNotLeakTokenAcrossRedirects(t *testing.T) {
	lt, cookies, _ := refreshFixture(t, loginOptions{})
	seen := map[string]string{}
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lt.mu.Lock()
		seen["other"+r.URL.Path] = r.Header.Get("Authorization")
		lt.mu.Unlock()
		io.WriteString(w, "ok")
	}))
	defer other.Close()
	var api *httptest.Server
	api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lt.mu.Lock()
		seen["api"+r.URL.Path] = r.Header.Get("Authorization")
		lt.mu.Unlock()
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/landed", http.StatusFound)
		case "/here":
			http.Redirect(w, r, api.URL+"/landed", http.StatusFound)
		case "/big":
			w.Write(make([]byte, 2<<20))
		default:
			io.WriteString(w, "ok")
		}
	}))
	defer api.Close()
	var bigErr error
	h := lt.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := lt.auth.Client(r)
		if c.Timeout == 0 {
			t.Error("Client has no timeout")
		}
		for _, p := range []string{"/away", "/here"} {
			resp, err := c.Get(api.URL + p)
			if err != nil {
				t.Errorf("GET %s: %v", p, err)
				continue
			}
			resp.Body.Close()
		}
		resp, err := c.Get(api.URL + "/big")
		if err == nil {
			_, bigErr = io.ReadAll(resp.Body)
			resp.Body.Close()
		} else {
			bigErr = err
		}
	}))
	call(h, cookies, nil)
	if !strings.HasPrefix(seen["api/away"], "Bearer ") || !strings.HasPrefix(seen["api/here"], "Bearer ") {
		t.Fatalf("the API did not get the token: %q", seen)
	}
	if got := seen["other/landed"]; got != "" {
		t.Fatalf("a cross-origin redirect target received Authorization %q", got)
	}
	if !strings.HasPrefix(seen["api/landed"], "Bearer ") {
		t.Fatal("a same-origin redirect lost the token")
	}
	if bigErr == nil {
		t.Fatal("a 2 MiB API response was read in full: no size cap")
	}
}

// TestConcurrentCallbacksRedeemCodeOnce: two requests of one callback that
// both carry its flow cookie (a reload, an HTTP/2 retry) redeem the code
// once; the second is refused before reaching the token endpoint.
func TestConcurrentCallbacksRedeemCodeOnce(t *testing.T) {
	lt := newLoginTest(t, loginOptions{})
	cb := lt.start("a")
	flows := lt.flowCookies()
	send := func() int {
		req, _ := http.NewRequest(http.MethodGet, cb.String(), nil)
		for _, c := range flows {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := send(); code != http.StatusSeeOther {
		t.Fatalf("first callback: %d", code)
	}
	if code := send(); code != http.StatusBadRequest {
		t.Fatalf("second callback with the same flow cookie: %d, want 400", code)
	}
	if n := len(lt.op.Requests(oidctest.PathToken)); n != 1 {
		t.Fatalf("token endpoint called %d times for one code", n)
	}
	if !strings.Contains(lt.logs.String(), "reason=state_reused") {
		t.Fatalf("the replay is not logged as such:\n%s", lt.logs)
	}
}

// TestSessionBoundToIssuer: a session belongs to the issuer that made it.
// Pointing the provider's name at another issuer ends old sessions, and
// their refresh tokens never reach the new issuer.
func TestSessionBoundToIssuer(t *testing.T) {
	lt, cookies, _ := refreshFixture(t, loginOptions{})
	other := scanOIDCTest(t, oidctest.New(t))
	p, err := providers.OIDC(context.Background(), providers.OIDCConfig{
		Name: "a", Issuer: other.URL, ClientID: oidctest.ClientID, ClientSecret: oidctest.ClientSecret,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{BaseURL: lt.app.URL, Providers: []*providers.Provider{p}, Keys: lt.auth.s.Keys}
	moved, err := newAuth(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	later(moved, dueButValid) // a refresh would be due
	h := moved.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "private") }))
	if rec := call(h, cookies, nil); rec.Code != http.StatusUnauthorized {
		t.Fatalf("a session of the old issuer: status %d, want 401", rec.Code)
	}
	if n := len(other.Requests(oidctest.PathToken)); n != 0 {
		t.Fatalf("the old session's refresh token was sent to the new issuer (%d token requests)", n)
	}
}

// TestFlowCookiesBoundedByBytes: many logins with long return paths keep
// the flow cookies under 4 KiB of Cookie header, and the newest flow can
// still complete.
func TestFlowCookiesBoundedByBytes(t *testing.T) {
	lt := newLoginTest(t, loginOptions{})
	long := "/" + strings.Repeat("p", maxFlowReturnTo-1)
	for range 20 {
		r := lt.get(lt.app.URL + "/auth/login/a?return_to=" + url.QueryEscape(long))
		if r.StatusCode != http.StatusFound {
			t.Fatalf("login start: %d", r.StatusCode)
		}
		total := 0
		for _, c := range lt.flowCookies() {
			total += cookieBytes(c.Name, c.Value)
		}
		if total > maxFlowBytes {
			t.Fatalf("flow cookies take %d bytes of the Cookie header, more than %d", total, maxFlowBytes)
		}
	}
	n := len(lt.flowCookies())
	if n < 2 {
		t.Fatalf("only %d flow cookie kept", n)
	}
	t.Logf("%d flows with %d-byte return paths kept", n, len(long))
	cb := lt.start("a")
	if r := lt.get(cb.String()); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the newest flow did not complete: %d", r.StatusCode)
	}
}

// TestFailedCallbackExpiresOnlyItsFlow: a junk callback from any page
// cancels no sign-in in progress; a failed callback expires its own flow
// only.
func TestFailedCallbackExpiresOnlyItsFlow(t *testing.T) {
	lt := newLoginTest(t, loginOptions{})
	cb1 := lt.start("a")
	cb2 := lt.start("a")
	if n := len(lt.flowCookies()); n != 2 {
		t.Fatalf("%d flow cookies, want 2", n)
	}
	r := lt.get(lt.app.URL + "/auth/callback/a?state=junk&code=x")
	if r.StatusCode != http.StatusBadRequest {
		t.Fatalf("junk callback: %d", r.StatusCode)
	}
	if n := len(lt.flowCookies()); n != 2 {
		t.Fatalf("a junk callback expired flow cookies: %d left", n)
	}
	bad := *cb1
	q := bad.Query()
	q.Set("code", "wrong")
	bad.RawQuery = q.Encode()
	if r := lt.get(bad.String()); r.StatusCode < 400 {
		t.Fatalf("callback with a wrong code: %d", r.StatusCode)
	}
	if n := len(lt.flowCookies()); n != 1 {
		t.Fatalf("after a failed callback %d flow cookies are left, want the other tab's one", n)
	}
	if r := lt.get(cb2.String()); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the other tab's sign-in: %d", r.StatusCode)
	}
}

// TestRefreshedCookieResponseIsPrivate: a response that carries a
// refreshed session cookie is never stored by a shared cache.
func TestRefreshedCookieResponseIsPrivate(t *testing.T) {
	lt, cookies, _ := refreshFixture(t, loginOptions{})
	for _, cc := range []string{"", "public, max-age=60", "max-age=60, s-maxage=300"} {
		h := lt.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if cc != "" {
				w.Header().Set("Cache-Control", cc)
			}
			io.WriteString(w, "page")
		}))
		lt.auth.refresher = newRefresher(time.Second, lt.auth.now, nil)
		later(lt.auth, dueButValid)
		rec := call(h, cookies, nil)
		if len(rec.Result().Cookies()) == 0 {
			t.Fatalf("Cache-Control %q: no refreshed cookie", cc)
		}
		got := rec.Header().Get("Cache-Control")
		if !strings.Contains(got, "private") || strings.Contains(got, "public") {
			t.Errorf("Cache-Control %q became %q: a shared cache may store the cookie", cc, got)
		}
		if !strings.Contains(strings.Join(rec.Header().Values("Vary"), ","), "Cookie") {
			t.Errorf("Cache-Control %q: no Vary: Cookie", cc)
		}
		cookies = rec.Result().Cookies()
	}
	// Without a cookie to write, the application's headers are its own.
	h := lt.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
	}))
	later(lt.auth, 0)
	if rec := call(h, cookies, nil); rec.Header().Get("Cache-Control") != "public, max-age=60" || len(rec.Header().Values("Vary")) != 0 {
		t.Errorf("a response without Set-Cookie was changed: %v", rec.Header())
	}
}

// TestCallbackLogsOnlyConfiguredProviderName: the provider path segment of
// a callback is the requester's choice; it is logged only when it names a
// configured provider.
func TestCallbackLogsOnlyConfiguredProviderName(t *testing.T) {
	lt := newLoginTest(t, loginOptions{})
	junk := strings.Repeat("x", 5000)
	if r := lt.get(lt.app.URL + "/auth/callback/" + junk + "?state=s&code=c"); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", r.StatusCode)
	}
	if strings.Contains(lt.logs.String(), "xxxxxxxx") {
		t.Fatalf("an unknown provider name reached the log:\n%.300s", lt.logs)
	}
	if r := lt.get(lt.app.URL + "/auth/callback/a?state=s&code=c"); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", r.StatusCode)
	}
	if !strings.Contains(lt.logs.String(), "provider=a") {
		t.Fatalf("a configured provider's name is not logged:\n%s", lt.logs)
	}
}

// TestUnknownAuthPathIs404: an unknown endpoint under PathPrefix is 404
// (and a known one with a wrong method 405), not "this sign-in link is not
// valid".
func TestUnknownAuthPathIs404(t *testing.T) {
	a := newTestAuth(t)
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/auth/nothing", 404},
		{"GET", "/auth/", 404},
		{"GET", "/auth/login/dev/extra", 404},
		{"PUT", "/auth/logout", 405},
		{"DELETE", "/auth/userinfo", 405},
	} {
		rec := serve(a.Handler(), tc.method, tc.path, map[string]string{"Accept": "application/json"})
		if rec.Code != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, rec.Code, tc.want)
		}
	}
}

// TestLogoutPageAllowsEndSessionRedirect: the sign-out form's POST
// redirects to the provider's end_session_endpoint, and browsers apply
// the page's form-action to that redirect too: the provider's origin is
// allowed beside 'self', and nothing else is.
func TestLogoutPageAllowsEndSessionRedirect(t *testing.T) {
	e := newE2E(t, false)
	resp, _ := e.do("GET", e.app.URL+"/auth/logout", nil)
	csp := resp.Header.Get("Content-Security-Policy")
	op, _ := url.Parse(e.auth.s.Providers[0].Issuer())
	if !strings.Contains(csp, "form-action 'self' "+op.Scheme+"://"+op.Host+";") || !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("logout page CSP %q does not allow the end-session origin", csp)
	}
	if resp, _ := e.do("GET", e.app.URL+"/auth/nothing", nil); strings.Contains(resp.Header.Get("Content-Security-Policy"), op.Host) {
		t.Fatal("other pages allow the provider as a form target")
	}
}
