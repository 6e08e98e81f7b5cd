package middleware

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/fakeapple"
	"github.com/portcullis-go/portcullis/providers"
)

// appleEnv is an application with two providers, Sign in with Apple
// (against internal/fakeapple) and a devoidc one, and a way to make
// browsers for it.
type appleEnv struct {
	t       *testing.T
	apple   *fakeapple.Server
	app     *httptest.Server
	auth    *Auth
	reasons *reasonLog
}

// reasonLog keeps the reasons of the login failures Auth reports.
type reasonLog struct {
	mu sync.Mutex
	rs []string
}

func (l *reasonLog) Observe(_ context.Context, e Event) {
	if e.Kind == EventLogin || e.Kind == EventLoginStarted {
		return
	}
	l.mu.Lock()
	l.rs = append(l.rs, e.Reason)
	l.mu.Unlock()
}

func (l *reasonLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.rs...)
}

func newAppleEnv(t *testing.T, cfg fakeapple.Config, key []byte) *appleEnv {
	t.Helper()
	appTS := httptest.NewServer(nil)
	t.Cleanup(appTS.Close)
	cfg.RedirectURIs = []string{appTS.URL + "/auth/callback/apple"}
	fa := fakeapple.New(cfg)
	t.Cleanup(fa.Close)
	if key == nil {
		key = fa.PrivateKeyPEM()
	}
	apple, err := providers.Apple(context.Background(), providers.AppleConfig{
		TeamID: fakeapple.TeamID, ClientID: fakeapple.ServicesID, KeyID: fakeapple.KeyID,
		PrivateKey: key, Authority: fa.URL, HTTPClient: fa.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	reasons := &reasonLog{}
	auth, err := newAuth(t, Config{
		BaseURL:   appTS.URL,
		Providers: []*providers.Provider{apple, devProvider(t, "dev", appTS.URL)},
		Keys:      [][]byte{testKey},
		Observer:  reasons,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("/private", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := UserFrom(r.Context())
		io.WriteString(w, "name="+u.Name+" email="+u.Email+" sub="+u.Subject)
	})))
	appTS.Config.Handler = mux
	return &appleEnv{t: t, apple: fa, app: appTS, auth: auth, reasons: reasons}
}

// browser returns a client with its own cookie jar that follows no
// redirects.
func (e *appleEnv) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := tapClient(e.t, e.auth, &http.Client{Jar: jar})
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

func send(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func fetch(t *testing.T, c *http.Client, target string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, target, nil)
	return send(t, c, req)
}

// postForm posts form to target as the provider's page does: a cross-site
// form submission from the provider's origin.
func (e *appleEnv) postForm(c *http.Client, target string, form url.Values) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.apple.URL)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	return send(e.t, c, req)
}

// startLogin starts a login with provider in browser c and returns the
// response and the flow cookie's Set-Cookie line.
func (e *appleEnv) startLogin(c *http.Client, provider string) (*http.Response, string) {
	e.t.Helper()
	resp, _ := fetch(e.t, c, e.app.URL+"/auth/login/"+provider+"?return_to=/private")
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("login: status %d", resp.StatusCode)
	}
	for _, line := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(line, "portcullis-flow.") {
			return resp, line
		}
	}
	e.t.Fatalf("login set no flow cookie: %q", resp.Header.Values("Set-Cookie"))
	return nil, ""
}

// authorize starts an Apple login in browser c and returns the form
// Apple's page would post, and where.
func (e *appleEnv) authorize(c *http.Client) (string, url.Values) {
	e.t.Helper()
	resp, _ := e.startLogin(c, "apple")
	page, err := e.apple.Client().Get(resp.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer page.Body.Close()
	body, _ := io.ReadAll(page.Body)
	action, form, err := fakeapple.ParseFormPost(body)
	if err != nil {
		e.t.Fatalf("%v: %s", err, body)
	}
	return action, form
}

func sessionSet(resp *http.Response) bool {
	for _, c := range resp.Cookies() {
		if strings.HasPrefix(c.Name, "portcullis") && !strings.Contains(c.Name, "-flow.") && c.Value != "" {
			return true
		}
	}
	return false
}

// TestFormPostSignIn: a Sign in with Apple login completes through the
// cross-site form POST, with a SameSite=None flow cookie, a 303 to the
// return path, the name from the first authorization's "user" field and
// the email from the ID token (email_verified the string "true"); the
// second sign-in has no "user", so no name.
func TestFormPostSignIn(t *testing.T) {
	e := newAppleEnv(t, fakeapple.Config{}, nil)
	for i, want := range []string{
		"name=Ada Lovelace email=x7k2m9p4qz@privaterelay.appleid.com sub=001234.0a1b2c3d4e5f.1234",
		"name= email=x7k2m9p4qz@privaterelay.appleid.com sub=001234.0a1b2c3d4e5f.1234",
	} {
		c := e.browser()
		action, form := e.authorize(c)
		if action != e.app.URL+"/auth/callback/apple" || form.Has("user") != (i == 0) {
			t.Fatalf("sign-in %d: Apple posts %v to %s", i+1, form, action)
		}
		resp, body := e.postForm(c, action, form)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/private" {
			t.Fatalf("sign-in %d: callback status %d, Location %q: %s", i+1, resp.StatusCode, resp.Header.Get("Location"), body)
		}
		if !sessionSet(resp) {
			t.Fatalf("sign-in %d: no session cookie", i+1)
		}
		resp, body = fetch(t, c, e.app.URL+"/private")
		if resp.StatusCode != http.StatusOK || body != want {
			t.Errorf("sign-in %d: /private %d %q, want %q", i+1, resp.StatusCode, body, want)
		}
	}
	if n := len(e.apple.Requests(fakeapple.PathToken)); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}
}

// TestFormPostFlowCookie: the flow cookie of a form_post provider is
// SameSite=None; Secure; HttpOnly (even on http loopback), every other
// provider's stays Lax.
func TestFormPostFlowCookie(t *testing.T) {
	e := newAppleEnv(t, fakeapple.Config{}, nil)
	for _, tc := range []struct {
		provider string
		want     []string
		not      []string
	}{
		{"apple", []string{"SameSite=None", "Secure", "HttpOnly", "Path=/", "Max-Age=600"}, []string{"SameSite=Lax"}},
		{"dev", []string{"SameSite=Lax", "HttpOnly"}, []string{"SameSite=None", "Secure"}},
	} {
		_, line := e.startLogin(e.browser(), tc.provider)
		for _, w := range tc.want {
			if !strings.Contains(line, "; "+w) {
				t.Errorf("%s flow cookie %q lacks %s", tc.provider, line, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(line, "; "+n) {
				t.Errorf("%s flow cookie %q has %s", tc.provider, line, n)
			}
		}
	}
	// The expiry the callback writes has the same attributes.
	c := e.browser()
	action, form := e.authorize(c)
	resp, _ := e.postForm(c, action, form)
	var expiry string
	for _, line := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(line, "portcullis-flow.") {
			expiry = line
		}
	}
	if !strings.Contains(expiry, "Max-Age=0") || !strings.Contains(expiry, "SameSite=None") || !strings.Contains(expiry, "Secure") {
		t.Errorf("flow cookie expiry %q", expiry)
	}
}

// TestFormPostRefused: each callback that must fail fails cleanly: 4xx,
// no session, and the token endpoint called only where the check is the
// provider's.
func TestFormPostRefused(t *testing.T) {
	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		cfg     fakeapple.Config
		key     []byte
		send    func(e *appleEnv, c *http.Client, action string, form url.Values) *http.Response
		status  int
		reason  string // the login failure's reason; "" for none logged
		tokens  int    // token requests the fake gets
		refusal string // the fake's reason for refusing the client secret
	}{
		{"GET callback", fakeapple.Config{}, nil, func(e *appleEnv, c *http.Client, action string, form url.Values) *http.Response {
			resp, _ := fetch(t, c, action+"?"+form.Encode())
			if resp.Header.Get("Allow") != "POST" {
				t.Errorf("Allow %q", resp.Header.Get("Allow"))
			}
			return resp
		}, http.StatusMethodNotAllowed, "", 0, ""},
		{"replayed POST", fakeapple.Config{}, nil, func(e *appleEnv, c *http.Client, action string, form url.Values) *http.Response {
			// The replay carries the flow cookie the first POST expired,
			// as a second tab or an HTTP retry would have sent it.
			flow := c.Jar.Cookies(mustURL(action))
			if resp, _ := e.postForm(c, action, form); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("first POST: status %d", resp.StatusCode)
			}
			replay := e.browser()
			replay.Jar.SetCookies(mustURL(action), flow)
			resp, _ := e.postForm(replay, action, form)
			return resp
		}, http.StatusBadRequest, "state_reused", 1, ""},
		{"foreign state", fakeapple.Config{}, nil, func(e *appleEnv, c *http.Client, action string, form url.Values) *http.Response {
			// The victim has a flow of their own; the attacker's code and
			// state are posted into the victim's browser.
			victim := e.browser()
			e.startLogin(victim, "apple")
			resp, _ := e.postForm(victim, action, form)
			return resp
		}, http.StatusBadRequest, "state_mismatch", 0, ""},
		{"query on the POST", fakeapple.Config{}, nil, func(e *appleEnv, c *http.Client, action string, form url.Values) *http.Response {
			resp, _ := e.postForm(c, action+"?state="+url.QueryEscape(form.Get("state")), form)
			return resp
		}, http.StatusBadRequest, "form_post_with_query", 0, ""},
		{"not a form", fakeapple.Config{}, nil, func(e *appleEnv, c *http.Client, action string, form url.Values) *http.Response {
			req, _ := http.NewRequest(http.MethodPost, action, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "text/plain")
			resp, _ := send(t, c, req)
			return resp
		}, http.StatusBadRequest, "form_post_content_type", 0, ""},
		{"form too large", fakeapple.Config{}, nil, func(e *appleEnv, c *http.Client, action string, form url.Values) *http.Response {
			form.Set("pad", strings.Repeat("x", maxCallbackQuery))
			resp, _ := e.postForm(c, action, form)
			return resp
		}, http.StatusBadRequest, "form_too_large", 0, ""},
		{"client secret wrongly signed", fakeapple.Config{}, fakeapple.KeyPEM(otherKey), nil, http.StatusUnauthorized, "code_exchange_refused", 1, "signature"},
		{"client secret expired", fakeapple.Config{Clock: func() time.Time { return time.Now().Add(2 * time.Hour) }}, nil, nil, http.StatusUnauthorized, "code_exchange_refused", 1, "expired"},
		{"user cancelled", fakeapple.Config{Deny: true}, nil, nil, http.StatusUnauthorized, "provider_error", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newAppleEnv(t, tc.cfg, tc.key)
			c := e.browser()
			action, form := e.authorize(c)
			var resp *http.Response
			if tc.send != nil {
				resp = tc.send(e, c, action, form)
			} else {
				resp, _ = e.postForm(c, action, form)
			}
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if sessionSet(resp) {
				t.Error("a session cookie was set")
			}
			if n := len(e.apple.Requests(fakeapple.PathToken)); n != tc.tokens {
				t.Errorf("%d token requests, want %d", n, tc.tokens)
			}
			if got := e.reasons.all(); tc.reason != "" && (len(got) != 1 || got[0] != tc.reason) || tc.reason == "" && len(got) > 0 {
				t.Errorf("login failures %q, want [%s]", got, tc.reason)
			}
			if got := e.apple.Refusals(); tc.refusal != "" && (len(got) != 1 || got[0] != tc.refusal) || tc.refusal == "" && len(got) > 0 {
				t.Errorf("client secret refusals %v, want [%s]", got, tc.refusal)
			}
		})
	}
}

// TestFormPostMethods: the callback of a form_post provider takes POST
// only, every other provider's GET only; HEAD gets the same Allow.
// Nothing of the request is read: no flow is spent.
func TestFormPostMethods(t *testing.T) {
	e := newAppleEnv(t, fakeapple.Config{}, nil)
	for _, tc := range []struct{ method, provider, allow string }{
		{http.MethodGet, "apple", "POST"},
		{http.MethodHead, "apple", "POST"},
		{http.MethodPost, "dev", "GET"},
		{http.MethodHead, "dev", "GET"},
		{http.MethodPost, "nobody", "GET"},
	} {
		req, _ := http.NewRequest(tc.method, e.app.URL+"/auth/callback/"+tc.provider, strings.NewReader("state=x&code=y"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, _ := send(t, e.browser(), req)
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: status %d, Allow %q; want 405, %s", tc.method, tc.provider, resp.StatusCode, resp.Header.Get("Allow"), tc.allow)
		}
	}
	// A GET with the right state spends nothing: the POST still works.
	c := e.browser()
	action, form := e.authorize(c)
	if resp, _ := fetch(t, c, action+"?"+form.Encode()); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: status %d", resp.StatusCode)
	}
	if resp, _ := e.postForm(c, action, form); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("POST after a refused GET: status %d", resp.StatusCode)
	}
}

func TestParseFormPost(t *testing.T) {
	for _, tc := range []struct {
		ct, body, reason string
	}{
		{"application/x-www-form-urlencoded", "state=a&code=b", ""},
		{"application/x-www-form-urlencoded; charset=UTF-8", "state=a", ""},
		{"Application/X-WWW-Form-Urlencoded", "state=a", ""},
		{"", "state=a", "form_post_content_type"},
		{"multipart/form-data; boundary=x", "state=a", "form_post_content_type"},
		{"application/json", `{"state":"a"}`, "form_post_content_type"},
		{"application/x-www-form-urlencoded", "state=%zz", "malformed_form"},
		{"application/x-www-form-urlencoded", "a=" + strings.Repeat("x", maxCallbackQuery-2), ""},
		{"application/x-www-form-urlencoded", "a=" + strings.Repeat("x", maxCallbackQuery-1), "form_too_large"},
	} {
		q, err := parseFormPost(tc.ct, strings.NewReader(tc.body))
		if got := reasonOf(err); err != nil && got != tc.reason || err == nil && tc.reason != "" {
			t.Errorf("parseFormPost(%q, %.20q) = %v, want reason %q", tc.ct, tc.body, err, tc.reason)
		}
		if err == nil && len(q) == 0 {
			t.Errorf("parseFormPost(%q, %.20q): no parameters", tc.ct, tc.body)
		}
	}
}

// FuzzParseFormPost: the form callback's parser never panics, refuses
// bodies over the bound, and what it accepts is the body's form.
func FuzzParseFormPost(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", []byte("state=a&code=b&user=%7B%22name%22%3A%7B%7D%7D"))
	f.Add("application/x-www-form-urlencoded; charset=utf-8", []byte("state=a;b"))
	f.Add("text/plain", []byte("state=a"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		q, err := parseFormPost(ct, strings.NewReader(string(body)))
		if err != nil {
			if Status(err) != http.StatusBadRequest {
				t.Fatalf("error %v is not a 400", err)
			}
			return
		}
		if len(body) > maxCallbackQuery {
			t.Fatalf("accepted a body of %d bytes", len(body))
		}
		want, err := url.ParseQuery(string(body))
		if err != nil || want.Encode() != q.Encode() {
			t.Fatalf("parsed %v, the body is %v (%v)", q, want, err)
		}
	})
}

// TestFormPostCrossOriginProtection: an application that wraps everything
// in http.CrossOriginProtection refuses Apple's cross-site POST unless it
// bypasses the callback, as doc.go says; with the bypass the login works.
func TestFormPostCrossOriginProtection(t *testing.T) {
	for _, bypass := range []bool{false, true} {
		e := newAppleEnv(t, fakeapple.Config{}, nil)
		cop := http.NewCrossOriginProtection()
		if bypass {
			cop.AddInsecureBypassPattern("POST /auth/callback/apple")
		}
		e.app.Config.Handler = cop.Handler(e.app.Config.Handler)
		c := e.browser()
		action, form := e.authorize(c)
		resp, _ := e.postForm(c, action, form)
		if want := map[bool]int{false: http.StatusForbidden, true: http.StatusSeeOther}[bypass]; resp.StatusCode != want {
			t.Errorf("bypass %v: status %d, want %d", bypass, resp.StatusCode, want)
		}
	}
}
