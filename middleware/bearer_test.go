package middleware

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/middleware/policy"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/providers/devoidc"
	"github.com/portcullis-go/portcullis/session"
	"golang.org/x/oauth2/clientcredentials"
)

// bearerEnv is an API behind Auth whose tokens devoidc issues: JWT access
// tokens for audience "api://dash" when jwt is set, opaque ones (checked
// by introspection) otherwise.
type bearerEnv struct {
	t      *testing.T
	op     *httptest.Server
	auth   *Auth
	api    *httptest.Server
	logs   *logBuffer
	events *eventRecorder
}

func newBearerEnv(t *testing.T, jwt bool, p policy.Policy) *bearerEnv {
	t.Helper()
	opTS := httptest.NewServer(nil)
	t.Cleanup(opTS.Close)
	cfg := devoidc.Config{
		Issuer:    opTS.URL,
		Clients:   []devoidc.Client{{ID: "app", Secret: "s", RedirectURIs: []string{"https://app.example/auth/callback/dev"}}},
		AutoLogin: "ada",
		Logger:    scanLogger(t),
	}
	if jwt {
		cfg.AccessTokenAudience = "api://dash"
	}
	op, err := devoidc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	opTS.Config.Handler = tapProvider(t, op)
	prov, err := providers.OIDC(context.Background(), providers.OIDCConfig{Name: "dev", Issuer: opTS.URL, ClientID: "app", ClientSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	e := &bearerEnv{t: t, op: opTS, logs: &logBuffer{}, events: &eventRecorder{}}
	e.auth, err = newAuth(t, Config{BaseURL: "https://app.example", Providers: []*providers.Provider{prov}, Keys: [][]byte{testKey},
		// devoidc's introspection answers for opaque tokens carry no aud.
		BearerTokens: &BearerTokens{Provider: "dev", Audience: "api://dash", Introspect: !jwt, InsecureAllowNoAudience: !jwt}, Logger: e.logs.logger(), Observer: e.events})
	if err != nil {
		t.Fatal(err)
	}
	e.api = httptest.NewServer(e.auth.RequireWith(p)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := UserFrom(r.Context())
		json.NewEncoder(w).Encode(map[string]any{"sub": u.Subject, "provider": u.Provider})
	})))
	t.Cleanup(e.api.Close)
	return e
}

// token gets an access token with client_credentials, as a script would.
func (e *bearerEnv) token(scopes ...string) string {
	e.t.Helper()
	cc := clientcredentials.Config{ClientID: "app", ClientSecret: "s", TokenURL: e.op.URL + "/token", Scopes: scopes}
	tok, err := cc.Token(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return tok.AccessToken
}

func (e *bearerEnv) call(authz string, hdr map[string]string) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.api.URL+"/api/whoami", nil)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestBearerTokens: API clients with a JWT access token (RFC 9068) or an
// opaque one (RFC 7662) pass the route's policy; invalid tokens get 401
// invalid_token, a policy refusal 403 (insufficient_scope for scopes), and
// none is ever redirected.
func TestBearerTokens(t *testing.T) {
	for _, jwt := range []bool{true, false} {
		name := map[bool]string{true: "jwt", false: "introspection"}[jwt]
		t.Run(name, func(t *testing.T) {
			e := newBearerEnv(t, jwt, policy.AllOf(policy.Providers("dev"), policy.Scopes("reports:read")))
			good := e.token("reports:read")
			if !jwt {
				// Without the opt-in, an answer without aud is refused.
				e.auth.s.BearerTokens.InsecureAllowNoAudience = false
				if resp, _ := e.call("Bearer "+e.token("reports:read"), nil); resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("an introspection answer without aud: %d, want 401", resp.StatusCode)
				}
				e.auth.s.BearerTokens.InsecureAllowNoAudience = true
			}
			if resp, body := e.call("Bearer "+good, nil); resp.StatusCode != 200 || !strings.Contains(body, `"sub":"app"`) {
				t.Fatalf("valid token: %d %s", resp.StatusCode, body)
			}
			if resp, _ := e.call("bearer "+good, nil); resp.StatusCode != 200 {
				t.Fatalf("scheme is case-insensitive: %d", resp.StatusCode)
			}
			resp, _ := e.call("Bearer "+e.token(), nil)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
				t.Fatalf("token without the scope: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
			nav := map[string]string{"Accept": "text/html", "Sec-Fetch-Mode": "navigate"}
			for _, bad := range []string{"Bearer ", "Bearer x y", "Bearer " + good + "x", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "Bearer " + strings.Repeat("a", 20000)} {
				resp, body := e.call(bad, nav)
				if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Location") != "" ||
					!strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
					t.Errorf("%.40q: %d Location %q WWW-Authenticate %q", bad, resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("WWW-Authenticate"))
				}
				if strings.Contains(body, good) || strings.Contains(e.logs.String(), good) {
					t.Fatal("a token reached a response or the log")
				}
			}
		})
	}
}

// TestBearerRefusesIDTokens: an ID token (for the application, not its
// API) is not an access token.
func TestBearerRefusesIDTokens(t *testing.T) {
	e := newBearerEnv(t, true, policy.Providers("dev"))
	// The API's audience is the client ID (as examples/dashboard's default
	// is), so an ID token's aud matches: only its shape can refuse it.
	e.auth.s.BearerTokens.Audience = "app"
	// A code flow, as the app does, to obtain a real ID token.
	rec := serve(e.auth.Handler(), "GET", "https://app.example/auth/login/dev", nil)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(rec.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := resp.Location()
	u, _ := url.Parse(rec.Header().Get("Location"))
	verifier := ""
	for _, c := range rec.Result().Cookies() {
		if f, err := e.auth.flows.decode(c.Name, c.Value); err == nil {
			verifier = f.Verifier
		}
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {u.Query().Get("redirect_uri")}, "code_verifier": {verifier}}
	req, _ := http.NewRequest("POST", e.op.URL+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("app", "s")
	tr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		IDToken string `json:"id_token"`
	}
	json.NewDecoder(tr.Body).Decode(&body)
	tr.Body.Close()
	if body.IDToken == "" {
		t.Fatal("no ID token")
	}
	if resp, _ := e.call("Bearer "+body.IDToken, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("an ID token as a bearer token: %d, want 401", resp.StatusCode)
	}
	e.auth.s.BearerTokens.InsecureAllowIDTokens = true
	if resp, _ := e.call("Bearer "+body.IDToken, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("control: the same ID token with InsecureAllowIDTokens: %d", resp.StatusCode)
	}
}

// TestBearerRequestShape: two Authorization headers are refused; a
// request with a bearer token never falls back to the session cookie.
func TestBearerRequestShape(t *testing.T) {
	e := newBearerEnv(t, true, policy.Providers("dev"))
	req, _ := http.NewRequest("GET", e.api.URL+"/api/whoami", nil)
	req.Header.Add("Authorization", "Bearer "+e.token())
	req.Header.Add("Authorization", "Bearer "+e.token())
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("two Authorization headers: %d", resp.StatusCode)
	}
	for name, lines := range map[string][]string{
		"Basic, then Bearer": {"Basic YTpi", "Bearer " + e.token()},
		"Bearer with a tab":  {"Bearer\t" + e.token()},
	} {
		req, _ := http.NewRequest("GET", e.api.URL+"/api/whoami", nil)
		for _, l := range lines {
			req.Header.Add("Authorization", l)
		}
		for _, c := range signedIn(t, e.auth, func(s *session.Session) { s.User.Issuer = e.auth.s.providers["dev"].Issuer() }) {
			req.AddCookie(c)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s beside a valid cookie: %d, want 401 (a bearer token was presented: never the cookie)", name, resp.StatusCode)
		}
	}
	cookies := signedIn(t, e.auth, func(s *session.Session) {
		s.User.Provider, s.User.Issuer = "dev", e.auth.s.providers["dev"].Issuer()
	})
	req, _ = http.NewRequest("GET", e.api.URL+"/api/whoami", nil)
	req.Header.Set("Authorization", "Bearer invalid")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("an invalid bearer token beside a valid cookie: %d, want 401 (never the cookie)", resp.StatusCode)
	}
}

// TestBearerConfigRefused: New refuses bearer settings that cannot work.
func TestBearerConfigRefused(t *testing.T) {
	p := devProvider(t, "dev", "https://app.example")
	for name, bt := range map[string]*BearerTokens{
		"unknown provider": {Provider: "nope", Audience: "a"},
		"no audience":      {Provider: "dev"},
	} {
		if _, err := newAuth(t, Config{BaseURL: "https://app.example", Providers: []*providers.Provider{p}, Keys: [][]byte{testKey}, BearerTokens: bt}); err == nil || !strings.Contains(err.Error(), "Config.BearerTokens") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestBearerChallengeWithoutCredentials: with bearer tokens accepted, an
// API request without any credential is told both ways to authenticate.
func TestBearerChallengeWithoutCredentials(t *testing.T) {
	e := newBearerEnv(t, true, policy.Providers("dev"))
	resp, body := e.call("", map[string]string{"Accept": "application/json"})
	ch := strings.Join(resp.Header.Values("WWW-Authenticate"), "; ")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(ch, "Bearer") || !strings.Contains(ch, "Cookie") {
		t.Fatalf("no credentials: %d, challenges %q", resp.StatusCode, ch)
	}
	if resp, body2 := e.call("Bearer x.y.z", nil); !strings.Contains(body2, `"error":"invalid_token"`) {
		t.Fatalf("an invalid token's JSON: %d %s (and %s)", resp.StatusCode, body2, body)
	}
}

// TestBearerStepUpValuesNeverReachTheChallenge: a policy of the
// application's that asks for step-up values no login could carry (a
// quote, say) is a wiring mistake: 500, and the values never reach the
// WWW-Authenticate header or a URL.
func TestBearerStepUpValuesNeverReachTheChallenge(t *testing.T) {
	bad := policy.Func(func(*policy.Request) error {
		return &policy.StepUpRequired{ACR: []string{`x", error="invalid_request`}}
	})
	e := newBearerEnv(t, true, bad)
	resp, _ := e.call("Bearer "+e.token(), nil)
	if resp.StatusCode != http.StatusInternalServerError || strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_request") {
		t.Fatalf("a malformed step-up from a policy: %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}
