package middleware

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/opkit"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/providers/devoidc"
)

// downApp is an application with two providers, "up" and "down" (display
// names "Up Corp" and "Down Corp"), each a devoidc server behind an
// opkit.Outage, a public page "/" and a protected page "/private".
type downApp struct {
	*e2e
	outages map[string]*opkit.Outage
	issuers map[string]string
}

// newDownApp starts the application; the providers named in down are down
// (503) when it is configured.
func newDownApp(t *testing.T, down ...string) *downApp {
	t.Helper()
	appTS := httptest.NewServer(nil)
	t.Cleanup(appTS.Close)
	d := &downApp{outages: map[string]*opkit.Outage{}, issuers: map[string]string{}}
	logs := &logBuffer{}
	var ps []*providers.Provider
	for _, name := range []string{"up", "down"} {
		opTS := httptest.NewServer(nil)
		t.Cleanup(opTS.Close)
		op, err := devoidc.New(devoidc.Config{
			Issuer: opTS.URL,
			Clients: []devoidc.Client{{ID: "app", Secret: "app-secret",
				RedirectURIs:           []string{appTS.URL + "/auth/callback/" + name},
				PostLogoutRedirectURIs: []string{appTS.URL + "/auth/logout/callback"}}},
			AutoLogin: "ada",
		})
		if err != nil {
			t.Fatal(err)
		}
		mode := opkit.Up
		for _, n := range down {
			if n == name {
				mode = opkit.Unavailable
			}
		}
		d.outages[name] = opkit.NewOutage(op, mode)
		opTS.Config.Handler = d.outages[name]
		d.issuers[name] = opTS.URL
		ps = append(ps, d.provider(t, name, logs))
	}
	auth, err := newAuth(t, Config{BaseURL: appTS.URL, Providers: ps, Keys: [][]byte{testKey}, Logger: logs.logger()})
	if err != nil {
		t.Fatalf("New with a provider that is down: %v", err)
	}
	jar, _ := cookiejar.New(nil)
	client := appTS.Client()
	client.Jar = jar
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	d.e2e = &e2e{t: t, logs: logs, app: appTS, auth: auth, client: client}
	appTS.Config.Handler = d.mux(auth)
	return d
}

// provider returns a new provider for the devoidc server named name.
func (d *downApp) provider(t *testing.T, name string, logs *logBuffer) *providers.Provider {
	t.Helper()
	p, err := providers.OIDC(context.Background(), providers.OIDCConfig{
		Name: name, DisplayName: strings.ToUpper(name[:1]) + name[1:] + " Corp",
		Issuer: d.issuers[name], ClientID: "app", ClientSecret: "app-secret",
		Logger: logs.logger(),
	})
	if err != nil {
		t.Fatalf("providers.OIDC(%s): %v", name, err)
	}
	return p
}

// mux is the application's handler with auth.
func (d *downApp) mux(auth *Auth) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("/private", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := SessionFrom(r.Context())
		io.WriteString(w, "hello "+s.User.Name+" via "+s.User.Provider+" at "+r.URL.RequestURI()+" token "+s.Tokens.AccessToken)
	})))
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "home") })
	return mux
}

// signIn signs in with provider name and returns the session cookies.
func (d *downApp) signIn(name string) []*http.Cookie {
	d.t.Helper()
	if resp, body := d.follow(d.app.URL + "/auth/login/" + name + "?return_to=/private"); resp.StatusCode != 200 || !strings.Contains(body, "via "+name) {
		d.t.Fatalf("sign-in with %s: %d %q", name, resp.StatusCode, body)
	}
	u, _ := url.Parse(d.app.URL)
	var cs []*http.Cookie
	for _, c := range d.client.Jar.Cookies(u) {
		if c.Name == "portcullis" || strings.HasPrefix(c.Name, "portcullis.") {
			cs = append(cs, c)
		}
	}
	return cs
}

// restart replaces the application by a new one with the same
// configuration and keys: new providers, discovered if they can be.
func (d *downApp) restart() {
	d.t.Helper()
	var ps []*providers.Provider
	for _, name := range []string{"up", "down"} {
		ps = append(ps, d.provider(d.t, name, d.logs))
	}
	auth, err := newAuth(d.t, Config{BaseURL: d.app.URL, Providers: ps, Keys: [][]byte{testKey}, Logger: d.logs.logger()})
	if err != nil {
		d.t.Fatal(err)
	}
	d.auth = auth
	d.app.Config.Handler = d.mux(auth)
}

// retryAfterOf returns the response's Retry-After in seconds, which must
// be between 1 and the providers' longest backoff (a minute).
func retryAfterOf(t *testing.T, resp *http.Response) time.Duration {
	t.Helper()
	n, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || n < 1 || n > 60 {
		t.Fatalf("Retry-After %q, want 1 to 60 seconds", resp.Header.Get("Retry-After"))
	}
	return time.Duration(n) * time.Second
}

// waitDiscovered waits until a sign-in with provider name starts, sleeping
// Retry-After between attempts (the provider's backoff), a few times at
// most.
func (d *downApp) waitDiscovered(name string) {
	d.t.Helper()
	for range 4 {
		resp, _ := d.do(http.MethodGet, "/auth/login/"+name, nil)
		switch resp.StatusCode {
		case http.StatusFound:
			return
		case http.StatusServiceUnavailable:
			time.Sleep(retryAfterOf(d.t, resp))
		default:
			d.t.Fatalf("sign-in with %s: %d", name, resp.StatusCode)
		}
	}
	d.t.Fatalf("sign-in with %s still unavailable", name)
}

// TestProviderDownAtStart: an application whose provider is down when it
// starts serves its public pages and the sign-in page, answers a sign-in
// with that provider with a designed 503 (HTML and JSON: named provider,
// Retry-After, a link that tries the same sign-in again, no details),
// signs in with the other provider, and signs in with the first as soon
// as it answers.
func TestProviderDownAtStart(t *testing.T) {
	d := newDownApp(t, "down")
	if resp, body := d.do(http.MethodGet, "/", nil); resp.StatusCode != 200 || body != "home" {
		t.Fatalf("public page: %d %q", resp.StatusCode, body)
	}
	resp, body := d.do(http.MethodGet, "/auth/login?return_to=/private", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "Down Corp") || !strings.Contains(body, "Up Corp") ||
		!strings.Contains(body, `href="/auth/login/down?return_to=%2Fprivate"`) {
		t.Fatalf("sign-in page: %d\n%s", resp.StatusCode, body)
	}

	// The provider that is down: a designed page.
	const start = "/auth/login/down?return_to=%2Fprivate%3Fx%3D1%26y%3D2"
	resp, body = d.do(http.MethodGet, start, nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("sign-in with a provider that is down: %d\n%s", resp.StatusCode, body)
	}
	retryAfterOf(t, resp)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type %q", ct)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(body, "<script") {
		t.Errorf("page with CSP %q or a script:\n%s", csp, body)
	}
	if !strings.Contains(body, "<h1>Down Corp is unavailable</h1>") || !strings.Contains(body, "Try again in a moment") {
		t.Errorf("page does not say which provider is unavailable:\n%s", body)
	}
	retry := `href="/auth/login/down?return_to=%2Fprivate%3Fx%3D1%26y%3D2"`
	if !strings.Contains(body, retry) {
		t.Errorf("page lacks the link %s:\n%s", retry, body)
	}
	for _, detail := range []string{d.issuers["down"], strings.TrimPrefix(d.issuers["down"], "http://"), "discovery", "HTTP 503", "Service Unavailable"} {
		if strings.Contains(body, detail) {
			t.Errorf("page leaks %q:\n%s", detail, body)
		}
	}
	if cs := resp.Cookies(); len(cs) != 0 {
		t.Errorf("a sign-in that cannot start set cookies %v", cs)
	}
	// API clients get JSON.
	resp, body = d.do(http.MethodGet, start, map[string]string{"Accept": "application/json", "Sec-Fetch-Mode": "cors"})
	var j struct{ Error, Message string }
	if resp.StatusCode != http.StatusServiceUnavailable || json.Unmarshal([]byte(body), &j) != nil ||
		j.Error != "provider_unavailable" || !strings.Contains(j.Message, "Down Corp") {
		t.Errorf("JSON: %d %s", resp.StatusCode, body)
	}
	retryAfterOf(t, resp)

	// The other provider is unaffected.
	if resp, body := d.follow(d.app.URL + "/auth/login/up?return_to=/private"); resp.StatusCode != 200 || !strings.Contains(body, "hello Ada Lovelace via up at /private") {
		t.Fatalf("sign-in with the provider that is up: %d %q", resp.StatusCode, body)
	}

	// The provider comes back: once its backoff is over, the link on the
	// page signs in.
	d.outages["down"].Set(opkit.Up)
	d.waitDiscovered("down")
	if resp, body := d.follow(d.app.URL + start); resp.StatusCode != 200 || !strings.Contains(body, "hello Ada Lovelace via down at /private?x=1&y=2") {
		t.Fatalf("sign-in after the provider came back: %d %q", resp.StatusCode, body)
	}
	logs := d.logs.String()
	for _, want := range []string{"event=login_failed provider=down reason=provider_down", "provider unreachable", "provider discovered"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

// TestProviderDownMidSession: a provider that goes down signs nobody out.
// While the access token is valid the session goes on with it (the
// refresh fails transiently); once it has expired, requests get 502, and
// the session is kept; when the provider is back, the refresh works. The
// same holds after a restart while the provider is down, when the
// provider has not been discovered at all.
func TestProviderDownMidSession(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(map[bool]string{false: "provider goes down", true: "restart while it is down"}[restart], func(t *testing.T) {
			d := newDownApp(t)
			cookies := d.signIn("down")
			_, before, _ := get(t, d.app.URL+"/private", cookies)
			d.outages["down"].Set(opkit.Unavailable)
			if restart {
				d.restart()
			}
			auth := d.auth

			// Due for a refresh (devoidc's tokens live 5 minutes), still valid.
			later(auth, 4*time.Minute+30*time.Second)
			code, body, set := get(t, d.app.URL+"/private", cookies)
			if code != 200 || body != before || len(set) != 0 {
				t.Fatalf("valid token, provider down: %d %q, cookies %v", code, body, set)
			}
			// Expired: 502, and the session is kept.
			later(auth, 6*time.Minute)
			code, body, set = get(t, d.app.URL+"/private", cookies)
			if code != http.StatusBadGateway || len(set) != 0 || !strings.Contains(body, "provider_unavailable") {
				t.Fatalf("expired token, provider down: %d %q, cookies %v", code, body, set)
			}
			if resp, _ := d.do(http.MethodGet, "/private", nil); resp.StatusCode != http.StatusBadGateway {
				t.Fatalf("expired token, provider down, a browser: %d, want 502 (not a redirect to sign in)", resp.StatusCode)
			}
			if strings.Contains(d.logs.String(), "session ended") {
				t.Fatalf("a session ended:\n%s", d.logs)
			}

			// Back: the refresh works (after the backoffs: the provider's
			// discovery backoff, real time, then the middleware's, on
			// its clock).
			d.outages["down"].Set(opkit.Up)
			if restart {
				d.waitDiscovered("down")
			}
			later(auth, 8*time.Minute)
			code, body, set = get(t, d.app.URL+"/private", cookies)
			if code != 200 || body == before || !strings.HasPrefix(body, "hello Ada Lovelace via down") || len(set) == 0 {
				t.Fatalf("provider back: %d %q, cookies %v", code, body, set)
			}
		})
	}
}

// TestLogoutPageCSPOfAProviderDiscoveredLater: the sign-out page's
// form-action allows the end_session origin of a provider that was down
// when the application started once it is known, and the page waits for
// it when it is the signed-in user's provider (the one the form leads to).
func TestLogoutPageCSPOfAProviderDiscoveredLater(t *testing.T) {
	d := newDownApp(t, "down")
	origin := func(name string) string {
		u, _ := url.Parse(d.issuers[name])
		return u.Scheme + "://" + u.Host
	}
	both := "form-action 'self' " + origin("up") + " " + origin("down") + ";"
	resp, _ := d.do(http.MethodGet, "/auth/logout", nil)
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+origin("up")+";") {
		t.Fatalf("sign-out page CSP %q: want the known provider's origin only", csp)
	}
	d.outages["down"].Set(opkit.Up)
	d.waitDiscovered("down")
	resp, _ = d.do(http.MethodGet, "/auth/logout", nil)
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, both) {
		t.Fatalf("sign-out page CSP %q, want both providers' origins", csp)
	}

	// Signed in with "down", restarted while it is down: nothing has
	// fetched its document when the user opens the sign-out page, which
	// fetches it.
	d.signIn("down")
	d.outages["down"].Set(opkit.Unavailable)
	d.restart()
	d.outages["down"].Set(opkit.Up)
	time.Sleep(time.Second) // the provider's first backoff (providers.OIDC)
	resp, body := d.do(http.MethodGet, "/auth/logout", nil)
	if csp := resp.Header.Get("Content-Security-Policy"); resp.StatusCode != 200 || !strings.Contains(csp, both) || !strings.Contains(body, "Ada Lovelace") {
		t.Fatalf("sign-out page after a restart: %d, CSP %q", resp.StatusCode, csp)
	}
}

// TestCallbackAfterRestartWhileProviderDown: a sign-in started before a
// restart, whose callback arrives while the provider is down and has not
// been discovered since, gets the designed 503, whose link starts the
// sign-in again with the flow's return path.
func TestCallbackAfterRestartWhileProviderDown(t *testing.T) {
	d := newDownApp(t)
	resp, _ := d.do(http.MethodGet, "/auth/login/down?return_to=/private%3Fx%3D1", nil)
	resp, _ = d.do(http.MethodGet, resp.Header.Get("Location"), nil) // devoidc signs Ada in
	callback := resp.Header.Get("Location")
	if !strings.HasPrefix(callback, d.app.URL+"/auth/callback/down?") {
		t.Fatalf("the provider redirected to %q", callback)
	}
	d.outages["down"].Set(opkit.Unavailable)
	d.restart()
	resp, body := d.do(http.MethodGet, callback, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "Down Corp is unavailable") ||
		!strings.Contains(body, `href="/auth/login/down?return_to=%2Fprivate%3Fx%3D1"`) {
		t.Fatalf("callback while the provider is down: %d\n%s", resp.StatusCode, body)
	}
	retryAfterOf(t, resp)
	if !strings.Contains(d.logs.String(), "reason=provider_down") {
		t.Errorf("the failed login is not logged with reason provider_down:\n%s", d.logs)
	}
}

// TestBearerIntrospectCheckedAtFirstUse: BearerTokens.Introspect needs an
// introspection endpoint, which New checks when the provider's document
// is known; when the provider is down at startup New cannot, and the
// first opaque token is refused (500, logged) once the document shows
// there is none — never accepted, never taken for an invalid token.
func TestBearerIntrospectCheckedAtFirstUse(t *testing.T) {
	opTS := httptest.NewServer(nil)
	defer opTS.Close()
	op, err := devoidc.New(devoidc.Config{Issuer: opTS.URL, Clients: []devoidc.Client{{ID: "app", Secret: "s", RedirectURIs: []string{"https://app.example/auth/callback/dev"}}}})
	if err != nil {
		t.Fatal(err)
	}
	// devoidc without its introspection_endpoint.
	outage := opkit.NewOutage(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			op.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		op.ServeHTTP(rec, r)
		var doc map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			t.Error(err)
		}
		delete(doc, "introspection_endpoint")
		opkit.WriteJSON(w, http.StatusOK, doc)
	}), opkit.Unavailable)
	opTS.Config.Handler = outage
	logs := &logBuffer{}
	cfg := func(p *providers.Provider) Config {
		return Config{BaseURL: "https://app.example", Providers: []*providers.Provider{p}, Keys: [][]byte{testKey}, Logger: logs.logger(),
			BearerTokens: &BearerTokens{Provider: "dev", Audience: "api", Introspect: true}}
	}
	provider := func() *providers.Provider {
		p, err := providers.OIDC(context.Background(), providers.OIDCConfig{Name: "dev", Issuer: opTS.URL, ClientID: "app", ClientSecret: "s"})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := provider()
	a, err := newAuth(t, cfg(p))
	if err != nil {
		t.Fatalf("New with a provider that is down: %v", err)
	}
	h := a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("an opaque token was accepted") }))
	bearer := map[string]string{"Authorization": "Bearer opaque-token", "Accept": "application/json"}
	if rec := serve(h, http.MethodGet, "/api", bearer); rec.Code != http.StatusBadGateway {
		t.Fatalf("provider down: %d, want 502", rec.Code)
	}
	outage.Set(opkit.Up)
	time.Sleep(time.Second) // the provider's first backoff (providers.OIDC)
	rec := serve(h, http.MethodGet, "/api", bearer)
	if rec.Code != http.StatusInternalServerError || !strings.Contains(logs.String(), "reason=introspection_unsupported") {
		t.Fatalf("provider without an introspection endpoint: %d\n%s", rec.Code, logs)
	}
	// Known at startup, the same configuration is refused by New.
	if _, err := newAuth(t, cfg(provider())); err == nil || !strings.Contains(err.Error(), "introspection_endpoint") {
		t.Fatalf("New with a provider known to lack introspection: %v", err)
	}
}
