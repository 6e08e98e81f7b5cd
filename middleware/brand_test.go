package middleware

import (
	"html/template"
	"maps"
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/providers"
)

// TestContrastRatio checks the WCAG 2.2 formula against known values:
// black on white is 21:1, a colour on itself 1:1, and #767676 on white
// the often-quoted 4.54:1.
func TestContrastRatio(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want float64
	}{
		{"#000000", "#ffffff", 21}, {"#ffffff", "#ffffff", 1}, {"#767676", "#ffffff", 4.54}, {"#1f5fbf", "#ffffff", 6.09},
	} {
		a, _ := parseHex(tc.a)
		b, _ := parseHex(tc.b)
		if got := contrastRatio(a, b); got < tc.want-0.01 || got > tc.want+0.01 {
			t.Errorf("contrast(%s, %s) = %.3f, want %.2f", tc.a, tc.b, got, tc.want)
		}
		if contrastRatio(a, b) != contrastRatio(b, a) {
			t.Errorf("contrast(%s, %s) is not symmetric", tc.a, tc.b)
		}
	}
}

// TestPalettes derives the colours for many accents and checks each pair
// a page uses in both schemes, and that the light accent is the one
// given: text and buttons 4.5:1 against both backgrounds.
func TestPalettes(t *testing.T) {
	for _, accent := range []string{"", "#1f5fbf", "#000000", "#0b7a53", "#8a2be2", "#b00020", "#005a9c", "#595959", "#7a4e00"} {
		light, dark, problem := palettes(accent)
		if problem != "" {
			t.Fatalf("%q refused: %s", accent, problem)
		}
		if accent != "" && light.accent.String() != accent {
			t.Errorf("%s: light accent changed to %v", accent, light.accent)
		}
		for name, sc := range map[string]scheme{"light": light, "dark": dark} {
			for _, pair := range [][2]rgb{
				{sc.accent, sc.bg}, {sc.accent, sc.card}, {sc.accentText, sc.accent}, {sc.accentText, sc.accentHover},
				{sc.focus, sc.bg}, {sc.text, sc.card}, {sc.muted, sc.card}, {sc.danger, sc.card},
			} {
				if r := contrastRatio(pair[0], pair[1]); r < minContrast {
					t.Errorf("%s %s: %v on %v is %.2f:1", accent, name, pair[0], pair[1], r)
				}
			}
		}
	}
}

// TestPalettesRefuse: a colour that is not #rrggbb, or too light for the
// light scheme, is refused with a message that names a shade that passes.
func TestPalettesRefuse(t *testing.T) {
	for _, accent := range []string{"#fff", "1f5fbf", "#1f5fbg", "blue", "#1f5fbf80", "#ffcc00", "#767676", "#ffffff"} {
		_, _, problem := palettes(accent)
		if problem == "" {
			t.Errorf("%q accepted", accent)
			continue
		}
		if _, valid := parseHex(accent); !valid {
			if !strings.Contains(problem, "#rrggbb") {
				t.Errorf("%q: %q does not say the form", accent, problem)
			}
			continue
		}
		i := strings.Index(problem, "darker shade such as #")
		if i < 0 {
			t.Errorf("%q: %q suggests nothing", accent, problem)
			continue
		}
		if c, ok := parseHex(problem[i+len("darker shade such as "):][:7]); !ok || !lightBase.readable(c) {
			t.Errorf("%q: the suggestion in %q does not pass", accent, problem)
		}
	}
}

// TestNewRefusesBadBrandsAndPages: each misconfiguration of Brand, Pages
// and ChooserTemplate is refused by New with a message saying what to do.
func TestNewRefusesBadBrandsAndPages(t *testing.T) {
	p := devProvider(t, "dev", "https://app.example")
	for _, tc := range []struct {
		name  string
		edit  func(*Config)
		wants []string
	}{
		{"accent not #rrggbb", func(c *Config) { c.Brand.Accent = "green" }, []string{"Config.Brand", `"green"`, "#rrggbb"}},
		{"accent too light", func(c *Config) { c.Brand.Accent = "#ffcc00" }, []string{"Config.Brand", "contrast", "4.5:1", "darker shade such as #"}},
		{"long name", func(c *Config) { c.Brand.Name = strings.Repeat("a", 61) }, []string{"Config.Brand", "at most 60"}},
		{"name with a newline", func(c *Config) { c.Brand.Name = "Acme\nNotes" }, []string{"control"}},
		{"name with a bidi override", func(c *Config) { c.Brand.Name = "Acme\u202eNotes" }, []string{"formatting"}},
		{"name with spaces around", func(c *Config) { c.Brand.Name = " Acme" }, []string{"white space"}},
		{"logo without a name", func(c *Config) { c.Brand.Logo = testLogo }, []string{"needs Name"}},
		{"two logos", func(c *Config) { c.Brand = Brand{Name: "A", Logo: testLogo, LogoURL: "/l.png"} }, []string{"set one"}},
		{"logo with a script", func(c *Config) {
			c.Brand = Brand{Name: "A", Logo: `<svg viewBox="0 0 1 1"><script>alert(1)</script></svg>`}
		}, []string{"Logo", "<script>"}},
		{"logo URL on another host", func(c *Config) { c.Brand = Brand{Name: "A", LogoURL: "https://cdn.example/logo.png"} }, []string{"LogoURL", "own origin"}},
		{"logo URL protocol-relative", func(c *Config) { c.Brand = Brand{Name: "A", LogoURL: "//cdn.example/logo.png"} }, []string{"LogoURL"}},
		{"logo URL data:", func(c *Config) { c.Brand = Brand{Name: "A", LogoURL: "data:image/png;base64,AAAA"} }, []string{"LogoURL", "Logo"}},
		{"logo URL relative", func(c *Config) { c.Brand = Brand{Name: "A", LogoURL: "logo.png"} }, []string{"LogoURL"}},
		{"pages defining none", func(c *Config) { c.Pages = template.Must(template.New("signedout").Parse(`x`)) }, []string{"Config.Pages", "none of the templates", "signed-out"}},
		{"page failing on sample data", func(c *Config) {
			c.Pages = template.Must(template.New("x").Parse(`{{define "error"}}{{.Nope}}{{end}}`))
		}, []string{"Config.Pages", `"error" page fails`}},
		{"chooser twice", func(c *Config) {
			c.Pages = template.Must(template.New("x").Parse(`{{define "chooser"}}a{{end}}`))
			c.ChooserTemplate = template.Must(template.New("c").Parse(`b`))
		}, []string{"Config.ChooserTemplate", "set one"}},
		{"chooser template failing on sample data", func(c *Config) {
			c.ChooserTemplate = template.Must(template.New("c").Parse(`{{.Nope}}`))
		}, []string{"Config.ChooserTemplate", `"chooser" page fails`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{BaseURL: "https://app.example", Providers: []*providers.Provider{p}, Keys: [][]byte{testKey}}
			tc.edit(&cfg)
			_, err := newAuth(t, cfg)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestBrandIsCopied: New keeps the brand as it was given, and its
// templates as they were then.
func TestBrandIsCopied(t *testing.T) {
	p := devProvider(t, "dev", "https://app.example")
	pages := template.Must(template.New("x").Parse(`{{define "signed-out"}}before{{end}}`))
	cfg := Config{BaseURL: "https://app.example", Providers: []*providers.Provider{p}, Keys: [][]byte{testKey}, Brand: Brand{Name: "Acme"}, Pages: pages}
	a, err := newAuth(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Brand.Name = "Changed"
	template.Must(pages.New("signed-out").Parse("after"))
	body := serve(a.Handler(), "GET", "https://app.example/auth/logout/callback", nil).Body.String()
	if body != "before" {
		t.Errorf("signed-out page %q, want the template as New saw it", body)
	}
	if body := serve(a.Handler(), "GET", "https://app.example/auth/logout", nil).Body.String(); !strings.Contains(body, "Acme") || strings.Contains(body, "Changed") {
		t.Errorf("logout page does not show the brand as New saw it")
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

// contrast is contrastRatio of two "#rrggbb" colours read from a page's
// style (TestContrastRatio checks contrastRatio against known pairs).
func contrast(t *testing.T, a, b string) float64 {
	t.Helper()
	ca, okA := parseHex(a)
	cb, okB := parseHex(b)
	if !okA || !okB {
		t.Fatalf("colours %q, %q: want #rrggbb", a, b)
	}
	return contrastRatio(ca, cb)
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
