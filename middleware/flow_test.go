package middleware

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// startLogin runs GET /auth/login with the given cookies and returns the
// recorder and the authorization request's query.
func startLogin(t *testing.T, a *Auth, cookies []*http.Cookie) (*httptest.ResponseRecorder, url.Values) {
	t.Helper()
	rec := serve(a.Handler(), "GET", "https://app.example/auth/login?return_to=/docs", nil, cookies...)
	if rec.Code != http.StatusFound {
		t.Fatalf("login: %d", rec.Code)
	}
	u, err := url.Parse(rec.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return rec, u.Query()
}

// live applies a response's Set-Cookie headers to a cookie set, as a
// browser would.
func live(set map[string]*http.Cookie, rec *httptest.ResponseRecorder) {
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(set, c.Name)
		} else {
			set[c.Name] = c
		}
	}
}

func values(set map[string]*http.Cookie) []*http.Cookie {
	var cs []*http.Cookie
	for _, c := range set {
		cs = append(cs, c)
	}
	return cs
}

func TestFlowStateIsFreshAndNeverFromRequest(t *testing.T) {
	a, err := newAuth(t, Config{BaseURL: "https://app.example", Providers: newTestAuth(t).s.Providers, Keys: [][]byte{testKey},
		LoginRateLimit: RateLimit{Off: true}}) // 200 logins from one client
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		// A state in the query and a planted flow cookie are ignored (AR-02).
		rec := serve(a.Handler(), "GET", "https://app.example/auth/login?state=ATTACKER&nonce=ATTACKER",
			nil, &http.Cookie{Name: "__Host-portcullis-flow.x", Value: "ATTACKER"})
		loc := rec.Header().Get("Location")
		u, _ := url.Parse(loc)
		st := u.Query().Get("state")
		if strings.Contains(loc, "ATTACKER") || len(st) != 43 || seen[st] {
			t.Fatalf("login %d: state %q (seen before: %v) in %s", i, st, seen[st], loc)
		}
		seen[st] = true
	}
}

func TestFlowCookiesPerTabAndBounded(t *testing.T) {
	a := newTestAuth(t)
	jar := map[string]*http.Cookie{}
	var states []string
	for i := 0; i < 3*maxFlows; i++ {
		rec, q := startLogin(t, a, values(jar))
		live(jar, rec)
		states = append(states, q.Get("state"))
		if len(jar) > maxFlows {
			t.Fatalf("after %d logins the browser holds %d flow cookies, want ≤ %d", i+1, len(jar), maxFlows)
		}
		time.Sleep(time.Millisecond) // distinct creation order is by second; eviction must still keep the newest
	}
	// The newest flow of each tab is still there and decodes to its state.
	newest := states[len(states)-1]
	c := jar[a.flows.name(newest)]
	if c == nil {
		t.Fatal("the newest flow was evicted")
	}
	f, err := a.flows.decode(c.Name, c.Value)
	if err != nil || f.State != newest || f.ReturnTo != "/docs" || f.Provider != "dev" || len(f.Verifier) < 43 || len(f.Nonce) < 43 {
		t.Fatalf("flow %+v, %v", f, err)
	}
	// The Cookie header of a browser with the maximum number of flows
	// stays small.
	var hdr []string
	for _, c := range jar {
		hdr = append(hdr, c.Name+"="+c.Value)
	}
	if n := len(strings.Join(hdr, "; ")); n > 4096 {
		t.Errorf("Cookie header with %d flows is %d bytes", len(jar), n)
	}
}

func TestFlowCookieNotReusableUnderAnotherName(t *testing.T) {
	a := newTestAuth(t)
	rec, q := startLogin(t, a, nil)
	c := rec.Result().Cookies()[0]
	// The same value under the name of another state, and under the
	// session cookie's name, does not decode (SS-08).
	if _, err := a.flows.decode(a.flows.name("other"), c.Value); err == nil {
		t.Error("a flow cookie decoded under another flow's name")
	}
	store := a.s.Sessions
	req := httptest.NewRequest("GET", "https://app.example/", nil)
	req.AddCookie(&http.Cookie{Name: "__Host-portcullis", Value: "1." + c.Value})
	if s, err := store.Load(req); err == nil {
		t.Errorf("a flow cookie was accepted as a session: %+v", s)
	}
	if f, err := a.flows.decode(c.Name, c.Value); err != nil || f.State != q.Get("state") {
		t.Fatalf("the flow cookie itself does not decode: %v", err)
	}
}

func TestDecodeFlowRefusesMalformed(t *testing.T) {
	good := encodeFlow(&flow{Provider: "dev", Issuer: "https://op", State: "s", Nonce: "n", Verifier: "v", ReturnTo: "/", Created: time.Unix(1e9, 0)})
	if _, err := decodeFlow(good); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(good); i++ {
		if _, err := decodeFlow(good[:i]); err == nil {
			t.Errorf("truncation to %d bytes decoded", i)
		}
	}
	for name, b := range map[string][]byte{
		"trailing byte": append(append([]byte{}, good...), 0),
		"version 1":     append([]byte{1}, good[1:]...),
		"version 2":     append([]byte{2}, good[1:]...),
		"version 4":     append([]byte{4}, good[1:]...),
		"huge length":   {flowVersion, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
		"empty":         {},
		"no state":      encodeFlow(&flow{Provider: "dev", Verifier: "v"}),
		"no provider":   encodeFlow(&flow{State: "s", Verifier: "v"}),
	} {
		if f, err := decodeFlow(b); err == nil {
			t.Errorf("%s: decoded %+v", name, f)
		}
	}
}

// FuzzDecodeFlowCookie feeds arbitrary flow cookie values to the callback's
// decoder: it never panics, and what decodes is a flow the server minted
// under the name derived from its own state. (Fuzz workers run this setup
// in their own processes, so "minted" cannot be checked by value: every
// worker mints with the same test key.)
func FuzzDecodeFlowCookie(f *testing.F) {
	a := newTestAuth(f)
	rec := serve(a.Handler(), "GET", "https://app.example/auth/login", nil)
	minted := rec.Result().Cookies()[0]
	f.Add(minted.Name, minted.Value)
	f.Add(minted.Name, minted.Value[:len(minted.Value)-1])
	f.Add(minted.Name, "")
	f.Add(a.flows.prefix+"x", "MTIz|YWJj|ZGVm")
	f.Fuzz(func(t *testing.T, name, value string) {
		fl, err := a.flows.decode(name, value)
		if err == nil && (name != a.flows.name(fl.State) || fl.Provider != "dev" || len(fl.Verifier) < 43) {
			t.Fatalf("decoded a forged flow: %q=%q → %+v", name, value, fl)
		}
	})
}

// FuzzDecodeFlow checks the flow encoding alone: no panic, and a decoded
// value encodes back to the same bytes.
func FuzzDecodeFlow(f *testing.F) {
	f.Add(encodeFlow(&flow{Provider: "dev", Issuer: "https://op", State: "s", Nonce: "n", Verifier: "v", ReturnTo: "/x", Created: time.Unix(1e9, 0)}))
	f.Add([]byte{flowVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		fl, err := decodeFlow(b)
		if err != nil {
			return
		}
		if got := encodeFlow(fl); string(got) != string(b) {
			t.Fatalf("re-encoding differs: %x vs %x", got, b)
		}
	})
}

// TestFlowReturnToBounded: a return path longer than maxFlowReturnTo is
// not stored (the user returns to "/"), so five flows keep the Cookie
// header under 8 KiB.
func TestFlowReturnToBounded(t *testing.T) {
	a := newTestAuth(t)
	long := "/" + strings.Repeat("a", maxFlowReturnTo)
	jar := map[string]*http.Cookie{}
	for i := 0; i < maxFlows; i++ {
		rec := serve(a.Handler(), "GET", "https://app.example/auth/login?return_to="+long[:maxFlowReturnTo], nil, values(jar)...)
		live(jar, rec)
	}
	var hdr []string
	for _, c := range jar {
		hdr = append(hdr, c.Name+"="+c.Value)
		if f, err := a.flows.decode(c.Name, c.Value); err != nil || f.ReturnTo != long[:maxFlowReturnTo] {
			t.Fatalf("flow %v, %v", f, err)
		}
	}
	if n := len(strings.Join(hdr, "; ")); n >= 8<<10 {
		t.Fatalf("Cookie header with %d flows of maximal return paths: %d bytes", len(jar), n)
	}
	rec := serve(a.Handler(), "GET", "https://app.example/auth/login?return_to="+long, nil)
	c := rec.Result().Cookies()[0]
	if f, _ := a.flows.decode(c.Name, c.Value); f == nil || f.ReturnTo != "/" {
		t.Fatalf("a return path over the bound was stored: %+v", f)
	}
}
