package middleware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/middleware/policy"
	"github.com/portcullis-go/portcullis/providers/devoidc"
	"github.com/portcullis-go/portcullis/session"
)

// policyApp mounts, beside the auth endpoints, /admin behind p.
func policyApp(e *e2e, p policy.Policy) {
	mux := http.NewServeMux()
	mux.Handle("/auth/", e.auth.Handler())
	mux.Handle("/admin", e.auth.RequireWith(p)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := UserFrom(r.Context())
		io.WriteString(w, "admin "+u.Email)
	})))
	e.app.Config.Handler = mux
}

// TestRequireWithPolicy: a signed-in user the route's policy admits gets
// through; one it refuses gets 403 (a page for browsers, JSON for API
// clients) and is never sent back to sign in.
func TestRequireWithPolicy(t *testing.T) {
	for _, tc := range []struct {
		name  string
		p     policy.Policy
		admit bool
	}{
		{"email domain", policy.EmailDomains("example.com"), true},
		{"other domain", policy.EmailDomains("acme.example"), false},
		{"group", policy.Groups("admins"), true},
		{"missing group", policy.Groups("auditors"), false},
		{"any of", policy.AnyOf(policy.EmailDomains("acme.example"), policy.Groups("admins")), true},
		{"all of", policy.AllOf(policy.EmailDomains("example.com"), policy.Groups("auditors")), false},
		{"provider", policy.Providers("dev"), true},
		{"loopback client", policy.IPRanges(netip.MustParsePrefix("127.0.0.0/8")), true},
		{"other network", policy.IPRanges(netip.MustParsePrefix("10.0.0.0/8")), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newE2E(t, false)
			policyApp(e, tc.p)
			e.login()
			resp, body := e.do("GET", e.app.URL+"/admin", nil)
			if tc.admit {
				if resp.StatusCode != 200 || body != "admin ada@example.com" {
					t.Fatalf("admitted user: %d %q", resp.StatusCode, body)
				}
				return
			}
			if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Location") != "" {
				t.Fatalf("refused user: %d, Location %q (a 403, never a redirect)", resp.StatusCode, resp.Header.Get("Location"))
			}
			if !strings.Contains(body, "Access denied") || strings.Contains(body, `href="/auth/login`) {
				t.Fatalf("the 403 page:\n%s", body)
			}
			api, apiBody := e.do("GET", e.app.URL+"/admin", map[string]string{"Accept": "application/json", "Sec-Fetch-Mode": "cors"})
			if api.StatusCode != http.StatusForbidden || !strings.Contains(apiBody, `"error":"forbidden"`) {
				t.Fatalf("API client: %d %s", api.StatusCode, apiBody)
			}
			if !strings.Contains(e.logs.String(), "reason=policy_denied") {
				t.Fatalf("the refusal is not logged:\n%s", e.logs)
			}
		})
	}
}

// TestRequireWithUndecidedPolicyFailsClosed: a policy that cannot decide
// (its lookup failed) refuses with 503, never admits.
func TestRequireWithUndecidedPolicyFailsClosed(t *testing.T) {
	e := newE2E(t, false)
	policyApp(e, policy.Func(func(*policy.Request) error { return errors.New("directory unreachable") }))
	e.login()
	if resp, _ := e.do("GET", e.app.URL+"/admin", nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("undecided policy: %d, want 503", resp.StatusCode)
	}
}

// TestRequireWithRefusesMisconfiguredPolicy: a policy that can never work
// is a wiring mistake: RequireWith panics at startup.
func TestRequireWithRefusesMisconfiguredPolicy(t *testing.T) {
	a := newTestAuth(t)
	for name, p := range map[string]policy.Policy{
		"nil":            nil,
		"unicode domain": policy.EmailDomains("bücher.example"),
		"empty any of":   policy.AnyOf(),
		"scopes alone":   policy.Scopes("admin:write"), // every cookie session would pass
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: RequireWith did not panic", name)
				}
			}()
			a.RequireWith(p)
		}()
	}
	if _, err := newAuth(t, Config{BaseURL: "https://app.example", Providers: a.s.Providers, Keys: [][]byte{testKey},
		SignInPolicy: policy.Emails("not an address")}); err == nil || !strings.Contains(err.Error(), "Config.SignInPolicy") {
		t.Fatalf("New with a misconfigured SignInPolicy: %v", err)
	}
}

// TestSignInPolicyRefusesLogin: an identity the sign-in policy refuses
// gets 403 at the callback and no session at all.
func TestSignInPolicyRefusesLogin(t *testing.T) {
	e := newE2E(t, false, func(c *Config) { c.SignInPolicy = policy.EmailDomains("acme.example") })
	resp, _ := e.follow(e.app.URL + "/auth/login")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-in of an outsider ended with %d, want 403", resp.StatusCode)
	}
	for _, c := range e.client.Jar.Cookies(mustURL(e.app.URL)) {
		if sessionCookieName.MatchString(c.Name) {
			t.Fatalf("an outsider holds the session cookie %s", c.Name)
		}
	}
	if !strings.Contains(e.logs.String(), "reason=sign_in_policy") {
		t.Fatalf("the refusal is not logged:\n%s", e.logs)
	}
	// And an insider signs in.
	e2 := newE2E(t, false, func(c *Config) { c.SignInPolicy = policy.Groups("admins") })
	e2.login()
}

// TestSignInPolicyUndecidedAndStepUpParams: a sign-in policy that
// cannot decide refuses with 503; malformed step-up parameters at login
// are refused, never ignored.
func TestSignInPolicyUndecidedAndStepUpParams(t *testing.T) {
	e := newE2E(t, false, func(c *Config) {
		c.SignInPolicy = policy.Func(func(*policy.Request) error { return errors.New("directory down") })
	})
	if resp, _ := e.follow(e.app.URL + "/auth/login"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("undecided sign-in policy: %d, want 503", resp.StatusCode)
	}
	a := newTestAuth(t)
	for _, q := range []string{"max_age=abc", "max_age=0", "max_age=99999999", "max_age=1&max_age=2", "acr_values=a%22b", "amr=" + strings.Repeat("x+", 9) + "x"} {
		rec := serve(a.Handler(), "GET", "https://app.example/auth/login/dev?"+q, map[string]string{"Accept": "application/json"})
		if rec.Code != http.StatusBadRequest {
			t.Errorf("login with %s: %d, want 400", q, rec.Code)
		}
	}
}

// TestLoginRateLimited: past a burst, sign-in starts get 429 with
// Retry-After; a token comes back after the refill interval; other
// clients are not affected.
func TestLoginRateLimited(t *testing.T) {
	a := newTestAuth(t)
	a2, err := newAuth(t, Config{BaseURL: "https://app.example", Providers: a.s.Providers, Keys: [][]byte{testKey},
		LoginRateLimit: RateLimit{Burst: 3, Every: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	a2.now = func() time.Time { return now }
	h := a2.Handler()
	login := func(remote string) *http.Response {
		req, _ := http.NewRequest("GET", "https://app.example/auth/login/dev", nil)
		req.RemoteAddr = remote
		rec := newRecorder()
		h.ServeHTTP(rec, req)
		return rec.Result()
	}
	for i := range 3 {
		if r := login("198.51.100.7:1234"); r.StatusCode != http.StatusFound {
			t.Fatalf("login %d within the burst: %d", i+1, r.StatusCode)
		}
	}
	r := login("198.51.100.7:1234")
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "10" {
		t.Fatalf("over the burst: %d, Retry-After %q; want 429, 10", r.StatusCode, r.Header.Get("Retry-After"))
	}
	if r := login("203.0.113.9:1"); r.StatusCode != http.StatusFound {
		t.Fatalf("another client: %d", r.StatusCode)
	}
	now = now.Add(10 * time.Second)
	if r := login("198.51.100.7:1234"); r.StatusCode != http.StatusFound {
		t.Fatalf("after the refill interval: %d", r.StatusCode)
	}
	// Off turns it off.
	off, err := newAuth(t, Config{BaseURL: "https://app.example", Providers: a.s.Providers, Keys: [][]byte{testKey}, LoginRateLimit: RateLimit{Off: true}})
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		rec := newRecorder()
		off.Handler().ServeHTTP(rec, mustRequest("https://app.example/auth/login/dev"))
		if rec.Code != http.StatusFound {
			t.Fatalf("with the limit off: %d", rec.Code)
		}
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func mustRequest(target string) *http.Request { return httptest.NewRequest("GET", target, nil) }

// TestLinkAccount: the hook maps a verified identity to the application's
// account, stored in the session; a refusal or a failed lookup signs
// nobody in.
func TestLinkAccount(t *testing.T) {
	var seen []string
	e := newE2E(t, false, func(c *Config) {
		c.LinkAccount = func(_ context.Context, u session.User) (string, error) {
			seen = append(seen, u.ID()+" "+u.Email)
			return "acct-7", nil
		}
	})
	cookies := e.login()
	s := loadSession(t, e.auth, cookies)
	if s.User.Account != "acct-7" || len(seen) != 1 || seen[0] != "dev|ada ada@example.com" {
		t.Fatalf("account %q, hook saw %q", s.User.Account, seen)
	}
	for _, tc := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("%w: suspended", ErrForbidden), http.StatusForbidden},
		{errors.New("database down"), http.StatusServiceUnavailable},
	} {
		e := newE2E(t, false, func(c *Config) {
			c.LinkAccount = func(context.Context, session.User) (string, error) { return "", tc.err }
		})
		if resp, _ := e.follow(e.app.URL + "/auth/login"); resp.StatusCode != tc.want {
			t.Fatalf("LinkAccount %v: status %d, want %d", tc.err, resp.StatusCode, tc.want)
		}
	}
}

// stepUpE2E is newE2E with devoidc configured by opEdit (AutoLogin "ada"
// at the level a request asks for) and /danger behind p.
func stepUpE2E(t *testing.T, p policy.Policy, opEdit func(*devoidc.Config)) *e2e {
	t.Helper()
	e := newE2EWith(t, opEdit)
	mux := http.NewServeMux()
	mux.Handle("/auth/", e.auth.Handler())
	mux.Handle("/danger", e.auth.RequireWith(p)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := SessionFrom(r.Context())
		io.WriteString(w, "danger acr="+s.ACR)
	})))
	e.app.Config.Handler = mux
	return e
}

// followAll follows redirects from rawURL (a browser navigation) up to a
// bound, and returns the last response and the number of redirects.
func (e *e2e) followAll(rawURL string) (*http.Response, string, int) {
	e.t.Helper()
	for i := 0; i < 20; i++ {
		resp, body := e.do("GET", rawURL, nil)
		loc := resp.Header.Get("Location")
		if resp.StatusCode/100 != 3 || loc == "" {
			return resp, body, i
		}
		u, err := resp.Request.URL.Parse(loc)
		if err != nil {
			e.t.Fatal(err)
		}
		rawURL = u.String()
	}
	e.t.Fatal("more than 20 redirects: a loop")
	return nil, "", 0
}

// TestStepUpEndToEnd: a session signed in with a password meets a route
// that asks for multi-factor: the browser is sent through devoidc with
// acr_values, comes back with the stronger authentication recorded in
// the session, and passes; a provider that ignores the request gets 403,
// never another round.
func TestStepUpEndToEnd(t *testing.T) {
	mfa := policy.StepUp(policy.StepUpRequired{ACR: []string{devoidc.ACRMultiFactor}})
	t.Run("honoured", func(t *testing.T) {
		e := stepUpE2E(t, mfa, nil)
		e.login()
		resp, body, hops := e.followAll(e.app.URL + "/danger")
		if resp.StatusCode != 200 || body != "danger acr="+devoidc.ACRMultiFactor {
			t.Fatalf("after step-up: %d %q (%d redirects)", resp.StatusCode, body, hops)
		}
		if hops < 3 {
			t.Fatalf("only %d redirects: the provider was not asked", hops)
		}
		// The session now meets it: no further round.
		if resp, _, hops := e.followAll(e.app.URL + "/danger"); resp.StatusCode != 200 || hops != 0 {
			t.Fatalf("second visit: %d after %d redirects", resp.StatusCode, hops)
		}
	})
	t.Run("ignored by the provider", func(t *testing.T) {
		e := stepUpE2E(t, mfa, func(c *devoidc.Config) { c.IgnoreStepUp = true })
		e.login()
		resp, _, _ := e.followAll(e.app.URL + "/danger")
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("a provider ignoring the step-up: %d, want 403", resp.StatusCode)
		}
	})
	t.Run("max_age with an old authentication", func(t *testing.T) {
		e := stepUpE2E(t, policy.StepUp(policy.StepUpRequired{MaxAge: 5 * time.Minute}), nil)
		cookies := e.login()
		// The same session, authenticated an hour ago.
		s := loadSession(t, e.auth, cookies)
		s.AuthTime = s.AuthTime.Add(-time.Hour)
		rec := newRecorder()
		if err := e.auth.s.Sessions.Save(rec, mustRequest(e.app.URL), s); err != nil {
			t.Fatal(err)
		}
		e.client.Jar.SetCookies(mustURL(e.app.URL), rec.Result().Cookies())
		resp, _ := e.do("GET", e.app.URL+"/danger", nil)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "max_age=300") || !strings.Contains(loc, "return_to=%2Fdanger") {
			t.Fatalf("an old authentication: %d Location %q", resp.StatusCode, loc)
		}
		if resp, body, _ := e.followAll(e.app.URL + "/danger"); resp.StatusCode != 200 {
			t.Fatalf("after re-authentication: %d %q", resp.StatusCode, body)
		}
		after := loadSession(t, e.auth, e.client.Jar.Cookies(mustURL(e.app.URL)))
		if time.Since(after.AuthTime) > time.Minute {
			t.Fatalf("the session records an authentication from %v", after.AuthTime)
		}
	})
	t.Run("API client", func(t *testing.T) {
		e := stepUpE2E(t, mfa, nil)
		e.login()
		resp, body := e.do("GET", e.app.URL+"/danger", map[string]string{"Accept": "application/json", "Sec-Fetch-Mode": "cors"})
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"error":"step_up_required"`) || !strings.Contains(body, "acr_values=") {
			t.Fatalf("API client: %d %s", resp.StatusCode, body)
		}
	})
}

// TestStepUpNeedsAProviderAuthTime: a login whose ID token has no
// auth_time (a silent single sign-on may sit on a provider session days
// old) records no authentication time, so a route that needs a recent
// authentication sends the user through the provider, never admits them
// on the time of the login.
func TestStepUpNeedsAProviderAuthTime(t *testing.T) {
	lt := newLoginTest(t, loginOptions{}) // oidctest sends no auth_time
	if r := lt.get(lt.start("a").String()); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", r.StatusCode)
	}
	h := lt.auth.RequireWith(policy.StepUp(policy.StepUpRequired{MaxAge: 5 * time.Minute}))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "danger")
	}))
	var cookies []*http.Cookie
	for _, c := range lt.jar.Cookies(lt.appURL) {
		if sessionCookieName.MatchString(c.Name) {
			cookies = append(cookies, c)
		}
	}
	rec := serve(h, "GET", lt.app.URL+"/danger", map[string]string{"Sec-Fetch-Mode": "navigate", "Accept": "text/html"}, cookies...)
	if rec.Code == http.StatusOK || !strings.Contains(rec.Header().Get("Location"), "max_age=300") {
		t.Fatalf("a session without a provider auth_time: %d, Location %q; want the step-up", rec.Code, rec.Header().Get("Location"))
	}
}
