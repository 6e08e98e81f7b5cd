package middleware

import (
	"context"
	"html/template"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/internal/fakegoogle"
	"github.com/portcullis-go/portcullis/providers"
)

// brandProviders returns Google (against a local fake), GitHub and a
// generic OpenID Connect provider, in that order.
func brandProviders(t *testing.T) []*providers.Provider {
	t.Helper()
	fake := fakegoogle.New(fakegoogle.Config{})
	t.Cleanup(fake.Close)
	google, err := providers.Google(context.Background(), providers.GoogleConfig{
		ClientID: fakegoogle.ClientID, ClientSecret: fakegoogle.ClientSecret, Issuer: fake.URL, HTTPClient: fake.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	github, err := providers.GitHub(providers.GitHubConfig{ClientID: "id", ClientSecret: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	return []*providers.Provider{google, github, devProvider(t, "corp", "https://app.example")}
}

func TestChooserBrandButtons(t *testing.T) {
	a := newTestAuth(t, brandProviders(t)...)
	const returnTo = `/docs?q="><script>alert(1)</script>&x=1`
	escaped := `%2Fdocs%3Fq%3D%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E%26x%3D1`
	rec := serve(a.Handler(), "GET", "https://app.example/auth/login?return_to="+queryEscape(returnTo), nil)
	body := rec.Body.String()
	if rec.Code != http.StatusOK || len(rec.Result().Cookies()) != 0 {
		t.Fatalf("status %d, cookies %v", rec.Code, rec.Result().Cookies())
	}
	items := regexp.MustCompile(`(?s)<li>(.*?)</li>`).FindAllStringSubmatch(body, -1)
	if len(items) != 3 {
		t.Fatalf("%d list items, want 3:\n%s", len(items), body)
	}
	for i, tc := range []struct {
		name    string
		want    []string
		wantNot []string
	}{
		{"google", []string{
			`<a class="button google" href="/auth/login/google?return_to=` + escaped + `" data-provider="google">`,
			`viewBox="0 0 48 48"`, `fill="#EA4335"`, `fill="#4285F4"`, `fill="#FBBC05"`, `fill="#34A853"`,
			`<span>Sign in with Google</span>`,
		}, []string{`class="mark"`}},
		{"github", []string{
			`<a class="button github" href="/auth/login/github?return_to=` + escaped + `" data-provider="github">`,
			`viewBox="0 0 16 16"`, `fill="currentColor"`, `<span>Sign in with GitHub</span>`,
		}, []string{`class="mark"`, `#EA4335`}},
		{"corp", []string{
			`<a class="button" href="/auth/login/corp?return_to=` + escaped + `" data-provider="corp">`,
			`<span class="mark" aria-hidden="true">C</span><span>Sign in with corp</span>`,
		}, []string{"<svg"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			item := items[i][1]
			for _, w := range tc.want {
				if !strings.Contains(item, w) {
					t.Errorf("button lacks %s:\n%s", w, item)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(item, w) {
					t.Errorf("button has %s", w)
				}
			}
			if strings.Count(item, "<a ") != 1 {
				t.Errorf("want one link per button: %s", item)
			}
		})
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "alert(1)") {
		t.Error("return_to reached the page unescaped")
	}
}

// TestChooserAccessibility checks the markup a screen reader and a
// keyboard user rely on, and that the page loads nothing from elsewhere.
func TestChooserAccessibility(t *testing.T) {
	a := newTestAuth(t, brandProviders(t)...)
	body := serve(a.Handler(), "GET", "https://app.example/auth/login", nil).Body.String()
	for _, want := range []string{
		`<html lang="en">`, `<title>Sign in</title>`, `name="viewport"`,
		`<h1 id="title">Sign in</h1>`, `<ul class="providers" aria-labelledby="title">`,
		".button:focus-visible", "outline:3px solid var(--focus)", "min-height:44px",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	for _, svg := range regexp.MustCompile(`<svg[^>]*>`).FindAllString(body, -1) {
		if !strings.Contains(svg, `aria-hidden="true"`) || !strings.Contains(svg, `focusable="false"`) {
			t.Errorf("logo %s is not hidden from assistive technology", svg)
		}
	}
	// Each link's accessible name is its visible text.
	links := regexp.MustCompile(`(?s)<a [^>]*>(.*?)</a>`).FindAllStringSubmatch(body, -1)
	if len(links) != 3 {
		t.Fatalf("%d links", len(links))
	}
	for _, l := range links {
		if strings.Contains(l[0], "aria-label") || !regexp.MustCompile(`<span>Sign in with [^<]+</span>$`).MatchString(l[1]) {
			t.Errorf("link %s: its name must be its visible text", l[0])
		}
	}
	for _, bad := range []string{"http:", "https:", "//", "url(", "@import", "<script", "<img", "outline:none", "outline:0"} {
		if strings.Contains(strings.ReplaceAll(body, "<!doctype", ""), bad) {
			t.Errorf("page contains %q", bad)
		}
	}
}

// TestChooserColoursContrast computes the WCAG 2 contrast of the brand
// buttons' colours, read from the served sign-in page, in the light and
// the dark scheme, against each other and the card they sit on: text
// 4.5:1, the button's edge 3:1.
func TestChooserColoursContrast(t *testing.T) {
	a := newTestAuth(t, brandProviders(t)...)
	light, dark := pageColours(t, serve(a.Handler(), "GET", "https://app.example/auth/login", nil).Body.String())
	for scheme, v := range map[string]map[string]string{"light": light, "dark": dark} {
		for _, pair := range []struct {
			fg, bg string
			min    float64
		}{
			{"google-text", "google-bg", 4.5}, {"google-text", "google-hover", 4.5},
			{"github-text", "github-bg", 4.5}, {"github-text", "github-hover", 4.5},
		} {
			if r := contrast(t, v[pair.fg], v[pair.bg]); r < pair.min {
				t.Errorf("%s: --%s on --%s: %.2f, want ≥ %.1f", scheme, pair.fg, pair.bg, r, pair.min)
			}
		}
		// A button's edge is its border or, failing that, its fill.
		for _, b := range []string{"google", "github"} {
			edge := max(contrast(t, v[b+"-border"], v["card"]), contrast(t, v[b+"-bg"], v["card"]))
			if edge < 3 {
				t.Errorf("%s: the %s button's edge has contrast %.2f with the card, want ≥ 3", scheme, b, edge)
			}
		}
	}
}

func TestChooserCustomTemplate(t *testing.T) {
	ps := brandProviders(t)
	custom := template.Must(template.New("signin").Parse(`<!doctype html><title>Pick</title>` +
		`{{range .Providers}}<a href="{{.URL}}" class="{{.Brand}}" id="{{.Name}}">{{.DisplayName}}</a>{{end}}<p>back to {{.ReturnTo}}</p>`))
	// Fine on New's sample data (return path "/"), failing on a request's.
	broken := template.Must(template.New("broken").Parse(`{{if ne .ReturnTo "/"}}<p>partial</p>{{.Nope}}{{end}}`))
	for _, tc := range []struct {
		name      string
		tmpl      *template.Template
		providers []*providers.Provider
		wrap      func(http.Handler) http.Handler
		status    int
		want      []string
		wantCSP   string
	}{
		{name: "provider list and links", tmpl: custom, providers: ps, status: 200, wantCSP: customCSP, want: []string{
			`<a href="/auth/login/google?return_to=%2Fhome%3Fa%3D%3Cb%3E" class="google" id="google">Google</a>`,
			`<a href="/auth/login/github?return_to=%2Fhome%3Fa%3D%3Cb%3E" class="github" id="github">GitHub</a>`,
			`<a href="/auth/login/corp?return_to=%2Fhome%3Fa%3D%3Cb%3E" class="" id="corp">corp</a>`,
			`<p>back to /home?a=&lt;b&gt;</p>`,
		}},
		{name: "the app's own CSP is kept", tmpl: custom, providers: ps, status: 200, wantCSP: "default-src 'self' https://cdn.example",
			wrap: func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Security-Policy", "default-src 'self' https://cdn.example")
					h.ServeHTTP(w, r)
				})
			}, want: []string{`id="github"`}},
		{name: "template error is a 500 page", tmpl: broken, providers: ps, status: 500, wantCSP: "built-in error", want: []string{"Error 500"}},
		{name: "one provider still redirects", tmpl: custom, providers: ps[1:2], status: http.StatusFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := newAuth(t, Config{BaseURL: "https://app.example", Providers: tc.providers, Keys: [][]byte{testKey}, ChooserTemplate: tc.tmpl})
			if err != nil {
				t.Fatal(err)
			}
			h := a.Handler()
			if tc.wrap != nil {
				h = tc.wrap(h)
			}
			rec := serve(h, "GET", "https://app.example/auth/login?return_to="+queryEscape("/home?a=<b>"), map[string]string{"Accept": "text/html"})
			body := rec.Body.String()
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %s:\n%s", w, body)
				}
			}
			if tc.status == http.StatusFound {
				if !strings.HasPrefix(rec.Header().Get("Location"), "https://github.com/login/oauth/authorize?") {
					t.Errorf("Location %q", rec.Header().Get("Location"))
				}
				return
			}
			if strings.Contains(body, "partial") {
				t.Error("half a custom page was written")
			}
			if tc.wantCSP == "built-in error" {
				tc.wantCSP = a.pages.csp["error"]
			}
			if got := rec.Header().Get("Content-Security-Policy"); got != tc.wantCSP {
				t.Errorf("CSP %q, want %q", got, tc.wantCSP)
			}
			if rec.Header().Get("Content-Type") != "text/html; charset=utf-8" || rec.Header().Get("Cache-Control") != "no-store" || len(rec.Result().Cookies()) != 0 {
				t.Errorf("headers %v", rec.Header())
			}
		})
	}
}
