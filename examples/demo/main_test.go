package main

import (
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/examples/internal/envkeys"
)

// demoServer runs what `go run ./examples/demo` runs, on random ports.
type demoServer struct {
	t             *testing.T
	appURL, opURL string
}

func startDemo(t *testing.T) *demoServer {
	t.Helper()
	appLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { opLn.Close() })
	appURL := "http://" + appLn.Addr().String()
	keys, err := envkeys.SessionKeys("", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	app, err := demo(appURL, opLn, keys, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: app}
	go srv.Serve(appLn)
	t.Cleanup(func() { srv.Close() })
	return &demoServer{t: t, appURL: appURL, opURL: "http://" + opLn.Addr().String()}
}

// browser is a cookie-keeping client that sends what a browser's
// navigations and same-origin form posts send.
type browser struct {
	t      *testing.T
	client *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, client: &http.Client{Jar: jar}}
}

func (b *browser) do(method, u string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("Origin", (&url.URL{Scheme: req.URL.Scheme, Host: req.URL.Host}).String())
	}
	return readPage(b.t)(b.client.Do(req))
}

func readPage(t *testing.T) func(*http.Response, error) (*http.Response, string) {
	return func(resp *http.Response, err error) (*http.Response, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
}

var (
	formAction  = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// pick submits a devoidc sign-in page (resp, body) as the test user
// subject.
func (b *browser) pick(resp *http.Response, body, subject string) (*http.Response, string) {
	b.t.Helper()
	action := formAction.FindStringSubmatch(body)
	if action == nil || !strings.Contains(body, "not for production") {
		b.t.Fatalf("not a devoidc sign-in page: %s %d %s", resp.Request.URL, resp.StatusCode, body)
	}
	form := url.Values{"subject": {subject}}
	for _, m := range hiddenInput.FindAllStringSubmatch(body, -1) {
		form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	target, _ := resp.Request.URL.Parse(html.UnescapeString(action[1]))
	return b.do("POST", target.String(), form)
}

// signIn goes from /private through the sign-in page's button for
// provider and its stand-in's page, as subject, and returns /private.
func (b *browser) signIn(d *demoServer, provider, subject string) string {
	b.t.Helper()
	_, body := b.do("GET", d.appURL+"/private", nil)
	link := `href="/auth/login/` + provider + `?return_to=%2Fprivate"`
	if !strings.Contains(body, link) {
		b.t.Fatalf("sign-in page without %s: %s", link, body)
	}
	resp, body := b.do("GET", d.appURL+"/auth/login/"+provider+"?return_to=%2Fprivate", nil)
	resp, body = b.pick(resp, body, subject)
	if resp.Request.URL.String() != d.appURL+"/private" || resp.StatusCode != http.StatusOK {
		b.t.Fatalf("after signing in with %s: %s %d %s", provider, resp.Request.URL, resp.StatusCode, body)
	}
	return body
}

// TestDemo goes through the demo as a person would, with each provider:
// the sign-in page with the three buttons, the provider's page (a test
// user), the private page with the profile, groups, expiry and the
// provider's user API called with the user's token, the admin page, and
// "Sign out" with feedback.
func TestDemo(t *testing.T) {
	d := startDemo(t)
	tests := []struct {
		provider, display, subject string
		userinfo                   string // in the provider's user API answer
		// groups are on the page; GitHub has none (only the
		// organisations and teams GitHubConfig asks about), so Ada is
		// no admin there.
		groups string
		admin  int
	}{
		{"google", "Google (stand-in)", "ada", `"email": "ada@example.com"`, "<li>admins</li>", http.StatusOK},
		{"github", "GitHub (stand-in)", "1815", `"login": "ada"`, `<dt>Groups</dt><dd><span class="muted">none</span>`, http.StatusForbidden},
		{"devoidc", "Development provider", "ada", `"email": "ada@example.com"`, "<li>admins</li>", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.provider, func(t *testing.T) {
			b := newBrowser(t)
			if _, body := b.do("GET", d.appURL+"/", nil); !strings.Contains(body, `href="/private"`) || !strings.Contains(body, "Not signed in") {
				t.Fatalf("home page signed out: %s", body)
			}
			_, chooser := b.do("GET", d.appURL+"/private", nil)
			for _, want := range []string{"Google (stand-in)", "GitHub (stand-in)", "Development provider"} {
				if !strings.Contains(chooser, want) {
					t.Errorf("sign-in page lacks %q", want)
				}
			}
			body := b.signIn(d, tt.provider, tt.subject)
			for _, want := range []string{
				"Hello, Ada Lovelace", `id="email">ada@example.com<`, `id="provider">` + tt.display + `<`,
				tt.groups, `id="countdown" data-countdown="`, `id="userinfo"`, tt.userinfo,
			} {
				if !strings.Contains(html.UnescapeString(body), want) {
					t.Errorf("private page lacks %q:\n%s", want, body)
				}
			}
			if strings.Contains(body, ">"+tt.provider+"<") {
				t.Errorf("private page shows the internal provider name %q", tt.provider)
			}
			if _, body := b.do("GET", d.appURL+"/", nil); !strings.Contains(body, "Welcome back, Ada Lovelace") || !strings.Contains(body, "signed in with "+tt.display) {
				t.Errorf("home page signed in: %s", body)
			}
			if resp, body := b.do("GET", d.appURL+"/admin", nil); resp.StatusCode != tt.admin || tt.admin == http.StatusOK && !strings.Contains(body, `<h1 id="title">Admin</h1>`) {
				t.Errorf("admin page for ada: %d, want %d: %s", resp.StatusCode, tt.admin, body)
			}
			// Sign out: through the provider's logout when it has one,
			// back on the home page, which says so.
			resp, body := b.do("POST", d.appURL+"/auth/logout?return_to=%2F%3Fsigned_out%3Dlocal", url.Values{})
			if resp.Request.URL.Path != "/" || !strings.Contains(body, "You are signed out") || !strings.Contains(body, "Not signed in") {
				t.Errorf("after signing out: %s %s", resp.Request.URL, body)
			}
		})
	}
}

// TestDemoAdminRefused: Grace, not in "admins", gets the 403 page at
// /admin and is not sent back to sign in.
func TestDemoAdminRefused(t *testing.T) {
	d := startDemo(t)
	b := newBrowser(t)
	b.signIn(d, "devoidc", "grace")
	resp, _ := b.do("GET", d.appURL+"/admin", nil)
	if resp.StatusCode != http.StatusForbidden || resp.Request.URL.Path != "/admin" {
		t.Errorf("admin page for grace: %d at %s", resp.StatusCode, resp.Request.URL)
	}
}

// TestDemoRefreshNotDue: "Refresh now" on a fresh token says it is not
// due yet, and the token is the same.
func TestDemoRefreshNotDue(t *testing.T) {
	d := startDemo(t)
	b := newBrowser(t)
	body := b.signIn(d, "devoidc", "ada")
	expiry := regexp.MustCompile(`name="expiry" value="(\d+)"`).FindStringSubmatch(body)
	if expiry == nil {
		t.Fatalf("no Refresh now form: %s", body)
	}
	resp, body := b.do("POST", d.appURL+"/refresh", url.Values{"expiry": {expiry[1]}})
	if resp.Request.URL.String() != d.appURL+"/private?refresh=notdue" || !strings.Contains(body, "Not refreshed yet") ||
		!strings.Contains(body, `name="expiry" value="`+expiry[1]+`"`) {
		t.Errorf("refresh of a fresh token: %s %s", resp.Request.URL, body)
	}
	// A post from another site is refused.
	req, _ := http.NewRequest("POST", d.appURL+"/refresh", strings.NewReader("expiry=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, _ := readPage(t)(b.client.Do(req)); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site refresh: %d", resp.StatusCode)
	}
}

// TestDemoSignOutEverywhere: "Sign out everywhere" ends the session in
// the app and at the provider: signing in again shows the provider's
// sign-in page instead of signing straight back in. The API answers the
// session and a script's access token (client_credentials), as the
// doc's curl lines do.
func TestDemoSignOutEverywhere(t *testing.T) {
	d := startDemo(t)
	b := newBrowser(t)
	b.signIn(d, "devoidc", "ada")
	page := readPage(t)
	if resp, body := page(b.client.Get(d.appURL + "/api/whoami")); resp.StatusCode != 200 || !strings.Contains(body, `"sub":"ada"`) {
		t.Fatalf("API with the session: %d %s", resp.StatusCode, body)
	}
	tokReq, _ := http.NewRequest("POST", d.opURL+"/token", strings.NewReader("grant_type=client_credentials"))
	tokReq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	tokReq.SetBasicAuth("demo", "demo-secret")
	_, tokBody := page(http.DefaultClient.Do(tokReq))
	token := regexp.MustCompile(`"access_token":"([^"]+)"`).FindStringSubmatch(tokBody)
	if token == nil {
		t.Fatalf("token endpoint: %s", tokBody)
	}
	apiReq, _ := http.NewRequest("GET", d.appURL+"/api/whoami", nil)
	apiReq.Header.Set("Authorization", "Bearer "+token[1])
	if resp, body := page(http.DefaultClient.Do(apiReq)); resp.StatusCode != 200 || !strings.Contains(body, `"sub":"demo"`) {
		t.Fatalf("API with a bearer token: %d %s", resp.StatusCode, body)
	}
	apiReq.Header.Set("Authorization", "Bearer not-a-token")
	if resp, _ := page(http.DefaultClient.Do(apiReq)); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("API with a bad token: %d", resp.StatusCode)
	}

	resp, body := b.do("POST", d.appURL+"/signout-everywhere", url.Values{})
	if resp.Request.URL.String() != d.appURL+"/?signed_out=everywhere" || !strings.Contains(body, "You are signed out everywhere") {
		t.Fatalf("sign out everywhere ended at %s: %s", resp.Request.URL, body)
	}
	// The provider asks again: its own session ended too.
	resp, body = b.do("GET", d.appURL+"/auth/login/devoidc?return_to=%2Fprivate", nil)
	if resp.Request.URL.Host != strings.TrimPrefix(d.opURL, "http://") || !strings.Contains(body, "Choose a test user") {
		t.Fatalf("signing in after signing out everywhere: %s %d %s", resp.Request.URL, resp.StatusCode, body)
	}
	b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, _ = b.do("GET", d.appURL+"/private", nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/auth/login") {
		t.Fatalf("protected page after signing out everywhere: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestDemoPrivateNotStored: pages that show a user are never stored, so
// the back button after signing out shows none of them; and the pages'
// CSP lets only their own nonce'd script and style run.
func TestDemoPrivateNotStored(t *testing.T) {
	d := startDemo(t)
	b := newBrowser(t)
	b.signIn(d, "devoidc", "ada")
	for _, path := range []string{"/", "/private", "/admin"} {
		resp, body := b.do("GET", d.appURL+path, nil)
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control %q", path, cc)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		nonce := regexp.MustCompile(`script-src 'nonce-([^']+)'`).FindStringSubmatch(csp)
		if nonce == nil || !strings.Contains(csp, "default-src 'none'") || !strings.Contains(body, `<script nonce="`+nonce[1]+`">`) ||
			!strings.Contains(csp, "form-action 'self' "+d.opURL) {
			t.Errorf("%s: CSP %q", path, csp)
		}
	}
}
