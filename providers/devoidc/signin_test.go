package devoidc

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// signInPage fetches the sign-in page for q and returns its body and the
// form fields it would post (without the subject).
func (o *testOP) signInPage(q url.Values) (string, url.Values) {
	o.t.Helper()
	resp := o.authorize(q)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		o.t.Fatalf("authorize: status %d, Location %q, want the sign-in page", resp.StatusCode, resp.Header.Get("Location"))
	}
	form := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(body), -1) {
		form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return string(body), form
}

// postSignIn submits the sign-in form as a same-origin browser would.
func (o *testOP) postSignIn(form url.Values, header http.Header) *http.Response {
	o.t.Helper()
	req, err := http.NewRequest(http.MethodPost, o.url("/authorize"), strings.NewReader(form.Encode()))
	if err != nil {
		o.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", o.srv.URL)
	for k, v := range header {
		req.Header[k] = v
	}
	return o.do(req)
}

func TestSignInPage(t *testing.T) {
	o := newTestOP(t, withManualLogin, func(st *setup) {
		st.cfg.Users = []User{
			{Subject: "ada", Name: "Ada Lovelace", Email: "ada@example.com"},
			{Subject: "mallory", Name: `<script>alert("x")</script> Mallory`, Email: `m"><img src=x>@example.com`},
		}
	})
	_, challenge := pkce()
	resp := o.authorize(authorizeQuery(challenge, map[string]string{"state": `"><b>state`}))
	raw, _ := io.ReadAll(resp.Body)
	body := string(raw)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		"Development provider — not for production",
		"Ada Lovelace", "ada@example.com", `name="subject" value="ada"`, `value="mallory"`,
		"&lt;script&gt;", "prefers-color-scheme: dark", `lang="en"`, `name="csrf_token"`,
		`<form method="post" action="` + o.url("/authorize") + `">`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script>", "<img", "<b>state", "<link", `src="`, "@import", "url("} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains %q: unescaped input or an external request", bad)
		}
	}
	h := resp.Header
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	if h.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q", h.Get("Cache-Control"))
	}
}

// TestSignInPageName: Config.Name is what the pages call the provider,
// escaped, in the note and the title.
func TestSignInPageName(t *testing.T) {
	o := newTestOP(t, withManualLogin, func(st *setup) { st.cfg.Name = "Stand-in for <Google>" })
	_, challenge := pkce()
	resp := o.authorize(authorizeQuery(challenge, nil))
	raw, _ := io.ReadAll(resp.Body)
	body := string(raw)
	for _, want := range []string{
		"Stand-in for &lt;Google&gt; — development provider, not for production",
		"<title>Sign in · Stand-in for &lt;Google&gt;</title>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
}

func TestSignInFlow(t *testing.T) {
	o := newTestOP(t, withManualLogin)
	verifier, challenge := pkce()
	_, form := o.signInPage(authorizeQuery(challenge, nil))
	for _, k := range []string{"client_id", "redirect_uri", "state", "nonce", "code_challenge", "csrf_token"} {
		if form.Get(k) == "" {
			t.Fatalf("sign-in form lacks %s: %v", k, form)
		}
	}
	form.Set("subject", "grace")
	q := redirectParams(t, o.postSignIn(form, nil), testRedirect)
	if q.Get("state") != testState || q.Get("iss") != o.op.Issuer() {
		t.Fatalf("redirect params = %v", q)
	}
	resp, m := o.exchange(q.Get("code"), verifier)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("exchange: %d %v", resp.StatusCode, m)
	}
	var c idTokenClaims
	if err := o.op.keys.verify(str(m, "id_token"), &c); err != nil || c.Subject != "grace" || c.Nonce != testNonce {
		t.Fatalf("ID token claims %+v, err %v: want sub grace and the nonce", c, err)
	}

	t.Run("SSO on the next request", func(t *testing.T) {
		q := redirectParams(t, o.authorize(authorizeQuery(challenge, map[string]string{"state": "two"})), testRedirect)
		if q.Get("code") == "" || q.Get("state") != "two" {
			t.Errorf("SSO redirect params = %v", q)
		}
	})
	t.Run("prompt=none with a session", func(t *testing.T) {
		q := redirectParams(t, o.authorize(authorizeQuery(challenge, map[string]string{"prompt": "none"})), testRedirect)
		if q.Get("code") == "" {
			t.Errorf("redirect params = %v, want a code", q)
		}
	})
	t.Run("prompt=login shows the page again", func(t *testing.T) {
		o.signInPage(authorizeQuery(challenge, map[string]string{"prompt": "login"}))
	})
	t.Run("max_age=0 shows the page again", func(t *testing.T) {
		o.signInPage(authorizeQuery(challenge, map[string]string{"max_age": "0"}))
	})
	t.Run("another browser has no session", func(t *testing.T) {
		o2 := *o
		o2.t = t
		o2.client = newBrowser(t, o.srv)
		o2.signInPage(authorizeQuery(challenge, nil))
	})
}

// TestSignInCrossSite checks that the sign-in form cannot be posted from
// another site, which would sign the victim's browser in as the attacker's
// choice of user.
func TestSignInCrossSite(t *testing.T) {
	_, challenge := pkce()
	tests := []struct {
		name   string
		header http.Header
		form   func(url.Values)
	}{
		{"Sec-Fetch-Site cross-site", http.Header{"Sec-Fetch-Site": {"cross-site"}}, nil},
		{"Sec-Fetch-Site same-site", http.Header{"Sec-Fetch-Site": {"same-site"}}, nil},
		{"foreign Origin", http.Header{"Sec-Fetch-Site": nil, "Origin": {"https://evil.example"}}, nil},
		{"no CSRF token", nil, func(f url.Values) { f.Del("csrf_token") }},
		{"wrong CSRF token", nil, func(f url.Values) { f.Set("csrf_token", "AAAA") }},
		{"token from another browser", nil, nil}, // the form is fetched by a different jar below
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newTestOP(t, withManualLogin)
			_, form := o.signInPage(authorizeQuery(challenge, nil))
			form.Set("subject", "ada")
			if tt.form != nil {
				tt.form(form)
			}
			if tt.name == "token from another browser" {
				o.client = newBrowser(t, o.srv)
				o.signInPage(authorizeQuery(challenge, nil)) // gets its own CSRF cookie
			}
			resp := o.postSignIn(form, tt.header)
			if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Location") != "" {
				t.Fatalf("status %d, Location %q: want 403 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
			}
			for _, c := range resp.Cookies() {
				if c.Name == o.op.sessionCookie {
					t.Error("a refused post set the session cookie")
				}
			}
		})
	}
}

func TestSignInUnknownSubject(t *testing.T) {
	o := newTestOP(t, withManualLogin)
	_, challenge := pkce()
	_, form := o.signInPage(authorizeQuery(challenge, nil))
	form.Set("subject", "root")
	if resp := o.postSignIn(form, nil); resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("status %d, Location %q: want 400 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestInitials(t *testing.T) {
	for name, want := range map[string]string{
		"Ada Lovelace":        "AL",
		"grace":               "G",
		"Émile Zola Junior":   "ÉZ",
		"<script> x":          "X",
		"":                    "?",
		"  spaced   out name": "SO",
	} {
		if got := initials(name); got != want {
			t.Errorf("initials(%q) = %q, want %q", name, got, want)
		}
	}
}
