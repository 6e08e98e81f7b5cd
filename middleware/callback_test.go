package middleware

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/oidctest"
	"github.com/portcullis-go/portcullis/providers"
)

// The negative test table of SECURITY.md §1.2–1.4 (CB, TK, IDT, UI), run end
// to end: browser (cookie jar, no automatic redirects) → /auth/login/{p} →
// the mock provider's authorization endpoint → /auth/callback/{p}.

const xss = "<script>alert(1)</script>"

// loginOptions configures a loginTest.
type loginOptions struct {
	op             []oidctest.Option // options of every provider's server
	two            bool              // also configure provider "b"
	userInfo       bool              // OIDCConfig.UserInfo
	extraAudiences []string          // OIDCConfig.ExtraAudiences
	keepClaims     []string          // OIDCConfig.KeepClaims
	timeout        time.Duration     // the provider HTTP client's Timeout
	config         func(*Config)     // edits the Auth's Config
}

// loginTest is an application using Auth with one or two providers ("a",
// "b"), each a mock provider, and a browser.
type loginTest struct {
	t      *testing.T
	op     *oidctest.Server            // provider "a"
	ops    map[string]*oidctest.Server // every provider by name
	auth   *Auth
	app    *httptest.Server
	appURL *url.URL
	jar    *cookiejar.Jar
	client *http.Client
	logs   *logBuffer
	events *eventRecorder   // every event of auth
	mark   int              // the events before the last request (get)
	evil   *httptest.Server // "evil.example"; nil unless a case starts one
	evilN  int              // requests evil received
	extra  []string         // further values a response must not reveal
	mu     sync.Mutex
	errs   []error // every error given to the ErrorHandler
}

func newLoginTest(t *testing.T, o loginOptions) *loginTest {
	t.Helper()
	lt := &loginTest{t: t, ops: map[string]*oidctest.Server{}, logs: &logBuffer{}, events: &eventRecorder{}}
	names := []string{"a"}
	if o.two {
		names = append(names, "b")
	}
	var ps []*providers.Provider
	for _, name := range names {
		op := scanOIDCTest(t, oidctest.New(t, o.op...))
		lt.ops[name] = op
		client := op.Client()
		client.Timeout = o.timeout
		p, err := providers.OIDC(context.Background(), providers.OIDCConfig{
			Name:           name,
			Issuer:         op.URL,
			ClientID:       oidctest.ClientID,
			ClientSecret:   oidctest.ClientSecret,
			UserInfo:       o.userInfo,
			ExtraAudiences: o.extraAudiences,
			KeepClaims:     o.keepClaims,
			HTTPClient:     client,
		})
		if err != nil {
			t.Fatalf("providers.OIDC: %v", err)
		}
		ps = append(ps, p)
	}
	lt.op = lt.ops["a"]

	var handler http.Handler
	lt.app = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(lt.app.Close)
	lt.appURL, _ = url.Parse(lt.app.URL)
	key := make([]byte, 32)
	rand.Read(key)
	cfg := Config{
		BaseURL:   lt.app.URL,
		Providers: ps,
		Keys:      [][]byte{key},
		// The default error page, recording the error for the table's
		// "why" column.
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			lt.mu.Lock()
			lt.errs = append(lt.errs, err)
			lt.mu.Unlock()
			lt.auth.serveError(w, r, err)
		},
		Logger:   lt.logs.logger(),
		Observer: lt.events,
	}
	if o.config != nil {
		o.config(&cfg)
	}
	auth, err := newAuth(t, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	lt.auth = auth
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("/private", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := UserFrom(r.Context())
		if !ok {
			http.Error(w, "no user", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "hello %s|%s", u.Provider, u.Subject)
	})))
	handler = mux

	lt.jar, _ = cookiejar.New(nil)
	lt.client = tapClient(t, auth, &http.Client{
		Jar:           lt.jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	})
	return lt
}

// startEvil starts the unrelated "evil.example" server, which counts what
// it receives.
func (lt *loginTest) startEvil() {
	lt.evil = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lt.mu.Lock()
		lt.evilN++
		lt.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"evil","token_type":"Bearer"}`)
	}))
	lt.t.Cleanup(lt.evil.Close)
}

// response is a response with its body read.
type response struct {
	*http.Response
	body string
}

// get requests u as a browser navigation would.
func (lt *loginTest) get(u string) *response {
	lt.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		lt.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	lt.mark = lt.events.len()
	resp, err := lt.client.Do(req)
	if err != nil {
		lt.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		lt.t.Fatalf("GET %s: %v", u, err)
	}
	return &response{Response: resp, body: string(b)}
}

// start begins a login with provider name and follows the provider's
// authorization endpoint; it returns the callback URL the provider
// redirected to, not yet requested.
func (lt *loginTest) start(name string) *url.URL {
	lt.t.Helper()
	r := lt.get(lt.app.URL + "/auth/login/" + name + "?return_to=/private")
	if r.StatusCode != http.StatusFound {
		lt.t.Fatalf("login start: status %d", r.StatusCode)
	}
	authz := r.Header.Get("Location")
	if !strings.HasPrefix(authz, lt.ops[name].URL+oidctest.PathAuthorize+"?") {
		lt.t.Fatalf("login start redirected to %q", authz)
	}
	r = lt.get(authz)
	if r.StatusCode != http.StatusFound {
		lt.t.Fatalf("authorization endpoint: status %d", r.StatusCode)
	}
	cb, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		lt.t.Fatal(err)
	}
	return cb
}

// flowCookies returns the flow cookies the browser holds.
func (lt *loginTest) flowCookies() []*http.Cookie {
	var out []*http.Cookie
	for _, c := range lt.jar.Cookies(lt.appURL) {
		if strings.HasPrefix(c.Name, lt.auth.flows.prefix) {
			out = append(out, c)
		}
	}
	return out
}

// setCookie replaces (or with value "", deletes) a cookie in the browser.
func (lt *loginTest) setCookie(name, value string) {
	c := &http.Cookie{Name: name, Value: value, Path: "/"}
	if value == "" {
		c.MaxAge = -1
	}
	lt.jar.SetCookies(lt.appURL, []*http.Cookie{c})
}

// nonce returns the nonce of the i-th authorization request provider "a"
// received.
func (lt *loginTest) nonce(i int) string {
	reqs := lt.op.Requests(oidctest.PathAuthorize)
	if i >= len(reqs) {
		lt.t.Fatalf("no authorization request %d", i)
	}
	return reqs[i].Form.Get("nonce")
}

// secrets returns every value no response or log line may contain: the
// flows' state, nonce and PKCE verifier, the flow cookies, and the codes,
// tokens and client secret of every provider.
func (lt *loginTest) secrets(flowCookies []*http.Cookie) []string {
	out := append([]string(nil), lt.extra...)
	for _, op := range lt.ops {
		out = append(out, op.Secrets()...)
		for _, r := range op.Requests(oidctest.PathAuthorize) {
			out = append(out, r.Form.Get("state"), r.Form.Get("nonce"))
		}
		for _, r := range op.Requests(oidctest.PathToken) {
			out = append(out, r.PostForm.Get("code_verifier"), r.PostForm.Get("code"))
		}
	}
	for _, c := range flowCookies {
		out = append(out, c.Value)
		if f, err := lt.auth.flows.decode(c.Name, c.Value); err == nil {
			out = append(out, f.State, f.Nonce, f.Verifier)
		}
	}
	return out
}

var sessionCookieName = regexp.MustCompile(`^portcullis(\.[0-9]+)?$`)

// checkRejected asserts SECURITY.md §0 "Rejected" for r, the response to
// a callback that carried sent (the flow cookies before it).
func (lt *loginTest) checkRejected(r *response, want int, sent []*http.Cookie, keepsSession bool) {
	t := lt.t
	t.Helper()
	if r.StatusCode != want {
		t.Errorf("status %d, want %d (Location %q)", r.StatusCode, want, r.Header.Get("Location"))
	}
	if r.StatusCode < 400 || r.StatusCode > 599 {
		t.Errorf("status %d is not an error", r.StatusCode)
	}
	if loc := r.Header.Get("Location"); loc != "" {
		t.Errorf("rejected callback redirects to %q", loc)
	}
	lt.checkCallbackHeaders(r)
	expired := map[string]bool{}
	for _, c := range r.Cookies() {
		if sessionCookieName.MatchString(c.Name) && c.Value != "" && c.MaxAge >= 0 {
			t.Errorf("session cookie set: %s", c.Name)
		}
		if strings.HasPrefix(c.Name, lt.auth.flows.prefix) {
			if c.Value != "" || c.MaxAge >= 0 {
				t.Errorf("flow cookie %s set, not expired", c.Name)
			}
			expired[c.Name] = true
		}
	}
	// The flow the callback's state names is used up, whatever failed;
	// any other flow (another tab's sign-in) is left alone.
	named := map[string]bool{}
	for _, s := range r.Request.URL.Query()["state"] {
		named[lt.auth.flows.name(s)] = true
	}
	for _, c := range sent {
		if named[c.Name] && !expired[c.Name] {
			t.Errorf("flow cookie %s not expired", c.Name)
		}
		if !named[c.Name] && expired[c.Name] {
			t.Errorf("flow cookie %s of a flow the callback did not name was expired", c.Name)
		}
	}
	for _, c := range lt.flowCookies() {
		if named[c.Name] {
			t.Errorf("browser still holds the used flow cookie %s", c.Name)
		}
	}
	if s, err := lt.auth.Session(lt.requestWithJar()); err == nil && !keepsSession {
		t.Errorf("browser has a session for %s", s.User.ID())
	}
	lt.checkNoLeak(r, lt.secrets(sent))
	// The provider's error codes and descriptions are not shown.
	for _, s := range []string{"invalid_grant", "invalid_client", "server_error", "access_denied", "error_description"} {
		if strings.Contains(r.body, s) {
			t.Errorf("body reflects %q", s)
		}
	}
	// One event, for the reason the ErrorHandler was given, logged with
	// the stable attribute names.
	if err := lt.lastErr(); err != nil {
		name := path.Base(r.Request.URL.Path)
		if lt.ops[name] == nil {
			name = ""
		}
		want := loginFailure(name, err)
		checkEvents(t, lt.events.since(lt.mark), want)
		if !logHas(lt.logs.String(), eventAttrs(want)...) {
			t.Errorf("no log record %v:\n%s", eventAttrs(want), lt.logs.String())
		}
	}
}

// checkNoLeak asserts that the body, headers and logs reveal none of
// secrets and reflect nothing unescaped.
func (lt *loginTest) checkNoLeak(r *response, secrets []string) {
	t := lt.t
	t.Helper()
	var hdr strings.Builder
	r.Header.Write(&hdr)
	where := map[string]string{"body": r.body, "headers": hdr.String(), "logs": lt.logs.String()}
	for _, s := range secrets {
		if len(s) < 8 { // empty or too short to be one of ours
			continue
		}
		for w, text := range where {
			if strings.Contains(text, s) || strings.Contains(text, url.QueryEscape(s)) {
				t.Errorf("%s reveals %.40q", w, s)
			}
		}
	}
	for w, text := range where {
		if strings.Contains(text, "<script") || strings.Contains(text, "alert(1)") {
			t.Errorf("%s reflects the error_description", w)
		}
	}
}

// checkCallbackHeaders asserts CB-12: a callback response is never cached
// and sends no Referer onwards.
func (lt *loginTest) checkCallbackHeaders(r *response) {
	lt.t.Helper()
	if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		lt.t.Errorf("Cache-Control %q, want no-store", cc)
	}
	if rp := r.Header.Get("Referrer-Policy"); rp != "no-referrer" {
		lt.t.Errorf("Referrer-Policy %q, want no-referrer", rp)
	}
}

// requestWithJar returns a request to the app carrying the browser's
// cookies.
func (lt *loginTest) requestWithJar() *http.Request {
	r := httptest.NewRequest(http.MethodGet, lt.app.URL+"/private", nil)
	for _, c := range lt.jar.Cookies(lt.appURL) {
		r.AddCookie(c)
	}
	return r
}

// lastErr returns the last error given to the ErrorHandler.
func (lt *loginTest) lastErr() error {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if len(lt.errs) == 0 {
		return nil
	}
	return lt.errs[len(lt.errs)-1]
}

// checkAccepted asserts SECURITY.md §0 "Accepted" for r.
func (lt *loginTest) checkAccepted(r *response, sent []*http.Cookie) {
	t := lt.t
	t.Helper()
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/private" {
		t.Fatalf("status %d Location %q, want 303 /private; body %.300s\nlogs:\n%s",
			r.StatusCode, r.Header.Get("Location"), r.body, lt.logs.String())
	}
	lt.checkCallbackHeaders(r)
	s, err := lt.auth.Session(lt.requestWithJar())
	if err != nil {
		t.Fatalf("no session after the callback: %v", err)
	}
	checkEvents(t, lt.events.since(lt.mark), Event{Kind: EventLogin, Provider: "a", User: UserRef(&s.User), Status: http.StatusSeeOther})
	sessions := 0
	for _, c := range r.Cookies() {
		if sessionCookieName.MatchString(c.Name) && c.Value != "" && c.MaxAge >= 0 {
			sessions++
		}
	}
	if sessions == 0 {
		t.Error("no session cookie set")
	}
	if left := lt.flowCookies(); len(left) != 0 {
		t.Errorf("flow cookie survives a successful callback")
	}
	lt.checkNoLeak(r, lt.secrets(sent))
	p := lt.get(lt.app.URL + "/private")
	if p.StatusCode != http.StatusOK || p.body != "hello a|"+oidctest.Subject {
		t.Errorf("protected page: status %d body %q", p.StatusCode, p.body)
	}
}

// callbackCase is one row of the table.
type callbackCase struct {
	name string
	opts loginOptions
	// setup runs before the login starts (set provider hooks here).
	setup func(lt *loginTest)
	// edit changes the callback URL or the browser before the callback.
	edit func(lt *loginTest, cb *url.URL)
	// want is the status: 303 for Accepted, else Rejected with it.
	want int
	// why is part of the text of the error the ErrorHandler receives: the
	// case must fail for its own reason, not an earlier one.
	why string
	// noToken asserts that no token endpoint was called.
	noToken bool
	// keepsSession: the browser already has a session (from an earlier,
	// successful callback) that the rejected one must leave alone.
	keepsSession bool
	// after runs extra assertions.
	after func(lt *loginTest)
}

// Helpers that build the table's hooks.

func authorizeHook(f func(lt *loginTest, q url.Values)) func(*loginTest) {
	return func(lt *loginTest) {
		lt.op.Authorize = func(q url.Values) url.Values { f(lt, q); return q }
	}
}

func queryEdit(f func(lt *loginTest, q url.Values)) func(*loginTest, *url.URL) {
	return func(lt *loginTest, cb *url.URL) {
		q := cb.Query()
		f(lt, q)
		cb.RawQuery = q.Encode()
	}
}

func appendQuery(extra string) func(*loginTest, *url.URL) {
	return func(lt *loginTest, cb *url.URL) { cb.RawQuery += "&" + extra }
}

func idToken(f func(lt *loginTest, c oidctest.Claims, h *oidctest.Header)) func(*loginTest) {
	return func(lt *loginTest) {
		lt.op.IDToken = func(c oidctest.Claims, h oidctest.Header) (oidctest.Claims, oidctest.Header) {
			f(lt, c, &h)
			return c, h
		}
	}
}

func claim(name string, value any) func(*loginTest) {
	return idToken(func(_ *loginTest, c oidctest.Claims, _ *oidctest.Header) {
		if value == nil {
			delete(c, name)
		} else {
			c[name] = value
		}
	})
}

func signing(h oidctest.Header) func(*loginTest) {
	return idToken(func(_ *loginTest, _ oidctest.Claims, hp *oidctest.Header) { *hp = h })
}

func tokenBody(f func(lt *loginTest, body map[string]any)) func(*loginTest) {
	return func(lt *loginTest) {
		lt.op.Token = func(body map[string]any) { f(lt, body) }
	}
}

func tokenResponse(status int, contentType, body string) func(*loginTest) {
	return func(lt *loginTest) {
		lt.op.TokenResponse = func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Content-Type", contentType)
			w.WriteHeader(status)
			io.WriteString(w, body)
			return true
		}
	}
}

// idTokenParts rewrites the issued ID token's compact form.
func idTokenParts(f func(lt *loginTest, parts []string) string) func(*loginTest) {
	return tokenBody(func(lt *loginTest, body map[string]any) {
		body["id_token"] = f(lt, strings.Split(body["id_token"].(string), "."))
	})
}

// flipFirst returns s with its first character changed.
func flipFirst(s string) string {
	if s == "" || s[0] == 'x' {
		return "y" + s[min(1, len(s)):]
	}
	return "x" + s[1:]
}

func callbackCases() []callbackCase {
	now := time.Now()
	return []callbackCase{
		// Positive controls.
		{name: "A/unmodified", want: 303},
		{name: "A/aud one-element array", setup: claim("aud", []string{oidctest.ClientID}), want: 303},
		{name: "A/token_type bearer", setup: tokenBody(func(_ *loginTest, b map[string]any) { b["token_type"] = "bearer" }), want: 303},
		{name: "A/token_type BEARER", setup: tokenBody(func(_ *loginTest, b map[string]any) { b["token_type"] = "BEARER" }), want: 303},
		{name: "A/at_hash missing", setup: claim("at_hash", nil), want: 303},
		{name: "A/kid absent single key", setup: signing(oidctest.Header{Extra: map[string]any{"kid": nil}}), want: 303},
		{name: "A/userinfo same sub", opts: loginOptions{userInfo: true}, want: 303},
		{name: "A/aud array with trusted extra and azp", opts: loginOptions{extraAudiences: []string{"trusted-2"}},
			setup: idToken(func(_ *loginTest, c oidctest.Claims, _ *oidctest.Header) {
				c["aud"] = []string{oidctest.ClientID, "trusted-2"}
				c["azp"] = oidctest.ClientID
			}), want: 303},

		// CB: callback / authorization response.
		{name: "CB-02/state missing", why: "state_missing", edit: queryEdit(func(_ *loginTest, q url.Values) { q.Del("state") }), want: 400, noToken: true},
		{name: "CB-02/state empty", why: "state_missing", edit: queryEdit(func(_ *loginTest, q url.Values) { q.Set("state", "") }), want: 400, noToken: true},
		{name: "CB-01/state wrong", why: "state_mismatch", edit: queryEdit(func(_ *loginTest, q url.Values) { q.Set("state", flipFirst(q.Get("state"))) }), want: 400, noToken: true},
		{name: "CB-04/state reused", why: "state_mismatch", edit: func(lt *loginTest, cb *url.URL) {
			sent := lt.flowCookies()
			lt.checkAccepted(lt.get(cb.String()), sent)
		}, want: 400, keepsSession: true, after: func(lt *loginTest) {
			if n := len(lt.op.Requests(oidctest.PathToken)); n != 1 {
				lt.t.Errorf("%d token requests, want 1", n)
			}
			// The first callback's session is still the browser's.
			if s, err := lt.auth.Session(lt.requestWithJar()); err != nil || s.User.Subject != oidctest.Subject {
				lt.t.Errorf("session after the replay: %v %v", s, err)
			}
		}},
		{name: "CB-02/flow cookie missing", why: "state_mismatch", edit: func(lt *loginTest, _ *url.URL) {
			for _, c := range lt.flowCookies() {
				lt.setCookie(c.Name, "")
			}
		}, want: 400, noToken: true},
		{name: "CB-02/flow cookie tampered", why: "state_mismatch", edit: func(lt *loginTest, _ *url.URL) {
			for _, c := range lt.flowCookies() {
				v := []byte(c.Value)
				i := len(v) / 2
				if v[i] == 'A' {
					v[i] = 'B'
				} else {
					v[i] = 'A'
				}
				lt.setCookie(c.Name, string(v))
			}
		}, want: 400, noToken: true},
		{name: "CB-02/flow expired", why: "state_mismatch", edit: func(lt *loginTest, _ *url.URL) {
			lt.auth.now = func() time.Time { return time.Now().Add(11 * time.Minute) }
		}, want: 400, noToken: true},
		{name: "CB-08/provider mismatch", why: "provider_mismatch", opts: loginOptions{two: true}, edit: func(lt *loginTest, cb *url.URL) {
			cb.Path = strings.Replace(cb.Path, "/callback/a", "/callback/b", 1)
		}, want: 400, noToken: true, after: func(lt *loginTest) {
			if n := len(lt.ops["b"].Requests(oidctest.PathToken)); n != 0 {
				lt.t.Errorf("provider b's token endpoint called %d times", n)
			}
		}},
		{name: "CB-06/iss mismatch", why: "issuer_mismatch", setup: authorizeHook(func(_ *loginTest, q url.Values) { q.Set("iss", "https://evil.example") }), want: 400, noToken: true},
		{name: "CB-06/iss trailing slash", why: "issuer_mismatch", setup: authorizeHook(func(lt *loginTest, q url.Values) { q.Set("iss", lt.op.URL+"/") }), want: 400, noToken: true},
		{name: "CB-07/iss missing, RFC 9207 advertised", why: "issuer_missing", setup: authorizeHook(func(_ *loginTest, q url.Values) { q.Del("iss") }), want: 400, noToken: true},
		{name: "CB-09/error with valid state", why: "authorization response error \"access_denied\"", setup: authorizeHook(func(_ *loginTest, q url.Values) {
			q.Del("code")
			q.Set("error", "access_denied")
			q.Set("error_description", xss)
		}), want: 401, noToken: true},
		{name: "CB-09/error with wrong state", why: "state_mismatch", setup: authorizeHook(func(_ *loginTest, q url.Values) {
			q.Del("code")
			q.Set("state", "wrong-state-value")
			q.Set("error", "access_denied")
			q.Set("error_description", xss)
		}), want: 400, noToken: true},
		{name: "CB-10/code and error", why: "code_and_error", setup: authorizeHook(func(_ *loginTest, q url.Values) { q.Set("error", "access_denied") }), want: 400, noToken: true},
		{name: "CB-10/repeated code", why: "repeated_parameter", edit: appendQuery("code=second-code-value"), want: 400, noToken: true},
		{name: "CB-10/repeated state", why: "repeated_parameter", edit: func(lt *loginTest, cb *url.URL) {
			cb.RawQuery += "&state=" + url.QueryEscape(cb.Query().Get("state"))
		}, want: 400, noToken: true},
		{name: "CB-11/access_token in query", why: "front_channel_token", edit: appendQuery("access_token=front-channel-access-token"), want: 400, noToken: true},
		{name: "CB-11/id_token in query", why: "front_channel_token", edit: func(lt *loginTest, cb *url.URL) {
			tok := lt.op.Sign(oidctest.Claims{"iss": lt.op.URL, "sub": "attacker", "aud": oidctest.ClientID, "nonce": lt.nonce(0),
				"iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}, oidctest.Header{})
			lt.extra = append(lt.extra, tok)
			cb.RawQuery += "&id_token=" + tok
		}, want: 400, noToken: true},
		{name: "CB-14/code over 4 KiB", why: "code_invalid", edit: queryEdit(func(_ *loginTest, q url.Values) { q.Set("code", strings.Repeat("C", 4097)) }), want: 400, noToken: true},
		{name: "CB-15/code with control bytes", why: "code_invalid", edit: queryEdit(func(lt *loginTest, q url.Values) {
			q.Set("code", q.Get("code")+"\r\nSet-Cookie: portcullis=x\x00")
		}), want: 400, noToken: true},

		// TK: token endpoint.
		{name: "TK-03/400 invalid_grant", why: "invalid_grant", setup: tokenResponse(400, "application/json", `{"error":"invalid_grant","error_description":"`+strings.ReplaceAll(xss, "/", `\/`)+`"}`), want: 401},
		{name: "TK-03/401", why: "invalid_client", setup: tokenResponse(401, "application/json", `{"error":"invalid_client"}`), want: 401},
		{name: "TK-03/500", why: "token_endpoint_error", setup: tokenResponse(500, "application/json", `{"error":"server_error"}`), want: 502},
		{name: "TK-03/HTML body", why: "unusable response", setup: tokenResponse(200, "text/html", "<html><body>"+xss+"</body></html>"), want: 502},
		{name: "TK-03/invalid JSON", why: "unusable response", setup: tokenResponse(200, "application/json", `{"access_token":"x",`), want: 502},
		{name: "TK-03/no access_token", why: "unusable response", setup: tokenBody(func(_ *loginTest, b map[string]any) { delete(b, "access_token") }), want: 502},
		{name: "TK-05/token_type mac", why: "token_type other than Bearer", setup: tokenBody(func(_ *loginTest, b map[string]any) { b["token_type"] = "mac" }), want: 401},
		{name: "TK-04/no id_token", why: "without id_token", setup: tokenBody(func(_ *loginTest, b map[string]any) { delete(b, "id_token") }), want: 401},
		{name: "TK-07/307 to another server", why: "307", setup: func(lt *loginTest) {
			lt.startEvil()
			lt.op.TokenResponse = func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Location", lt.evil.URL+"/token")
				w.WriteHeader(http.StatusTemporaryRedirect)
				return true
			}
		}, want: 502, after: func(lt *loginTest) {
			lt.mu.Lock()
			defer lt.mu.Unlock()
			if lt.evilN != 0 {
				lt.t.Errorf("evil.example received %d requests", lt.evilN)
			}
		}},
		{name: "TK-09/slow", why: "provider_unreachable", opts: loginOptions{timeout: time.Second}, setup: func(lt *loginTest) {
			lt.op.TokenResponse = func(w http.ResponseWriter, r *http.Request) bool {
				select {
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
				return true
			}
		}, want: 502},
		{name: "TK-09/2 MiB body", why: "unusable response", setup: tokenBody(func(_ *loginTest, b map[string]any) {
			b["padding"] = strings.Repeat("p", 2<<20)
		}), want: 502},

		// IDT: ID token.
		{name: "IDT-04/bad signature", why: "id_token: signature invalid", setup: signing(oidctest.Header{Sign: oidctest.SignCorrupted}), want: 401},
		{name: "IDT-04/unpublished key", why: "id_token: signature invalid", setup: signing(oidctest.Header{Sign: oidctest.SignRS256Unpublished}), want: 401},
		{name: "IDT-05/alg none", why: "id_token: signing algorithm not allowed", setup: signing(oidctest.Header{Sign: oidctest.SignNone}), want: 401},
		{name: "IDT-05/alg None", why: "id_token: signing algorithm not allowed", setup: signing(oidctest.Header{Sign: oidctest.SignNone, Alg: "None"}), want: 401},
		{name: "IDT-05/alg NONE", why: "id_token: signing algorithm not allowed", setup: signing(oidctest.Header{Sign: oidctest.SignNone, Alg: "NONE"}), want: 401},
		{name: "IDT-05/HS256 alg confusion", why: "id_token: signing algorithm not allowed", setup: signing(oidctest.Header{Sign: oidctest.SignHS256Confusion}), want: 401},
		{name: "IDT-05/ES256 when RS256 pinned", why: "id_token: signing algorithm not allowed", opts: loginOptions{op: []oidctest.Option{oidctest.WithECKey()}},
			setup: signing(oidctest.Header{Sign: oidctest.SignES256}), want: 401},
		{name: "IDT-06/jwk header", why: "id_token: signature invalid", setup: signing(oidctest.Header{Sign: oidctest.SignEmbeddedJWK}), want: 401},
		{name: "IDT-06/jku header", why: "id_token: signature invalid", setup: signing(oidctest.Header{Sign: oidctest.SignJKU}), want: 401, after: func(lt *loginTest) {
			if n := len(lt.op.Requests(oidctest.PathAttackerJWKS)); n != 0 {
				lt.t.Errorf("jku fetched %d times", n)
			}
		}},
		{name: "IDT-01/wrong iss", why: "id_token: wrong issuer", setup: claim("iss", "https://evil.example"), want: 401},
		{name: "IDT-01/iss trailing slash", why: "id_token: wrong issuer", setup: idToken(func(lt *loginTest, c oidctest.Claims, _ *oidctest.Header) { c["iss"] = lt.op.URL + "/" }), want: 401},
		{name: "IDT-02/wrong aud", why: "id_token: wrong audience", setup: claim("aud", "other-client"), want: 401},
		{name: "IDT-02/aud missing", why: "id_token: wrong audience", setup: claim("aud", nil), want: 401},
		{name: "IDT-03/extra untrusted aud", why: "untrusted audience", setup: idToken(func(_ *loginTest, c oidctest.Claims, _ *oidctest.Header) {
			c["aud"] = []string{oidctest.ClientID, "untrusted"}
			c["azp"] = oidctest.ClientID
		}), want: 401},
		{name: "IDT-03/aud array, azp missing", why: "several audiences and no azp", opts: loginOptions{extraAudiences: []string{"trusted-2"}},
			setup: claim("aud", []string{oidctest.ClientID, "trusted-2"}), want: 401},
		{name: "IDT-03/azp other client", why: "azp is not this client", setup: claim("azp", "other-client"), want: 401},
		{name: "IDT-09/expired", why: "id_token: expired", setup: idToken(func(_ *loginTest, c oidctest.Claims, _ *oidctest.Header) {
			c["iat"] = time.Now().Add(-7 * time.Minute).Unix()
			c["exp"] = time.Now().Add(-2 * time.Minute).Unix()
		}), want: 401},
		{name: "IDT-09/exp missing", why: "id_token: expired", setup: claim("exp", nil), want: 401},
		{name: "IDT-10/iat missing", why: "iat missing", setup: claim("iat", nil), want: 401},
		{name: "IDT-10/iat in the future", why: "iat in the future", setup: idToken(func(_ *loginTest, c oidctest.Claims, _ *oidctest.Header) {
			c["iat"] = time.Now().Add(5 * time.Minute).Unix()
			c["exp"] = time.Now().Add(10 * time.Minute).Unix()
		}), want: 401},
		{name: "IDT-10/iat a week old", why: "iat too old", setup: idToken(func(_ *loginTest, c oidctest.Claims, _ *oidctest.Header) {
			c["iat"] = time.Now().Add(-7 * 24 * time.Hour).Unix()
		}), want: 401},
		{name: "IDT-12/nonce wrong", why: "nonce does not match", setup: claim("nonce", "wrong-nonce-value"), want: 401},
		{name: "IDT-12/nonce missing", why: "nonce does not match", setup: claim("nonce", nil), want: 401},
		{name: "IDT-12/nonce of another flow", why: "nonce does not match", edit: func(lt *loginTest, _ *url.URL) {
			lt.start("a") // a second tab: a second flow, not finished
			other := lt.nonce(1)
			if other == "" || other == lt.nonce(0) {
				lt.t.Fatalf("second flow nonce %q", other)
			}
			claim("nonce", other)(lt)
		}, want: 401},
		{name: "IDT-11/sub missing", why: "sub missing", setup: claim("sub", nil), want: 401},
		{name: "IDT-11/sub empty", why: "sub missing", setup: claim("sub", ""), want: 401},
		{name: "IDT-11/sub 256 chars", why: "longer than 255", setup: claim("sub", strings.Repeat("s", 256)), want: 401},
		{name: "IDT/at_hash wrong", why: "at_hash does not match", setup: claim("at_hash", oidctest.AtHash("another-access-token")), want: 401},
		{name: "IDT-04/2-part token", why: "id_token: malformed", setup: idTokenParts(func(_ *loginTest, p []string) string { return p[0] + "." + p[1] }), want: 401},
		{name: "IDT-04/4-part token", why: "id_token: malformed", setup: idTokenParts(func(_ *loginTest, p []string) string { return strings.Join(p, ".") + "." + p[2] }), want: 401},
		{name: "IDT/payload not JSON", why: "id_token: malformed claims", setup: idTokenParts(func(lt *loginTest, _ []string) string {
			return lt.op.SignRaw(oidctest.Header{}, []byte("not json"))
		}), want: 401},

		// UI: userinfo.
		{name: "UI/userinfo other sub", why: "userinfo: sub differs", opts: loginOptions{userInfo: true}, setup: func(lt *loginTest) {
			lt.op.UserInfo = func(c oidctest.Claims) oidctest.Claims { c["sub"] = "user-2"; return c }
		}, want: 401},
	}
}

func TestCallback(t *testing.T) {
	cases := callbackCases()
	accepted := 0
	for _, tc := range cases {
		if tc.want == http.StatusSeeOther {
			accepted++
		}
	}
	t.Logf("%d cases: %d accepted, %d rejected", len(cases), accepted, len(cases)-accepted)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lt := newLoginTest(t, tc.opts)
			if tc.setup != nil {
				tc.setup(lt)
			}
			cb := lt.start("a")
			if tc.edit != nil {
				tc.edit(lt, cb)
			}
			sent := lt.flowCookies()
			r := lt.get(cb.String())
			if tc.want == http.StatusSeeOther {
				lt.checkAccepted(r, sent)
			} else {
				lt.checkRejected(r, tc.want, sent, tc.keepsSession)
			}
			if err := lt.lastErr(); tc.why != "" && (err == nil || !strings.Contains(err.Error(), tc.why)) {
				t.Errorf("error %v, want one about %q", err, tc.why)
			}
			if tc.noToken {
				for name, op := range lt.ops {
					if n := len(op.Requests(oidctest.PathToken)); n != 0 {
						t.Errorf("provider %s's token endpoint called %d times", name, n)
					}
				}
			}
			if tc.after != nil {
				tc.after(lt)
			}
			lt.mu.Lock()
			checkErrorContract(t, lt.errs...)
			lt.mu.Unlock()
		})
	}
}
