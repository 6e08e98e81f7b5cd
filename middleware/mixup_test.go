package middleware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis-go/portcullis/internal/fakegithub"
	"github.com/portcullis-go/portcullis/internal/fakegoogle"
	"github.com/portcullis-go/portcullis/providers"
)

// twoProviders is an application with Google and GitHub active at once,
// each against its local fake, and a browser-like client (cookie jar, no
// automatic redirects). It records every error given to ErrorHandler.
type twoProviders struct {
	t      *testing.T
	app    *httptest.Server
	google *fakegoogle.Server
	github *fakegithub.Server
	client *http.Client
	auth   *Auth

	mu   sync.Mutex
	errs []error
}

// setup configures the fakes and the providers of a twoProviders.
type setup struct {
	google    fakegoogle.Config
	github    fakegithub.Config
	googleCfg providers.GoogleConfig
	githubCfg providers.GitHubConfig
}

func newTwoProviders(t *testing.T, s setup) *twoProviders {
	t.Helper()
	app := httptest.NewServer(nil)
	t.Cleanup(app.Close)
	s.google.RedirectURIs = []string{app.URL + "/auth/callback/google"}
	s.github.RedirectURIs = []string{app.URL + "/auth/callback/github"}
	h := &twoProviders{t: t, app: app, google: fakegoogle.New(s.google), github: fakegithub.New(s.github)}
	t.Cleanup(h.google.Close)
	t.Cleanup(h.github.Close)
	scanFakes(t, h.google, h.github)
	gc := s.googleCfg
	gc.ClientID, gc.ClientSecret, gc.Issuer, gc.HTTPClient = fakegoogle.ClientID, fakegoogle.ClientSecret, h.google.URL, h.google.Client()
	google, err := providers.Google(context.Background(), gc)
	if err != nil {
		t.Fatal(err)
	}
	ghc := s.githubCfg
	ghc.ClientID, ghc.ClientSecret, ghc.BaseURL, ghc.HTTPClient = fakegithub.ClientID, fakegithub.ClientSecret, h.github.URL, h.github.Client()
	github, err := providers.GitHub(ghc)
	if err != nil {
		t.Fatal(err)
	}
	h.auth, err = newAuth(t, Config{
		BaseURL:   app.URL,
		Providers: []*providers.Provider{google, github},
		Keys:      [][]byte{testKey},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			h.mu.Lock()
			h.errs = append(h.errs, err)
			h.mu.Unlock()
			h.auth.serveError(w, r, err)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", h.auth.Handler())
	mux.Handle("/private", h.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := SessionFrom(r.Context())
		u := s.User
		fmt.Fprintf(w, "%s|%s|%s|%s|%v|refresh=%v", u.Provider, u.Subject, u.Email, u.Login, u.Groups, s.Tokens.RefreshToken != "")
	})))
	app.Config.Handler = mux
	jar, _ := cookiejar.New(nil)
	h.client = tapClient(t, h.auth, &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }})
	t.Cleanup(h.checkCodesStayHome)
	return h
}

// get sends a browser navigation to rawURL (a path is on the app).
func (h *twoProviders) get(rawURL string) (*http.Response, string) {
	h.t.Helper()
	if strings.HasPrefix(rawURL, "/") {
		rawURL = h.app.URL + rawURL
	}
	req, _ := http.NewRequest(http.MethodGet, rawURL, nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// authorize starts a login with provider and returns the provider's
// authorization request URL.
func (h *twoProviders) authorize(provider string) *url.URL {
	h.t.Helper()
	resp, _ := h.get("/auth/login/" + provider + "?return_to=/private")
	if resp.StatusCode != http.StatusFound {
		h.t.Fatalf("login/%s: status %d", provider, resp.StatusCode)
	}
	u, _ := url.Parse(resp.Header.Get("Location"))
	return u
}

// answer sends the browser to an authorization request and returns the
// callback URL the provider redirected to.
func (h *twoProviders) answer(authz *url.URL) *url.URL {
	h.t.Helper()
	resp, body := h.get(authz.String())
	cb, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(cb.String(), h.app.URL+"/auth/callback/") {
		h.t.Fatalf("provider answered %d %q: %s", resp.StatusCode, cb, body)
	}
	return cb
}

// lastErr returns the last error the ErrorHandler received.
func (h *twoProviders) lastErr() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.errs) == 0 {
		return nil
	}
	return h.errs[len(h.errs)-1]
}

// noSession asserts that resp set no session cookie, expired its flow
// cookie, and that the browser is not signed in.
func (h *twoProviders) noSession(resp *http.Response) {
	h.t.Helper()
	flowExpired := false
	for _, c := range resp.Cookies() {
		if strings.Contains(c.Name, "-flow.") {
			flowExpired = flowExpired || c.MaxAge < 0
		} else if c.Value != "" {
			h.t.Errorf("a session cookie %s was set", c.Name)
		}
	}
	if !flowExpired {
		h.t.Error("the flow cookie was not expired")
	}
	if r, _ := h.get("/private"); r.StatusCode != http.StatusSeeOther {
		h.t.Errorf("/private answered %d without a session", r.StatusCode)
	}
}

var githubCode = regexp.MustCompile(`^[0-9a-f]{20}$`)

// checkCodesStayHome asserts that each token endpoint only ever received
// its own provider's codes (SECURITY.md T15).
func (h *twoProviders) checkCodesStayHome() {
	for _, r := range h.google.Requests(fakegoogle.PathToken) {
		if c := r.Form.Get("code"); c != "" && !strings.HasPrefix(c, "4/0A") {
			h.t.Errorf("Google's token endpoint received a code it did not issue")
		}
	}
	for _, r := range h.github.Requests(fakegithub.PathToken) {
		if c := r.Form.Get("code"); c != "" && !githubCode.MatchString(c) {
			h.t.Errorf("GitHub's token endpoint received a code it did not issue")
		}
	}
}

func (h *twoProviders) tokenRequests() int {
	return len(h.google.Requests(fakegoogle.PathToken)) + len(h.github.Requests(fakegithub.PathToken))
}

func TestProviderLogins(t *testing.T) {
	primary := fakegithub.Email{Email: "octocat@github.com", Primary: true, Verified: true}
	octo := func(emails ...fakegithub.Email) fakegithub.User {
		return fakegithub.User{ID: 583231, Login: "octocat", Name: "The Octocat", PublicEmail: "", Emails: emails}
	}
	work := providers.GoogleConfig{HostedDomains: []string{"example.com"}}
	const refused, failed = -1, -2 // status: ErrNotAllowed (403), any failure page
	for _, tc := range []struct {
		name     string
		provider string
		setup    setup
		status   int    // of the callback; 303 = signed in
		heading  string // of the error page
		private  string // /private after a success
	}{
		{name: "google", provider: "google", status: 303, private: "google|108234567890123456789|ada@gmail.com||[]|refresh=false"},
		{name: "github, no public email", provider: "github", setup: setup{github: fakegithub.Config{User: octo(primary)}}, status: 303,
			private: "github|583231|octocat@github.com|octocat|[]|refresh=false"},
		{name: "google offline keeps the refresh token", provider: "google", setup: setup{googleCfg: providers.GoogleConfig{Offline: true}}, status: 303,
			private: "google|108234567890123456789|ada@gmail.com||[]|refresh=true"},
		{name: "github app token keeps the refresh token", provider: "github", setup: setup{github: fakegithub.Config{ExpiringTokens: true}}, status: 303,
			private: "github|583231|octocat@github.com|octocat|[]|refresh=true"},
		{name: "google user denies", provider: "google", setup: setup{google: fakegoogle.Config{Deny: true}}, status: 401, heading: "Sign-in was cancelled"},
		{name: "github user denies", provider: "github", setup: setup{github: fakegithub.Config{Deny: true}}, status: 401, heading: "Sign-in was cancelled"},
		{name: "google unverified email", provider: "google", setup: setup{google: fakegoogle.Config{User: fakegoogle.User{Sub: "1001", Email: "x@gmail.com"}}},
			status: 303, private: "google|1001|||[]"},
		{name: "github unverified primary, verified secondary", provider: "github", setup: setup{github: fakegithub.Config{User: octo(
			fakegithub.Email{Email: "p@example.com", Primary: true}, fakegithub.Email{Email: "s@example.com", Verified: true})}},
			status: 303, private: "github|583231||octocat|"},
		{name: "github public email only", provider: "github", setup: setup{github: fakegithub.Config{User: fakegithub.User{ID: 9, Login: "pub", PublicEmail: "pub@example.com"}}},
			status: 303, private: "github|9||pub|"},
		{name: "google wrong hd", provider: "google", setup: setup{google: fakegoogle.Config{User: fakegoogle.User{Sub: "7", Email: "e@evil.example", EmailVerified: true, HD: "evil.example"}}, googleCfg: work}, status: refused},
		{name: "google consumer account, workspace required", provider: "google", setup: setup{googleCfg: work}, status: refused},
		{name: "google workspace member", provider: "google", setup: setup{google: fakegoogle.Config{User: fakegoogle.User{Sub: "8", Email: "g@example.com", EmailVerified: true, HD: "example.com"}}, googleCfg: work},
			status: 303, private: "google|8|g@example.com|"},
		{name: "github org member", provider: "github", setup: setup{github: fakegithub.Config{Orgs: map[string]bool{"acme": true}}, githubCfg: providers.GitHubConfig{Orgs: []string{"acme"}}},
			status: 303, private: "github|583231|octocat@github.com|octocat|[acme]"},
		{name: "github org non-member (302)", provider: "github", setup: setup{github: fakegithub.Config{Orgs: map[string]bool{"acme": false}}, githubCfg: providers.GitHubConfig{Orgs: []string{"acme"}}}, status: refused},
		{name: "github unknown org (404)", provider: "github", setup: setup{githubCfg: providers.GitHubConfig{Orgs: []string{"acme"}}}, status: refused},
		{name: "github pending team member", provider: "github", setup: setup{github: fakegithub.Config{Teams: map[string]string{"acme/ops": "pending"}}, githubCfg: providers.GitHubConfig{Teams: []string{"acme/ops"}}}, status: refused},
		{name: "github org check fails closed", provider: "github", setup: setup{github: fakegithub.Config{Orgs: map[string]bool{"acme": true}, Fail: map[string]int{"/orgs/acme/members/octocat": 500}},
			githubCfg: providers.GitHubConfig{Orgs: []string{"acme"}}}, status: failed},
		{name: "github bad code, HTTP 200", provider: "github", setup: setup{github: fakegithub.Config{TokenError: "bad_verification_code"}}, status: 401, heading: "Sign-in failed"},
		{name: "github wrong secret, HTTP 200", provider: "github", setup: setup{github: fakegithub.Config{TokenError: "incorrect_client_credentials"}}, status: 401, heading: "Sign-in failed"},
		{name: "github user API down", provider: "github", setup: setup{github: fakegithub.Config{Fail: map[string]int{"/user": 502}}}, status: failed},
		{name: "github emails API down", provider: "github", setup: setup{github: fakegithub.Config{Fail: map[string]int{"/user/emails": 500}}}, status: failed},
		{name: "google token endpoint down", provider: "google", setup: setup{google: fakegoogle.Config{Fail: map[string]int{fakegoogle.PathToken: 503}}}, status: 502, heading: "Sign-in is unavailable"},
		{name: "google keys unavailable", provider: "google", setup: setup{google: fakegoogle.Config{Fail: map[string]int{fakegoogle.PathJWKS: 500}}}, status: 502, heading: "Sign-in is unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTwoProviders(t, tc.setup)
			cb := h.answer(h.authorize(tc.provider))
			resp, body := h.get(cb.String())
			err := h.lastErr()
			if tc.status == 303 {
				if resp.StatusCode != 303 || resp.Header.Get("Location") != "/private" {
					t.Fatalf("callback: %d %q (%v)", resp.StatusCode, resp.Header.Get("Location"), err)
				}
				if _, got := h.get("/private"); !strings.HasPrefix(got, tc.private) {
					t.Fatalf("/private shows %q, want %q…", got, tc.private)
				}
				return
			}
			switch tc.status {
			case refused:
				if !errors.Is(err, providers.ErrNotAllowed) || resp.StatusCode != http.StatusForbidden {
					t.Fatalf("status %d, err %v: want a refusal wrapping ErrNotAllowed", resp.StatusCode, err)
				}
			case failed:
				if errors.Is(err, providers.ErrNotAllowed) || (resp.StatusCode != 401 && resp.StatusCode != 502) {
					t.Fatalf("status %d, err %v: want a failed login, not a refusal", resp.StatusCode, err)
				}
			default:
				if resp.StatusCode != tc.status || !strings.Contains(body, "<h1>"+tc.heading+"</h1>") {
					t.Fatalf("status %d, want %d with %q: %s", resp.StatusCode, tc.status, tc.heading, body)
				}
			}
			if !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "Error ") {
				t.Errorf("not an error page: %s", body)
			}
			if code := cb.Query().Get("code"); code != "" && strings.Contains(body, code) {
				t.Error("the error page shows the code")
			}
			h.noSession(resp)
		})
	}
}

// TestMixUp has Google and GitHub active at once and crosses their
// answers (RFC 9700 §4.4, SECURITY.md CB-08 and T15): every crossing is
// refused before any token endpoint is called, so no code ever reaches the
// other provider.
func TestMixUp(t *testing.T) {
	for _, tc := range []struct {
		name string
		// cross returns the callback URL the browser is made to open.
		cross func(h *twoProviders) *url.URL
	}{
		{"google's answer at github's callback", func(h *twoProviders) *url.URL {
			cb := h.answer(h.authorize("google"))
			cb.Path = "/auth/callback/github"
			return cb
		}},
		{"google's answer without iss at github's callback", func(h *twoProviders) *url.URL {
			cb := h.answer(h.authorize("google"))
			cb.Path = "/auth/callback/github"
			q := cb.Query()
			q.Del("iss")
			cb.RawQuery = q.Encode()
			return cb
		}},
		{"github's answer at google's callback", func(h *twoProviders) *url.URL {
			cb := h.answer(h.authorize("github"))
			cb.Path = "/auth/callback/google"
			return cb
		}},
		{"flow started at github, google answers (T15)", func(h *twoProviders) *url.URL {
			// The attacker's provider bounces the browser to the honest
			// one with the application's client ID, the honest redirect URI
			// and the attacker flow's state and challenge.
			b := h.authorize("github").Query()
			a := h.authorize("google")
			q := a.Query()
			q.Set("state", b.Get("state"))
			q.Set("code_challenge", b.Get("code_challenge"))
			a.RawQuery = q.Encode()
			return h.answer(a)
		}},
		{"flow started at google, github answers (T15)", func(h *twoProviders) *url.URL {
			b := h.authorize("google").Query()
			a := h.authorize("github")
			q := a.Query()
			q.Set("state", b.Get("state"))
			q.Set("code_challenge", b.Get("code_challenge"))
			a.RawQuery = q.Encode()
			return h.answer(a)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTwoProviders(t, setup{})
			cb := tc.cross(h)
			resp, body := h.get(cb.String())
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "<h1>This sign-in link is not valid</h1>") {
				t.Fatalf("crossed answer: status %d: %s", resp.StatusCode, body)
			}
			if n := h.tokenRequests(); n != 0 {
				t.Fatalf("%d token requests after a crossed answer", n)
			}
			h.noSession(resp)
		})
	}
}

// TestTwoFlowsEachToItsProvider runs a Google and a GitHub login in one
// browser at once (two tabs): each code goes to its own token endpoint.
func TestTwoFlowsEachToItsProvider(t *testing.T) {
	h := newTwoProviders(t, setup{})
	google := h.answer(h.authorize("google"))
	github := h.answer(h.authorize("github"))
	for _, cb := range []*url.URL{github, google} {
		if resp, body := h.get(cb.String()); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d %s", cb.Path, resp.StatusCode, body)
		}
	}
	g, gh := h.google.Requests(fakegoogle.PathToken), h.github.Requests(fakegithub.PathToken)
	if len(g) != 1 || len(gh) != 1 || g[0].Form.Get("code") != google.Query().Get("code") || gh[0].Form.Get("code") != github.Query().Get("code") {
		t.Fatalf("token requests: google %d, github %d", len(g), len(gh))
	}
	if _, body := h.get("/private"); !strings.HasPrefix(body, "google|") {
		t.Fatalf("/private: %s (the last login wins)", body)
	}
}
