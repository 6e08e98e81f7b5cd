package middleware

import (
	"strings"
	"testing"
)

func TestSanitizeLogo(t *testing.T) {
	for _, tc := range []struct {
		name, in, want, err string
	}{
		{name: "shapes, gradient, title; declaration and comment dropped", in: testLogo,
			want: `<svg viewBox="0 0 32 32" width="32" height="32" xmlns="http://www.w3.org/2000/svg" aria-hidden="true" focusable="false"><title>Acme</title>` +
				`<defs><linearGradient id="g"><stop offset="0" stop-color="#0b7a53"></stop><stop offset="1" stop-color="#065f41"></stop></linearGradient></defs>` +
				`<rect width="32" height="32" rx="6" fill="url(#g)"></rect><path d="M8 24 16 6l8 18z" fill="#fff"></path></svg>`},
		{name: "text is escaped again", in: `<svg viewBox="0 0 9 9"><text x="1">A &amp; B &lt;i&gt;</text></svg>`,
			want: `<svg viewBox="0 0 9 9" xmlns="http://www.w3.org/2000/svg" aria-hidden="true" focusable="false"><text x="1">A &amp; B &lt;i&gt;</text></svg>`},
		{name: "attribute quotes are escaped again", in: `<svg viewBox="0 0 9 9"><text font-family='"Inter", sans-serif'>A</text></svg>`,
			want: `<svg viewBox="0 0 9 9" xmlns="http://www.w3.org/2000/svg" aria-hidden="true" focusable="false"><text font-family="&quot;Inter&quot;, sans-serif">A</text></svg>`},
		{name: "svg namespace prefix", in: `<s:svg xmlns:s="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><s:path d="M0 0"/></s:svg>`,
			want: `<svg viewBox="0 0 1 1" xmlns="http://www.w3.org/2000/svg" aria-hidden="true" focusable="false"><path d="M0 0"></path></svg>`},
		{name: "script", in: `<svg viewBox="0 0 1 1"><script>alert(1)</script></svg>`, err: "<script>"},
		{name: "style element", in: `<svg viewBox="0 0 1 1"><style>@import url(https://x.example/a.css)</style></svg>`, err: "<style>"},
		{name: "style attribute", in: `<svg viewBox="0 0 1 1" style="background:url(https://x.example)"></svg>`, err: `"style"`},
		{name: "event handler", in: `<svg viewBox="0 0 1 1" onload="alert(1)"></svg>`, err: `"onload"`},
		{name: "image", in: `<svg viewBox="0 0 1 1"><image href="https://x.example/a.png"/></svg>`, err: "<image>"},
		{name: "use", in: `<svg viewBox="0 0 1 1"><use href="#a"/></svg>`, err: "<use>"},
		{name: "link", in: `<svg viewBox="0 0 1 1"><a href="javascript:alert(1)"><path d="M0 0"/></a></svg>`, err: "<a>"},
		{name: "xlink:href", in: `<svg xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 1 1"><path xlink:href="#a"/></svg>`, err: "xlink"},
		{name: "foreignObject", in: `<svg viewBox="0 0 1 1"><foreignObject><p>x</p></foreignObject></svg>`, err: "<foreignObject>"},
		{name: "external url()", in: `<svg viewBox="0 0 1 1"><path fill="url(https://x.example/#a)"/></svg>`, err: "url(#id)"},
		{name: "url() in upper case", in: `<svg viewBox="0 0 1 1"><path fill="URL(https://x.example/)"/></svg>`, err: "url(#id)"},
		{name: "HTML element", in: `<svg viewBox="0 0 1 1"><p>x</p></svg>`, err: "<p>"},
		{name: "other namespace", in: `<svg viewBox="0 0 1 1"><h:path xmlns:h="http://www.w3.org/1999/xhtml"/></svg>`, err: "not allowed"},
		{name: "doctype with entity", in: `<!DOCTYPE svg [<!ENTITY x "y">]><svg viewBox="0 0 1 1"></svg>`, err: "DOCTYPE"},
		{name: "unknown entity", in: `<svg viewBox="0 0 1 1"><text>&x;</text></svg>`, err: "well-formed"},
		{name: "not svg", in: `<g><path d="M0 0"/></g>`, err: "must be an <svg>"},
		{name: "no viewBox", in: `<svg width="10" height="10"></svg>`, err: "viewBox"},
		{name: "two roots", in: `<svg viewBox="0 0 1 1"></svg><svg viewBox="0 0 1 1"></svg>`, err: "after the </svg>"},
		{name: "nested svg", in: `<svg viewBox="0 0 1 1"><svg viewBox="0 0 1 1"></svg></svg>`, err: "nested"},
		{name: "unclosed", in: `<svg viewBox="0 0 1 1"><path d="M0 0">`, err: "well-formed"},
		{name: "stray text", in: `<svg viewBox="0 0 1 1">hello</svg>`, err: "text outside"},
		{name: "bad id", in: `<svg viewBox="0 0 1 1"><g id="a b"></g></svg>`, err: "id"},
		{name: "class", in: `<svg viewBox="0 0 1 1" class="button"></svg>`, err: `"class"`},
		{name: "too large", in: `<svg viewBox="0 0 1 1">` + strings.Repeat(`<path d="M0 0"/>`, 3000) + `</svg>`, err: "KiB"},
		{name: "too deep", in: `<svg viewBox="0 0 1 1">` + strings.Repeat(`<g>`, 40) + strings.Repeat(`</g>`, 40) + `</svg>`, err: "too complex"},
		{name: "empty", in: ``, err: "no complete"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sanitizeLogo(tc.in)
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("sanitizeLogo = %q, %v; want an error with %q", got, err, tc.err)
			case tc.err == "" && err != nil:
				t.Fatal(err)
			case tc.err == "" && got != tc.want:
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// FuzzSanitizeLogo: whatever the markup, an accepted logo is one <svg>
// element with no script, style, event handler, link or external
// reference, and sanitising it again changes nothing.
func FuzzSanitizeLogo(f *testing.F) {
	for _, s := range []string{testLogo, `<svg viewBox="0 0 1 1"><text>a&amp;b</text></svg>`, `<svg viewBox="0 0 1 1" onload="x"/>`,
		`<svg viewBox="0 0 1 1"><path fill="url(#a)" d="M0 0"/></svg>`, `<svg viewBox='0 0 1 1'><![CDATA[<script>]]></svg>`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := sanitizeLogo(in)
		if err != nil {
			return
		}
		if !strings.HasPrefix(out, "<svg ") || !strings.HasSuffix(out, "</svg>") || strings.Count(out, "<svg") != 1 {
			t.Fatalf("not one svg element: %q", out)
		}
		lower := strings.ToLower(out)
		for _, bad := range []string{"<script", "<style", " on", "href", "javascript:", "<!", "<?", "<foreign", "<image", "<use", "\\"} {
			if strings.Contains(lower, bad) {
				t.Fatalf("output %q contains %q", out, bad)
			}
		}
		for i := strings.Index(lower, "url("); i >= 0; i = strings.Index(lower, "url(") {
			if !strings.HasPrefix(lower[i:], "url(#") {
				t.Fatalf("output %q has a non-local url()", out)
			}
			lower = lower[i+4:]
		}
		again, err := sanitizeLogo(out)
		if err != nil || again != out {
			t.Fatalf("not stable: %q → %q, %v", out, again, err)
		}
	})
}
