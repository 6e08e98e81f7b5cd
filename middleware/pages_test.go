package middleware

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/middleware/policy"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/providers/devoidc"
)

func TestChooserPage(t *testing.T) {
	a := newTestAuth(t, devProvider(t, "corp", "https://app.example"), devProvider(t, "partner", "https://app.example"))
	rec := serve(a.Handler(), "GET", "https://app.example/auth/login?return_to=/docs%3Fa%3D1", nil)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	body := rec.Body.String()
	for _, want := range []string{
		`href="/auth/login/corp?return_to=%2Fdocs%3Fa%3D1"`,
		`href="/auth/login/partner?return_to=%2Fdocs%3Fa%3D1"`,
		`<span>Sign in with corp</span>`,
		`<span>Sign in with partner</span>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("chooser lacks %s", want)
		}
	}
	if len(rec.Result().Cookies()) != 0 {
		t.Error("the chooser page set a cookie; flows start only when a button is chosen")
	}
	// An unsafe return_to is dropped, not echoed.
	rec = serve(a.Handler(), "GET", "https://app.example/auth/login?return_to=//evil.example", nil)
	if strings.Contains(rec.Body.String(), "evil") {
		t.Error("chooser echoed an unsafe return_to")
	}
	// Each button starts a flow with its provider.
	rec = serve(a.Handler(), "GET", "https://app.example/auth/login/partner", nil)
	if rec.Code != http.StatusFound || !strings.Contains(rec.Header().Get("Location"), "callback%2Fpartner") {
		t.Fatalf("login/partner: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	if rec := serve(a.Handler(), "GET", "https://app.example/auth/login/nope", nil); rec.Code != http.StatusBadRequest {
		t.Fatalf("unknown provider: %d, want 400", rec.Code)
	}
}

func TestChooserEscapesDisplayNames(t *testing.T) {
	a := newTestAuth(t)
	// Display names come from configuration; they are still escaped, and
	// a URL that is not a path is neutralised by html/template.
	rec := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.pages.render(w, Page{Name: "chooser", Status: 200, ChooserPage: ChooserPage{Providers: []ChooserButton{{Name: "x", DisplayName: `<img src=x onerror=alert(1)>`, URL: "javascript:alert(1)"}}}}, nil)
	}), "GET", "/", nil)
	body := rec.Body.String()
	if strings.Contains(body, "<img") || strings.Contains(body, "javascript:") {
		t.Fatalf("unescaped output: %s", body)
	}
}

// TestPagesAreSelfContained checks every page for what "designed,
// accessible, no external requests" means in markup: a language, a title,
// a viewport, a CSP without scripts, no URLs to other hosts, visible focus,
// and labelled controls.
func TestPagesAreSelfContained(t *testing.T) {
	a := newTestAuth(t, devProvider(t, "corp", "https://app.example"), devProvider(t, "partner", "https://app.example"))
	pages := map[string]string{}
	pages["chooser"] = serve(a.Handler(), "GET", "https://app.example/auth/login", nil).Body.String()
	pages["logout"] = serve(a.Handler(), "GET", "https://app.example/auth/logout", nil).Body.String()
	rec := serve(a.Handler(), "GET", "https://app.example/auth/callback/corp?state=x&code=y", map[string]string{"Accept": "text/html"})
	pages["error"] = rec.Body.String()
	if csp := rec.Header().Get("Content-Security-Policy"); csp != a.pages.csp["error"] || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", rec.Header().Get("Content-Security-Policy"))
	}
	external := regexp.MustCompile(`(?i)(src|href|action)\s*=\s*"(https?:|//)`)
	for name, body := range pages {
		for _, want := range []string{`<html lang="en">`, "<title>", `name="viewport"`, `name="color-scheme"`, ":focus-visible", "prefers-color-scheme:dark", "<main>", "<h1"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s page lacks %s", name, want)
			}
		}
		if strings.Contains(body, "<script") || external.MatchString(body) || strings.Contains(body, "@import") || strings.Contains(body, "url(") {
			t.Errorf("%s page loads something from elsewhere or runs a script", name)
		}
	}
	// Nobody is signed in: the sign-out page says so and offers to sign in.
	if !strings.Contains(pages["logout"], `<h1>You are not signed in</h1>`) || !strings.Contains(pages["logout"], `<a class="button primary" href="/auth/login">Sign in</a>`) ||
		strings.Contains(pages["logout"], "<form") || strings.Contains(pages["logout"], "Sign out") {
		t.Errorf("logout page without a session: %s", pages["logout"])
	}
}

// testLogo is an inline SVG logo with a gradient (a url(#id) reference),
// a title and the XML noise editors leave.
const testLogo = `<?xml version="1.0"?><!-- made by hand --><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" width="32" height="32"><title>Acme</title>` +
	`<defs><linearGradient id="g"><stop offset="0" stop-color="#0b7a53"/><stop offset="1" stop-color="#065f41"/></linearGradient></defs>` +
	`<rect width="32" height="32" rx="6" fill="url(#g)"/><path d="M8 24 16 6l8 18z" fill="#fff"/></svg>`

// pageSecrets are values of the page test's setup that no page may show.
const (
	pageClientSecret = "client-secret-6f1e0c9b2d"
	pageInternal     = "corp-internal"
	pageDisplay      = "Example Corp"
)

// namedDevProvider is devProvider with a display name and a distinctive
// client secret.
func namedDevProvider(t *testing.T, name, display string) *providers.Provider {
	t.Helper()
	ts := httptest.NewServer(nil)
	t.Cleanup(ts.Close)
	op, err := devoidc.New(devoidc.Config{
		Issuer:    ts.URL,
		Clients:   []devoidc.Client{{ID: "app", Secret: pageClientSecret, RedirectURIs: []string{"https://app.example/auth/callback/" + name}}},
		AutoLogin: "ada",
		Logger:    scanLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = tapProvider(t, op)
	p, err := providers.OIDC(context.Background(), providers.OIDCConfig{Name: name, DisplayName: display, Issuer: ts.URL, ClientID: "app", ClientSecret: pageClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// downProvider is a provider whose discovery document cannot be fetched.
func downProvider(t *testing.T) *providers.Provider {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(ts.Close)
	p, err := providers.OIDC(context.Background(), providers.OIDCConfig{Name: "down-internal", DisplayName: "Down Corp", Issuer: ts.URL, ClientID: "app"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// signInCookies signs in through a at provider (a devoidc with AutoLogin)
// and returns the session cookies.
func signInCookies(t *testing.T, h http.Handler, provider string) []*http.Cookie {
	t.Helper()
	rec := serve(h, "GET", "https://app.example/auth/login/"+provider, nil)
	if rec.Code != http.StatusFound {
		t.Fatalf("login: %d", rec.Code)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(rec.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb := serve(h, "GET", resp.Header.Get("Location"), nil, rec.Result().Cookies()...)
	if cb.Code != http.StatusSeeOther {
		t.Fatalf("callback: %d %s", cb.Code, cb.Body)
	}
	var cookies []*http.Cookie
	for _, c := range cb.Result().Cookies() {
		if c.Value != "" && c.MaxAge >= 0 {
			cookies = append(cookies, c)
		}
	}
	return cookies
}

// replacedPages defines every page, showing what a template can use.
const replacedPages = `{{define "shell"}}<!doctype html><html lang="en"><title>{{.Title}}</title><main data-page="{{.Name}}">` +
	`<header>{{.Logo}}{{.Brand.Name}}</header><h1>{{.Heading}}</h1><p>{{.Message}}</p>{{if .User}}<p>user {{.User}}</p>{{end}}` +
	`{{range .Providers}}<a href="{{.URL}}">{{.DisplayName}}</a>{{end}}{{if .Action}}<a class="action" href="{{.Action}}">{{.ActionLabel}}</a>{{end}}` +
	`<a href="{{.Home}}">home</a></main>{{end}}` +
	`{{define "chooser"}}{{template "shell" .}}{{end}}{{define "error"}}{{template "shell" .}}{{end}}{{define "forbidden"}}{{template "shell" .}}{{end}}` +
	`{{define "unavailable"}}{{template "shell" .}}{{end}}{{define "logout"}}{{template "shell" .}}{{end}}{{define "signed-out"}}{{template "shell" .}}{{end}}`

// TestEveryPage serves every page, built-in with the default look, with a
// brand (inline logo, and a logo URL) and replaced through Config.Pages,
// and checks its status and headers, its Content-Security-Policy (for a
// built-in page: the hash of its one style element, no 'unsafe-inline'),
// the brand's name, logo and accent, the main action's link, and that no
// configured provider name, secret, cookie or error text shows.
func TestEveryPage(t *testing.T) {
	corp := namedDevProvider(t, pageInternal, pageDisplay)
	other := namedDevProvider(t, "partner-internal", "Partner")
	down := downProvider(t)
	deny := policy.Func(func(*policy.Request) error { return fmt.Errorf("no: %w", policy.ErrDenied) })
	brand := Brand{Name: "Acme Notes", Logo: testLogo, Accent: "#0b7a53"}
	variants := []struct {
		name  string
		brand Brand
		pages *template.Template
	}{
		{"default", Brand{}, nil},
		{"branded", brand, nil},
		{"logo URL", Brand{Name: "Acme Notes", LogoURL: "/static/logo.png?v=2"}, nil},
		{"replaced", brand, template.Must(template.New("app").Parse(replacedPages))},
	}
	type visit struct {
		page, method, target string
		hdr                  map[string]string
		signedIn             bool
		flow                 string // start this sign-in first; target gets its state
		status               int
		action, label        string // the main action ("" none)
		text                 []string
	}
	html := map[string]string{"Accept": "text/html"}
	visits := []visit{
		{page: "chooser", method: "GET", target: "/auth/login?return_to=/docs", status: 200, text: []string{pageDisplay, "Partner"}},
		{page: "error", method: "GET", target: "/auth/callback/" + pageInternal + "?state=x&code=y", hdr: html, status: 400,
			action: "/auth/login/" + pageInternal, label: "Try again", text: []string{"This sign-in link is not valid"}},
		{page: "error", method: "GET", target: "/auth/callback/" + pageInternal + "?error=access_denied&error_description=SECRET-DESCRIPTION&state=", hdr: html,
			flow: "/auth/login/" + pageInternal + "?return_to=/docs&max_age=60", status: 401, action: "/auth/login/" + pageInternal + "?max_age=60&return_to=%2Fdocs", label: "Try again",
			text: []string{"Sign-in was cancelled", pageDisplay + " did not give access"}},
		{page: "error", method: "GET", target: "/auth/login/nope", hdr: html, status: 400,
			action: "/auth/login", label: "Go to the sign-in page", text: []string{"This sign-in option does not exist"}},
		{page: "forbidden", method: "GET", target: "/admin?x=1", hdr: map[string]string{"Sec-Fetch-Mode": "navigate"}, signedIn: true, status: 403,
			action: "/auth/logout?return_to=%2Fadmin%3Fx%3D1", label: "Use another account", text: []string{"Access denied", "not allowed to see this page"}},
		{page: "forbidden", method: "POST", target: "/auth/logout", hdr: map[string]string{"Sec-Fetch-Site": "cross-site", "Accept": "text/html"}, status: 403,
			action: "/auth/logout", label: "Go to the sign-out page", text: []string{"Sign-out was blocked"}},
		{page: "unavailable", method: "GET", target: "/auth/login/down-internal?return_to=/docs&max_age=60", hdr: html, status: 503,
			action: "/auth/login/down-internal?max_age=60&return_to=%2Fdocs", label: "Try again", text: []string{"Down Corp is unavailable"}},
		{page: "logout", method: "GET", target: "/auth/logout?return_to=/docs", signedIn: true, status: 200,
			action: "/auth/logout?return_to=%2Fdocs", label: "Sign out", text: []string{"Sign out", "You are signed in as"}},
		{page: "logout", method: "GET", target: "/auth/logout?return_to=/docs", status: 200,
			action: "/auth/login?return_to=%2Fdocs", label: "Sign in", text: []string{"You are not signed in"}},
		{page: "signed-out", method: "GET", target: "/auth/logout/callback?state=x", status: 200,
			action: "/auth/login", label: "Sign in again", text: []string{"You are signed out"}},
	}
	styleRe := regexp.MustCompile(`(?s)<style>(.*?)</style>`)
	tags := regexp.MustCompile(`(?s)<[^>]*>`)
	for _, v := range variants {
		a, err := newAuth(t, Config{BaseURL: "https://app.example", Providers: []*providers.Provider{corp, other, down}, Keys: [][]byte{testKey}, Brand: v.brand, Pages: v.pages})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle("/auth/", a.Handler())
		mux.Handle("/admin", a.RequireWith(deny)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
		session := signInCookies(t, mux, pageInternal)
		for _, vi := range visits {
			t.Run(v.name+"/"+vi.page+" "+vi.method+" "+vi.target, func(t *testing.T) {
				var cookies []*http.Cookie
				if vi.signedIn {
					cookies = session
				}
				target := vi.target
				if vi.flow != "" {
					start := serve(mux, "GET", "https://app.example"+vi.flow, nil)
					loc, err := url.Parse(start.Header().Get("Location"))
					if err != nil || start.Code != http.StatusFound {
						t.Fatalf("start: %d %v", start.Code, err)
					}
					target += loc.Query().Get("state") + "&iss=" + url.QueryEscape(corp.Issuer()) // RFC 9207
					cookies = start.Result().Cookies()
				}
				rec := serve(mux, vi.method, "https://app.example"+target, vi.hdr, cookies...)
				body, h := rec.Body.String(), rec.Header()
				if rec.Code != vi.status || h.Get("Content-Type") != "text/html; charset=utf-8" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") != "no-store" {
					t.Fatalf("status %d (want %d), headers %v\n%s", rec.Code, vi.status, h, body)
				}
				csp := h.Get("Content-Security-Policy")
				if v.pages != nil {
					if !strings.Contains(body, `<main data-page="`+vi.page+`">`) {
						t.Errorf("not the replaced %q page:\n%s", vi.page, body)
					}
					want := customCSP
					if vi.page == "logout" {
						// The form leads to the providers' end_session endpoints.
						origins := a.logoutOrigins(context.Background(), "")
						if len(origins) == 0 {
							t.Fatal("no end-session origins to check")
						}
						want = withFormActions(customCSP, origins)
					}
					if csp != want {
						t.Errorf("replaced page's CSP %q, want %q", csp, want)
					}
				} else {
					style := styleRe.FindAllStringSubmatch(body, -1)
					if len(style) != 1 {
						t.Fatalf("%d style elements, want 1", len(style))
					}
					sum := sha256.Sum256([]byte(style[0][1]))
					if !strings.Contains(csp, "style-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"';") ||
						strings.Contains(csp, "unsafe-inline") || !strings.HasPrefix(csp, "default-src 'none';") || strings.Contains(csp, "script-src") {
						t.Errorf("CSP %q does not allow exactly the page's style", csp)
					}
					if strings.Contains(body, " style=") || strings.Contains(body, "<script") {
						t.Error("a style attribute or a script: the CSP would block the one and must never allow the other")
					}
					if wantImg := map[bool]string{true: "img-src 'self' data:;", false: "img-src data:;"}[v.brand.LogoURL != ""]; !strings.Contains(csp, wantImg) {
						t.Errorf("CSP %q lacks %s", csp, wantImg)
					}
					light, _ := pageColours(t, body)
					if want := cmp.Or(v.brand.Accent, defaultAccent); light["accent"] != want {
						t.Errorf("accent %s, want %s", light["accent"], want)
					}
					if !strings.Contains(body, "<main>") || !strings.Contains(body, "<h1") {
						t.Error("no <main> or <h1>")
					}
					// Narrow screens: one shrinkable column, long words wrap,
					// nothing sized to its content's full width.
					if strings.Contains(body, "max-content") || !strings.Contains(body, "grid-template-columns:minmax(0,26rem)") || !strings.Contains(body, "overflow-wrap:anywhere") {
						t.Error("the layout may overflow a 360 px screen")
					}
				}
				if v.brand.Name != "" {
					if !strings.Contains(body, "Acme Notes") || !strings.Contains(body, "<title>") || !strings.Contains(body, " – Acme Notes</title>") {
						t.Errorf("the brand's name is not on the page or in its title:\n%s", body)
					}
				} else if strings.Contains(body, `class="brand"`) {
					t.Error("a brand header without a brand")
				}
				switch {
				case v.brand.Logo != "":
					if !strings.Contains(body, `<svg viewBox="0 0 32 32" width="32" height="32" xmlns="http://www.w3.org/2000/svg" aria-hidden="true" focusable="false"><title>Acme</title>`) ||
						!strings.Contains(body, `fill="url(#g)"`) || strings.Contains(body, "made by hand") || strings.Contains(body, "<?xml") {
						t.Errorf("the sanitised logo is not on the page:\n%s", body)
					}
				case v.brand.LogoURL != "":
					if !strings.Contains(body, `<img class="logo" src="/static/logo.png?v=2" alt="" height="32">`) {
						t.Errorf("the logo image is not on the page:\n%s", body)
					}
				}
				if act := strings.ReplaceAll(vi.action, "&", "&amp;"); vi.action != "" && !strings.Contains(body, `href="`+act+`"`) && !strings.Contains(body, `action="`+act+`"`) {
					t.Errorf("no main action %s:\n%s", vi.action, body)
				}
				if vi.label != "" && !strings.Contains(body, ">"+vi.label+"</") {
					t.Errorf("no action labelled %q", vi.label)
				}
				visible := tags.ReplaceAllString(body, " ")
				for _, want := range vi.text {
					if !strings.Contains(visible, want) {
						t.Errorf("page does not say %q:\n%s", want, visible)
					}
				}
				if strings.Contains(visible, pageInternal) || strings.Contains(visible, "down-internal") {
					t.Errorf("a configured provider name is visible:\n%s", visible)
				}
				secrets := []string{pageClientSecret, string(testKey), "middleware:", "x=1", "SECRET"}
				for _, c := range append(cookies, rec.Result().Cookies()...) {
					if len(c.Value) >= 8 {
						secrets = append(secrets, c.Value)
					}
				}
				for _, s := range secrets {
					if strings.Contains(visible, s) || (s != "x=1" && strings.Contains(body, s)) {
						t.Errorf("the page shows %q", s)
					}
				}
			})
		}
	}
}
