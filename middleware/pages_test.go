package middleware

import (
	"errors"
	"fmt"
	"github.com/portcullis-go/portcullis/providers"
	"maps"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
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

// TestPageColoursContrast computes WCAG 2 contrast ratios of the colour
// pairs the pages use, read from a served page's style, in the light and
// the dark scheme, with the default colours and with brand accents (a dark
// one, a saturated one, the lightest that passes): body text and buttons
// need 4.5:1, focus rings 3:1 (their own check asks 4.5:1 of the accent).
func TestPageColoursContrast(t *testing.T) {
	for _, accent := range []string{"", "#0b3d91", "#c2185b", "#006b3f", "#717171", "#000000", "#1f5fbf"} {
		t.Run("accent "+accent, func(t *testing.T) {
			a, err := newAuth(t, Config{BaseURL: "https://app.example", Providers: []*providers.Provider{devProvider(t, "dev", "https://app.example")}, Keys: [][]byte{testKey}, Brand: Brand{Accent: accent}})
			if err != nil {
				t.Fatal(err)
			}
			body := serve(a.Handler(), "GET", "https://app.example/auth/logout", nil).Body.String()
			light, dark := pageColours(t, body)
			if accent != "" && light["accent"] != accent {
				t.Errorf("light accent %s, want %s as given", light["accent"], accent)
			}
			for scheme, v := range map[string]map[string]string{"light": light, "dark": dark} {
				for _, pair := range []struct {
					fg, bg string
					min    float64
				}{
					{"text", "card", 4.5}, {"text", "bg", 4.5}, {"muted", "card", 4.5}, {"accent", "card", 4.5}, {"accent", "bg", 4.5},
					{"accent-text", "accent", 4.5}, {"accent-text", "accent-hover", 4.5}, {"danger", "card", 4.5},
					{"focus", "card", 3}, {"focus", "bg", 3},
				} {
					if r := contrast(t, v[pair.fg], v[pair.bg]); r < pair.min {
						t.Errorf("%s scheme: --%s %s on --%s %s has contrast %.2f, want ≥ %.1f", scheme, pair.fg, v[pair.fg], pair.bg, v[pair.bg], r, pair.min)
					}
				}
			}
		})
	}
}

// pageColours returns the colour variables of a served page's style
// element in the light and the dark scheme (the dark one inheriting what
// it does not set).
func pageColours(t *testing.T, body string) (light, dark map[string]string) {
	t.Helper()
	m := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no style element:\n%s", body)
	}
	css := m[1]
	darkRe := regexp.MustCompile(`@media \(prefers-color-scheme:dark\)\{:root\{([^}]*)\}\}`)
	light, dark = map[string]string{}, map[string]string{}
	for _, d := range darkRe.FindAllStringSubmatch(css, -1) {
		maps.Copy(dark, cssVars(t, d[1]+"}"))
	}
	for _, l := range regexp.MustCompile(`:root\{([^}]*)\}`).FindAllStringSubmatch(darkRe.ReplaceAllString(css, ""), -1) {
		maps.Copy(light, cssVars(t, l[1]+"}"))
	}
	for k, v := range light {
		if _, ok := dark[k]; !ok {
			dark[k] = v
		}
	}
	return light, dark
}

func contrast(t *testing.T, a, b string) float64 {
	t.Helper()
	la, lb := luminance(t, a), luminance(t, b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(t *testing.T, hex string) float64 {
	t.Helper()
	hex = strings.TrimPrefix(hex, "#")
	if len(hex) == 3 {
		hex = string([]byte{hex[0], hex[0], hex[1], hex[1], hex[2], hex[2]})
	}
	var c [3]float64
	for i := range c {
		v, err := strconv.ParseUint(hex[2*i:2*i+2], 16, 8)
		if err != nil {
			t.Fatalf("colour %q: %v", hex, err)
		}
		s := float64(v) / 255
		if s <= 0.03928 {
			c[i] = s / 12.92
		} else {
			c[i] = math.Pow((s+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
}

func TestErrorResponses(t *testing.T) {
	a := newTestAuth(t)
	html := map[string]string{"Accept": "text/html", "Sec-Fetch-Mode": "navigate"}
	api := map[string]string{"Accept": "application/json"}
	secret := "SECRET-VALUE-eyJhbGciOi"
	for _, tc := range []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"provider denied", fail(ErrLoginFailed, "provider_error", &providers.Error{Code: "access_denied", Description: "<script>" + secret}), 401, "login_failed"},
		{"provider odd code", fail(ErrLoginFailed, "provider_error", &providers.Error{Code: "<b>" + secret}), 401, "login_failed"},
		{"store", fail(ErrStoreUnavailable, "session_store", errors.New(secret)), 503, "unavailable"},
		{"not found", fail(ErrNotFound, "unknown_endpoint", nil), 404, "not_found"},
		{"invalid request", fail(ErrInvalidRequest, "state_mismatch", errors.New(secret)), 400, "invalid_request"},
		{"login failed", fail(ErrLoginFailed, "token_verification_failed", errors.New(secret)), 401, "login_failed"},
		{"forbidden", fail(ErrForbidden, "on_login_refused", errors.New(secret)), 403, "forbidden"},
		{"unavailable", fail(ErrProviderUnavailable, "provider_unreachable", errors.New(secret)), 502, "provider_unavailable"},
		{"internal", fmt.Errorf("boom: %s", secret), 500, "internal_error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if Status(tc.err) != tc.status {
				t.Fatalf("Status = %d, want %d", Status(tc.err), tc.status)
			}
			for kind, hdr := range map[string]map[string]string{"html": html, "json": api} {
				rec := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.serveError(w, r, tc.err) }), "GET", "/", hdr)
				body := rec.Body.String()
				if rec.Code != tc.status || strings.Contains(body, "SECRET") || strings.Contains(body, "<script") || strings.Contains(body, "<b>") {
					t.Errorf("%s: status %d body %s", kind, rec.Code, body)
				}
				if rec.Header().Get("Cache-Control") != "no-store" {
					t.Errorf("%s: no Cache-Control: no-store", kind)
				}
				if kind == "json" && !strings.Contains(body, `"error":"`+tc.code+`"`) {
					t.Errorf("json body %s lacks error %s", body, tc.code)
				}
				if kind == "html" && !strings.Contains(body, "Error "+strconv.Itoa(tc.status)) {
					t.Errorf("html page lacks the status")
				}
			}
		})
	}
}

func cssVars(t *testing.T, css string) map[string]string {
	t.Helper()
	m := map[string]string{}
	block := css[:strings.Index(css, "}")]
	for _, m2 := range regexp.MustCompile(`--([a-z-]+):(#[0-9a-fA-F]{3,6})`).FindAllStringSubmatch(block, -1) {
		m[m2[1]] = m2[2]
	}
	if len(m) < 4 {
		t.Fatalf("found only %d colour variables in %q", len(m), block)
	}
	return m
}
