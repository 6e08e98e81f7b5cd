package providers

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/oidctest"
	"github.com/portcullis-go/portcullis/internal/opkit"
	"github.com/portcullis-go/portcullis/session"
	"golang.org/x/oauth2"
)

// authParamsProvider returns an OpenID Connect provider at a fresh
// oidctest server with params.
func authParamsProvider(t *testing.T, params url.Values) (*Provider, *oidctest.Server) {
	t.Helper()
	op := oidctest.New(t)
	p, err := OIDC(context.Background(), OIDCConfig{
		Name: "a", Issuer: op.URL, ClientID: oidctest.ClientID, ClientSecret: oidctest.ClientSecret,
		HTTPClient: op.Client(), AuthParams: params,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p, op
}

// TestAuthParamsSent: the configured parameters reach the provider's
// authorization endpoint with every login, beside portcullis's own, and
// the login still completes.
func TestAuthParamsSent(t *testing.T) {
	params := url.Values{
		"audience":   {"https://api.example"},
		"resource":   {"https://api.example/v1"},
		"login_hint": {"grace@example.com"},
	}
	p, op := authParamsProvider(t, params)
	params.Set("audience", "changed after OIDC") // the provider keeps its copy
	if _, _, err := stepUpLogin(t, p, op, func(*Flow) {}); err != nil {
		t.Fatalf("login: %v", err)
	}
	reqs := op.Requests(oidctest.PathAuthorize)
	if len(reqs) != 1 {
		t.Fatalf("%d authorization requests, want 1", len(reqs))
	}
	q := reqs[0].URL.Query()
	for k, want := range map[string]string{
		"audience": "https://api.example", "resource": "https://api.example/v1", "login_hint": "grace@example.com",
		"client_id": oidctest.ClientID, "response_type": "code", "state": "state-1", "code_challenge_method": "S256",
	} {
		if got := q[k]; len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want exactly %q", k, got, want)
		}
	}
}

// TestAuthParamsPrompt: a configured prompt is sent unless the login sets
// its own: the consent restart's prompt=consent and a step-up's
// prompt=login replace it; acr_values alone does not.
func TestAuthParamsPrompt(t *testing.T) {
	p, _ := authParamsProvider(t, url.Values{"prompt": {"select_account"}})
	for _, tc := range []struct {
		name      string
		flow      func(*Flow)
		prompt    string
		maxAge    string
		acrValues string
	}{
		{"configured", func(*Flow) {}, "select_account", "", ""},
		{"consent restart wins", func(f *Flow) { f.Prompt = "consent" }, "consent", "", ""},
		{"step-up max_age wins", func(f *Flow) { f.MaxAge = 5 * time.Minute }, "login", "300", ""},
		{"step-up max_age wins over consent", func(f *Flow) { f.Prompt = "consent"; f.MaxAge = time.Minute }, "login", "60", ""},
		{"acr_values keeps the configured prompt", func(f *Flow) { f.ACRValues = []string{"urn:mfa"} }, "select_account", "", "urn:mfa"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := testFlow
			tc.flow(&f)
			u, err := url.Parse(authCodeURL(t, p, f))
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if got := q["prompt"]; len(got) != 1 || got[0] != tc.prompt {
				t.Errorf("prompt %q, want exactly %q", got, tc.prompt)
			}
			if q.Get("max_age") != tc.maxAge || q.Get("acr_values") != tc.acrValues {
				t.Errorf("max_age %q, acr_values %q; want %q, %q", q.Get("max_age"), q.Get("acr_values"), tc.maxAge, tc.acrValues)
			}
		})
	}
}

// TestAuthParamsRefused: each constructor refuses, naming it, a parameter
// portcullis sets itself, a repeated or empty one, and Google also those
// its fields set.
func TestAuthParamsRefused(t *testing.T) {
	op := oidctest.New(t)
	constructors := map[string]func(url.Values) (*Provider, error){
		"OIDC": func(v url.Values) (*Provider, error) {
			return OIDC(context.Background(), OIDCConfig{Name: "a", Issuer: op.URL, ClientID: "app", HTTPClient: op.Client(), AuthParams: v})
		},
		"Google": func(v url.Values) (*Provider, error) {
			return Google(context.Background(), GoogleConfig{Issuer: op.URL, ClientID: "app", HTTPClient: op.Client(), AuthParams: v})
		},
		"OAuth2": func(v url.Values) (*Provider, error) {
			return OAuth2(OAuth2Config{
				Name: "a", ClientID: "app", AuthParams: v,
				Endpoint: oauth2.Endpoint{AuthURL: op.URL + "/authorize", TokenURL: op.URL + "/token"},
				Identify: func(context.Context, *http.Client, *oauth2.Token) (session.User, error) { return session.User{}, nil },
			})
		},
	}
	type refusal struct {
		params url.Values
		want   string // in the error
	}
	var cases []refusal
	for _, k := range []string{
		"response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
		"code_challenge", "code_challenge_method", "response_mode", "request",
		"request_uri", "max_age", "acr_values", "State", "SCOPE",
	} {
		cases = append(cases, refusal{url.Values{"audience": {"x"}, k: {"v"}}, `cannot set "` + k + `"`})
	}
	cases = append(cases,
		refusal{url.Values{"scope": {"openid"}}, "Scopes"},
		refusal{url.Values{"max_age": {"0"}}, "step-up"},
		refusal{url.Values{"resource": {"https://a.example", "https://b.example"}}, `"resource" has 2 values`},
		refusal{url.Values{"resource": {}}, `"resource" has 0 values`},
		refusal{url.Values{"login_hint": {""}}, `"login_hint" has an empty value`},
		refusal{url.Values{"": {"x"}}, "empty parameter name"},
	)
	for cname, construct := range constructors {
		all := cases
		if cname == "Google" {
			all = append(all,
				refusal{url.Values{"hd": {"example.com"}}, `cannot set "hd": use HostedDomains`},
				refusal{url.Values{"access_type": {"offline"}}, `cannot set "access_type": use Offline`})
		}
		for _, tc := range all {
			t.Run(cname+"/"+tc.want, func(t *testing.T) {
				p, err := construct(tc.params)
				if err == nil || p != nil {
					t.Fatalf("%v accepted (provider %v)", tc.params, p)
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("error %q does not say %q", err, tc.want)
				}
			})
		}
		t.Run(cname+"/accepted", func(t *testing.T) {
			p, err := construct(url.Values{"audience": {"https://api.example"}, "prompt": {"login"}})
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(authCodeURL(t, p, testFlow))
			if got := u.Query().Get("audience"); got != "https://api.example" {
				t.Errorf("audience %q", got)
			}
		})
	}
}

// TestIssuerIsDiscoveryURL: an issuer given as its discovery URL is
// refused before any request, with the issuer to use.
func TestIssuerIsDiscoveryURL(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request to %s: the issuer should have been refused first", r.URL)
	}))
	defer ts.Close()
	for _, issuer := range []string{
		ts.URL + "/.well-known/openid-configuration",
		ts.URL + "/.well-known/openid-configuration/",
		ts.URL + "/.well-known/oauth-authorization-server",
	} {
		_, err := OIDC(context.Background(), OIDCConfig{Name: "a", Issuer: issuer, ClientID: "app"})
		if want := "use the issuer, " + ts.URL + ", not its discovery URL"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("issuer %s: error %v, want one saying %q", issuer, err, want)
		}
	}
	tenant := ts.URL + "/realms/corp"
	_, err := OIDC(context.Background(), OIDCConfig{Name: "a", Issuer: tenant + "/.well-known/openid-configuration", ClientID: "app"})
	if want := "use the issuer, " + tenant + ","; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want one saying %q", err, want)
	}
}

// slashServer serves a discovery document whose issuer is its URL with
// a trailing "/", as Auth0's is; while down is set it answers 503.
func slashServer(t *testing.T, down *atomic.Bool) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(nil)
	t.Cleanup(ts.Close)
	ts.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down != nil && down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		opkit.WriteJSON(w, http.StatusOK, map[string]any{
			"issuer": ts.URL + "/", "authorization_endpoint": ts.URL + "/authorize",
			"token_endpoint": ts.URL + "/token", "jwks_uri": ts.URL + "/jwks",
		})
	})
	return ts
}

// TestIssuerTrailingSlash: an issuer that differs from the document's
// only by a trailing "/" is refused with the exact issuer to use, both
// ways.
func TestIssuerTrailingSlash(t *testing.T) {
	withSlash := slashServer(t, nil)
	_, err := OIDC(context.Background(), OIDCConfig{Name: "a", Issuer: withSlash.URL, ClientID: "app"})
	if want := `use exactly "` + withSlash.URL + `/"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want one saying %s", err, want)
	}
	if _, err := OIDC(context.Background(), OIDCConfig{Name: "a", Issuer: withSlash.URL + "/", ClientID: "app"}); err != nil {
		t.Errorf("the exact issuer refused: %v", err)
	}
	without := discoveryServer(t, nil)
	_, err = OIDC(context.Background(), OIDCConfig{Name: "a", Issuer: without.URL + "/", ClientID: "app"})
	if want := `use exactly "` + without.URL + `"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want one saying %s", err, want)
	}
	other := discoveryServer(t, func(d map[string]any) { d["issuer"] = "https://other.example/" })
	_, err = OIDC(context.Background(), OIDCConfig{Name: "a", Issuer: other.URL, ClientID: "app"})
	if err == nil || strings.Contains(err.Error(), "use exactly") {
		t.Errorf("another issuer: error %v, want one without an issuer to copy", err)
	}
}

// TestIssuerTrailingSlashLater: a provider discovered after construction
// logs the same advice, and its methods' errors carry it.
func TestIssuerTrailingSlashLater(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	ts := slashServer(t, &down)
	logs := &logRecords{}
	p, clock := lazyProvider(t, context.Background(), ts.URL, logs)
	down.Store(false)
	clock.advance(discoveryFirstBackoff)
	want := `use exactly "` + ts.URL + `/"`
	if _, err := p.AuthCodeURL(context.Background(), testFlow); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("AuthCodeURL error %v, want one saying %s", err, want)
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	logged := 0
	for _, r := range logs.records {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "error" && r.Level == slog.LevelError && strings.Contains(a.Value.String(), want) {
				logged++
			}
			return true
		})
	}
	if logged != 1 {
		t.Errorf("%d error records saying %s, want 1", logged, want)
	}
}
