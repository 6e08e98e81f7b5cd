package devoidc

// This file holds the test provider used by the package's tests: a
// running Server on httptest with a cookie-jar browser that stops at
// redirects, and helpers for each step of the flow.

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

// Test fixtures. Generating RSA keys is slow, so the tests share one key
// unless they test keys.
const (
	testClientID    = "app"
	testSecret      = "app-secret"
	testRedirect    = "http://127.0.0.1:1/callback"
	testPostLogout  = "http://127.0.0.1:1/signed-out"
	otherClientID   = "other"
	otherSecret     = "other-secret"
	otherRedirect   = "http://127.0.0.1:2/callback"
	testScope       = "openid profile email"
	testNonce       = "n-0S6_WzA2Mj"
	testState       = "af0ifjsldkj"
	specialSecret   = "a:b%c+d/é"
	specialClientID = "spécial client"
)

var (
	sharedKeyOnce sync.Once
	sharedKey     *rsa.PrivateKey
)

func testKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	sharedKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		sharedKey = k
	})
	return sharedKey
}

func testClients() []Client {
	return []Client{
		{ID: testClientID, Secret: testSecret, RedirectURIs: []string{testRedirect}, PostLogoutRedirectURIs: []string{testPostLogout}},
		{ID: otherClientID, Secret: otherSecret, RedirectURIs: []string{otherRedirect}},
		{ID: specialClientID, Secret: specialSecret, RedirectURIs: []string{testRedirect}},
	}
}

// fakeClock is a settable clock for Server.now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// setup describes a test provider.
type setup struct {
	cfg   Config
	tls   bool
	path  string // issuer path, e.g. "/op"
	clock *fakeClock
	retry time.Duration // back-channel retry delay; zero: the default
}

// testOP is a running provider with a browser-like client: a cookie jar,
// and redirects not followed.
type testOP struct {
	t      *testing.T
	op     *Server
	srv    *httptest.Server
	client *http.Client
	clock  *fakeClock
}

func newTestOP(t *testing.T, opts ...func(*setup)) *testOP {
	t.Helper()
	st := &setup{cfg: Config{Clients: testClients(), AutoLogin: "ada", Key: testKey(t)}}
	for _, o := range opts {
		o(st)
	}
	ts := httptest.NewUnstartedServer(nil)
	scheme := "http"
	if st.tls {
		scheme = "https"
	}
	st.cfg.Issuer = scheme + "://" + ts.Listener.Addr().String() + st.path
	op, err := New(st.cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if st.clock != nil {
		op.now = st.clock.Now
	}
	if st.retry != 0 {
		op.bcRetry = st.retry
	}
	ts.Config.Handler = op
	if st.tls {
		ts.StartTLS()
	} else {
		ts.Start()
	}
	t.Cleanup(ts.Close)
	// Runs before ts.Close: no back-channel delivery outlives the test.
	t.Cleanup(op.bcPending.Wait)
	return &testOP{t: t, op: op, srv: ts, client: newBrowser(t, ts), clock: st.clock}
}

// newBrowser returns a client with its own cookie jar that does not follow
// redirects.
func newBrowser(t *testing.T, ts *httptest.Server) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Transport:     ts.Client().Transport,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func withManualLogin(st *setup) { st.cfg.AutoLogin = "" }
func withTLS(st *setup)         { st.tls = true }
func withPath(p string) func(*setup) {
	return func(st *setup) { st.path = p }
}
func withClock(st *setup) {
	st.clock = &fakeClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

// pkce returns a fresh code_verifier and its S256 challenge.
func pkce() (verifier, challenge string) {
	verifier = randomToken()
	return verifier, opkit.S256Challenge(verifier)
}

// authorizeQuery returns a valid authorization request with challenge;
// overrides replace parameters, and an empty override value deletes one.
func authorizeQuery(challenge string, overrides map[string]string) url.Values {
	q := url.Values{
		"client_id":             {testClientID},
		"redirect_uri":          {testRedirect},
		"response_type":         {"code"},
		"scope":                 {testScope},
		"state":                 {testState},
		"nonce":                 {testNonce},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
	}
	for k, v := range overrides {
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
	}
	return q
}

func (o *testOP) url(route string) string { return o.op.base + route }

func (o *testOP) do(req *http.Request) *http.Response {
	o.t.Helper()
	resp, err := o.client.Do(req)
	if err != nil {
		o.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	o.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (o *testOP) get(u string) *http.Response {
	o.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		o.t.Fatal(err)
	}
	return o.do(req)
}

// authorize sends an authorization request with the browser.
func (o *testOP) authorize(q url.Values) *http.Response {
	o.t.Helper()
	return o.get(o.url("/authorize") + "?" + q.Encode())
}

// redirectParams checks that resp redirects to prefix and returns the
// query of the Location.
func redirectParams(t *testing.T, resp *http.Response, prefix string) url.Values {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status = %d, want 303; body: %s", resp.StatusCode, b)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, prefix+"?") {
		t.Fatalf("Location = %q, want prefix %q", loc, prefix+"?")
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// code runs an authorization request with AutoLogin and returns the code
// and the verifier.
func (o *testOP) code(overrides map[string]string) (code, verifier string) {
	o.t.Helper()
	verifier, challenge := pkce()
	q := redirectParams(o.t, o.authorize(authorizeQuery(challenge, overrides)), testRedirect)
	if q.Get("code") == "" {
		o.t.Fatalf("no code in redirect: %v", q)
	}
	return q.Get("code"), verifier
}

// postForm posts form to route, authenticating as id:secret with HTTP
// Basic (form-urlencoded first, RFC 6749 §2.3.1) unless id is empty.
func (o *testOP) postForm(route string, form url.Values, id, secret string) (*http.Response, map[string]any) {
	o.t.Helper()
	req, err := http.NewRequest(http.MethodPost, o.url(route), strings.NewReader(form.Encode()))
	if err != nil {
		o.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp := o.do(req)
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		o.t.Fatal(err)
	}
	var m map[string]any
	if len(body) > 0 {
		if err := json.Unmarshal(body, &m); err != nil {
			o.t.Fatalf("%s: body is not JSON: %q", route, body)
		}
	}
	return resp, m
}

// exchange redeems code as the test client.
func (o *testOP) exchange(code, verifier string) (*http.Response, map[string]any) {
	o.t.Helper()
	return o.postForm("/token", url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {testRedirect},
		"code_verifier": {verifier},
	}, testClientID, testSecret)
}

// tokens runs the whole flow and returns the token response.
func (o *testOP) tokens() map[string]any {
	o.t.Helper()
	resp, m := o.exchange(o.code(nil))
	if resp.StatusCode != http.StatusOK {
		o.t.Fatalf("exchange: status %d: %v", resp.StatusCode, m)
	}
	return m
}

func (o *testOP) refresh(rt string) (*http.Response, map[string]any) {
	o.t.Helper()
	return o.postForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, testClientID, testSecret)
}

// userinfo returns the status of a userinfo request with the access token.
func (o *testOP) userinfo(at string) (*http.Response, map[string]any) {
	o.t.Helper()
	req, err := http.NewRequest(http.MethodGet, o.url("/userinfo"), nil)
	if err != nil {
		o.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+at)
	resp := o.do(req)
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp, m
}

// wantOAuthError checks an RFC 6749 §5.2 error response.
func wantOAuthError(t *testing.T, resp *http.Response, m map[string]any, status int, code string) {
	t.Helper()
	if resp.StatusCode != status || m["error"] != code {
		t.Fatalf("got %d %v, want %d error=%s", resp.StatusCode, m, status, code)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// codeFor runs an authorization request for clientID with the challenge of
// verifier and returns the code.
func (o *testOP) codeFor(clientID, verifier string) string {
	o.t.Helper()
	q := redirectParams(o.t, o.authorize(authorizeQuery(opkit.S256Challenge(verifier), map[string]string{"client_id": clientID})), testRedirect)
	return q.Get("code")
}

func decodeJSON(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("response body is not JSON: %v", err)
	}
}
