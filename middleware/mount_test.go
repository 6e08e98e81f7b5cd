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
	"sync/atomic"
	"testing"

	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/providers/devoidc"
)

// appTag is cookieTag("/app"), worked out independently:
// printf /app | sha256sum | cut -c1-8.
const appTag = "-f53b52ad"

// subPathE2E is an application under BaseURL <server>/app, mounted
// plainly (its mux sees /app/auth/...) or behind
// http.StripPrefix("/app", ...), with devoidc on its own server, over
// https. opHits counts the requests that reached the provider.
func subPathE2E(t *testing.T, strip bool) (*e2e, *atomic.Int64) {
	t.Helper()
	opTS := httptest.NewTLSServer(nil)
	t.Cleanup(opTS.Close)
	appTS := httptest.NewTLSServer(nil)
	t.Cleanup(appTS.Close)
	base := appTS.URL + "/app"
	op, err := devoidc.New(devoidc.Config{
		Issuer: opTS.URL,
		Clients: []devoidc.Client{{
			ID: "app", Secret: "app-secret",
			RedirectURIs:           []string{base + "/auth/callback/dev"},
			PostLogoutRedirectURIs: []string{base + "/auth/logout/callback"},
		}},
		AutoLogin:  "ada",
		HTTPClient: appTS.Client(),
		Logger:     scanLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	var opHits atomic.Int64
	tapped := tapProvider(t, op)
	opTS.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		opHits.Add(1)
		tapped.ServeHTTP(w, r)
	})
	p, err := providers.OIDC(context.Background(), providers.OIDCConfig{
		Name: "dev", Issuer: opTS.URL, ClientID: "app", ClientSecret: "app-secret", HTTPClient: opTS.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	auth, err := newAuth(t, Config{
		BaseURL: base, Providers: []*providers.Provider{p},
		Keys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")}, Logger: logs.logger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &e2e{t: t, logs: logs, app: appTS, op: op, auth: auth}
	private := auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := UserFrom(r.Context())
		io.WriteString(w, "hello "+u.Name)
	}))
	home := func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "home") }
	mux := http.NewServeMux()
	if strip {
		app := http.NewServeMux()
		app.Handle("/auth/", auth.Handler())
		app.Handle("/private", private)
		app.HandleFunc("/{$}", home)
		mux.Handle("/app/", http.StripPrefix("/app", app))
	} else {
		mux.Handle("/app/auth/", auth.Handler())
		mux.Handle("/app/private", private)
		mux.HandleFunc("/app/{$}", home)
	}
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "another application") })
	appTS.Config.Handler = mux
	jar, _ := cookiejar.New(nil)
	e.client = tapClient(t, auth, appTS.Client())
	e.client.Jar = jar
	e.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return e, &opHits
}

// TestSubPath signs in, refreshes and signs out an application under
// BaseURL …/app, mounted plainly and behind http.StripPrefix: every URL
// it writes is under /app, its cookies are __Host- with Path=/ and names
// of their own, and return paths outside /app are refused.
func TestSubPath(t *testing.T) {
	for _, strip := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "StripPrefix"}[strip], func(t *testing.T) {
			e, _ := subPathE2E(t, strip)
			base := e.app.URL + "/app"

			resp, _ := e.do(http.MethodGet, "/app/private?x=1", nil)
			loc := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusSeeOther || loc != "/app/auth/login?return_to="+url.QueryEscape("/app/private?x=1") {
				t.Fatalf("protected page: %d Location %q", resp.StatusCode, loc)
			}
			resp, _ = e.do(http.MethodGet, loc, nil)
			authz, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || authz.Query().Get("redirect_uri") != base+"/auth/callback/dev" {
				t.Fatalf("login: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			fcs := setCookies(resp)
			if len(fcs) != 1 || !strings.HasPrefix(fcs[0].Name, "__Host-portcullis"+appTag+"-flow.") {
				t.Fatalf("login cookies %v, want one __Host-portcullis%s-flow.* cookie", fcs, appTag)
			}
			checkCookieAttrs(t, fcs[0], true)

			resp, _ = e.do(http.MethodGet, authz.String(), nil)
			cb := resp.Header.Get("Location")
			if !strings.HasPrefix(cb, base+"/auth/callback/dev?") {
				t.Fatalf("provider redirected to %q", cb)
			}
			resp, _ = e.do(http.MethodGet, cb, nil)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/app/private?x=1" {
				t.Fatalf("callback: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			var session bool
			for _, c := range setCookies(resp) {
				if c.Value != "" {
					session = c.Name == "__Host-portcullis"+appTag
					checkCookieAttrs(t, c, true)
				}
			}
			if !session {
				t.Fatalf("callback set %v, want the session cookie __Host-portcullis%s", setCookies(resp), appTag)
			}
			if resp, body := e.do(http.MethodGet, "/app/private?x=1", nil); resp.StatusCode != 200 || body != "hello Ada Lovelace" {
				t.Fatalf("protected page after login: %d %q", resp.StatusCode, body)
			}

			// A refresh on the request path rewrites the same cookie.
			later(e.auth, dueButValid)
			resp, _ = e.do(http.MethodGet, "/app/private", nil)
			if resp.StatusCode != 200 || e.op.Stats().Refreshes != 1 {
				t.Fatalf("refresh: %d, provider refreshes %d", resp.StatusCode, e.op.Stats().Refreshes)
			}
			if cs := setCookies(resp); len(cs) != 1 || cs[0].Name != "__Host-portcullis"+appTag {
				t.Errorf("refresh set %v", cs)
			}

			resp, body := e.do(http.MethodGet, "/app/auth/userinfo", map[string]string{"Accept": "application/json", "Sec-Fetch-Mode": "cors"})
			var ui map[string]any
			if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &ui) != nil || ui["sub"] != "ada" {
				t.Fatalf("userinfo: %d %s", resp.StatusCode, body)
			}
			resp, body = e.do(http.MethodGet, "/app/auth/logout?return_to=/other", nil)
			if resp.StatusCode != 200 || !strings.Contains(body, `action="/app/auth/logout"`) || !strings.Contains(body, `href="/app/"`) {
				t.Errorf("logout page: %d %s", resp.StatusCode, body)
			}

			resp, _ = e.do(http.MethodPost, "/app/auth/logout?return_to=/app/", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": e.app.URL})
			end, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusSeeOther || end.Query().Get("post_logout_redirect_uri") != base+"/auth/logout/callback" {
				t.Fatalf("logout: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			resp, body = e.follow(end.String())
			if resp.StatusCode != 200 || body != "home" || resp.Request.URL.Path != "/app/" {
				t.Fatalf("after the provider's logout: %d %s %q", resp.StatusCode, resp.Request.URL, body)
			}
			if resp, _ := e.do(http.MethodGet, "/app/private", nil); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("protected page after logout: %d", resp.StatusCode)
			}

			// Paths of other applications on the host, and the default.
			for rt, want := range map[string]string{"/other": "/app/", "/appx": "/app/", "/": "/app/", "/app": "/app", "/app/a?b=1": "/app/a?b=1"} {
				resp, _ := e.do(http.MethodPost, "/app/auth/logout?return_to="+url.QueryEscape(rt), map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": e.app.URL})
				if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || got != want {
					t.Errorf("logout with return_to %q: %d Location %q, want %q", rt, resp.StatusCode, got, want)
				}
			}
			resp, body = e.do(http.MethodGet, "/app/auth/userinfo", map[string]string{"Accept": "application/json", "Sec-Fetch-Mode": "cors"})
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"login_url":"/app/auth/login"`) {
				t.Errorf("userinfo signed out: %d %s", resp.StatusCode, body)
			}
			if strings.Contains(e.logs.String(), "level=ERROR") {
				t.Errorf("a proper mount logged an error:\n%s", e.logs)
			}
		})
	}
}

// TestHeadStartsNothing: HEAD on the endpoints whose GET starts or ends
// a flow answers 405 without a cookie, a redirect or a call to the
// provider, and a HEAD of the callback URL does not spend its state.
func TestHeadStartsNothing(t *testing.T) {
	for _, strip := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "StripPrefix"}[strip], func(t *testing.T) {
			e, hits := subPathE2E(t, strip)
			before := hits.Load()
			for _, path := range []string{"/app/auth/login", "/app/auth/login?return_to=/app/private", "/app/auth/login/dev", "/app/auth/logout/callback?state=x"} {
				resp, _ := e.do(http.MethodHead, path, nil)
				if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET" ||
					resp.Header.Get("Location") != "" || len(resp.Header.Values("Set-Cookie")) != 0 {
					t.Errorf("HEAD %s: %d Allow %q Location %q Set-Cookie %q", path, resp.StatusCode,
						resp.Header.Get("Allow"), resp.Header.Get("Location"), resp.Header.Values("Set-Cookie"))
				}
			}
			if n := hits.Load() - before; n != 0 {
				t.Errorf("HEAD requests made %d provider requests", n)
			}

			resp, _ := e.do(http.MethodGet, "/app/auth/login?return_to=/app/private", nil)
			resp, _ = e.do(http.MethodGet, resp.Header.Get("Location"), nil)
			cb := resp.Header.Get("Location")
			if resp, _ := e.do(http.MethodHead, cb, nil); resp.StatusCode != http.StatusMethodNotAllowed || len(resp.Header.Values("Set-Cookie")) != 0 {
				t.Errorf("HEAD callback: %d Set-Cookie %q", resp.StatusCode, resp.Header.Values("Set-Cookie"))
			}
			if resp, _ := e.do(http.MethodGet, cb, nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/app/private" {
				t.Errorf("callback after a HEAD of it: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}

// TestMountMistakes: a pattern with a method, a prefix other than
// PathPrefix and a StripPrefix that removes PathPrefix each answer 500,
// set no cookie, and log one error that names the fix, however many
// requests come.
func TestMountMistakes(t *testing.T) {
	for name, tc := range map[string]struct {
		base  string
		mount func(mux *http.ServeMux, h http.Handler)
		path  string
		want  string // in the log record
	}{
		"method pattern": {"https://app.example", func(mux *http.ServeMux, h http.Handler) { mux.Handle("GET /auth/", h) },
			"/auth/login", `mount it without one, as mux.Handle(\"/auth/\", auth.Handler())`},
		"method pattern under a path": {"https://app.example/app", func(mux *http.ServeMux, h http.Handler) { mux.Handle("GET /app/auth/", h) },
			"/app/auth/login", `mux.Handle(\"/app/auth/\", auth.Handler())`},
		"other prefix": {"https://app.example", func(mux *http.ServeMux, h http.Handler) { mux.Handle("/sso/", h) },
			"/sso/login", `outside PathPrefix /auth: mount it as mux.Handle(\"/auth/\", auth.Handler())`},
		"StripPrefix of PathPrefix": {"https://app.example", func(mux *http.ServeMux, h http.Handler) { mux.Handle("/auth/", http.StripPrefix("/auth", h)) },
			"/auth/login", "a StripPrefix must not remove PathPrefix"},
		"StripPrefix of base and PathPrefix": {"https://app.example/app", func(mux *http.ServeMux, h http.Handler) { mux.Handle("/app/auth/", http.StripPrefix("/app/auth", h)) },
			"/app/auth/login", `http.StripPrefix(\"/app\", ...) of BaseURL's path only`},
	} {
		t.Run(name, func(t *testing.T) {
			logs := &logBuffer{}
			a, err := newAuth(t, Config{BaseURL: tc.base, Providers: []*providers.Provider{devProvider(t, "dev", tc.base)}, Keys: [][]byte{testKey}, Logger: logs.logger()})
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			tc.mount(mux, a.Handler())
			for range 3 {
				w := httptest.NewRecorder()
				mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tc.path, nil))
				if w.Code != http.StatusInternalServerError || len(w.Result().Cookies()) != 0 || w.Header().Get("Location") != "" {
					t.Errorf("GET %s: %d cookies %v Location %q, want 500 and nothing else", tc.path, w.Code, w.Result().Cookies(), w.Header().Get("Location"))
				}
			}
			got := logs.String()
			if n := strings.Count(got, "level=ERROR"); n != 1 || !strings.Contains(got, tc.want) {
				t.Errorf("%d error records, want one naming the fix (%s):\n%s", n, tc.want, got)
			}
		})
	}
}
