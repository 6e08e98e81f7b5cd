package providers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/providers/devoidc"
)

// discoveryServer serves a discovery document built by edit from a valid
// one for its own URL.
func discoveryServer(t *testing.T, edit func(doc map[string]any)) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(nil)
	t.Cleanup(ts.Close)
	ts.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc := map[string]any{
			"issuer":                                ts.URL,
			"authorization_endpoint":                ts.URL + "/authorize",
			"token_endpoint":                        ts.URL + "/token",
			"jwks_uri":                              ts.URL + "/jwks",
			"userinfo_endpoint":                     ts.URL + "/userinfo",
			"response_types_supported":              []string{"code"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
		}
		if edit != nil {
			edit(doc)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(doc)
	})
	return ts
}

func TestOIDCRefusesBadConfig(t *testing.T) {
	ts := discoveryServer(t, nil)
	valid := OIDCConfig{Name: "corp", Issuer: ts.URL, ClientID: "app"}
	for name, tc := range map[string]func(c *OIDCConfig){
		"empty name":        func(c *OIDCConfig) { c.Name = "" },
		"upper-case name":   func(c *OIDCConfig) { c.Name = "Corp" },
		"name with slash":   func(c *OIDCConfig) { c.Name = "a/b" },
		"name too long":     func(c *OIDCConfig) { c.Name = strings.Repeat("a", 33) },
		"no client ID":      func(c *OIDCConfig) { c.ClientID = "" },
		"no issuer":         func(c *OIDCConfig) { c.Issuer = "" },
		"http issuer":       func(c *OIDCConfig) { c.Issuer = "http://op.example" },
		"issuer trailing /": func(c *OIDCConfig) { c.Issuer = ts.URL + "/" },
		"alg none":          func(c *OIDCConfig) { c.SigningAlgs = []string{"none"} },
		"alg HS256":         func(c *OIDCConfig) { c.SigningAlgs = []string{"RS256", "HS256"} },
		"negative max age":  func(c *OIDCConfig) { c.MaxIDTokenAge = -1 },
		"userinfo unsupported": func(c *OIDCConfig) {
			c.UserInfo = true
			c.Issuer = discoveryServer(t, func(d map[string]any) { delete(d, "userinfo_endpoint") }).URL
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := valid
			tc(&c)
			if p, err := OIDC(context.Background(), c); err == nil {
				t.Fatalf("OIDC accepted the configuration: %+v", p)
			}
		})
	}
	if _, err := OIDC(context.Background(), valid); err != nil {
		t.Fatalf("valid configuration refused: %v", err)
	}
}

func TestOIDCRefusesBadDiscovery(t *testing.T) {
	for name, edit := range map[string]func(d map[string]any){
		"issuer mismatch":         func(d map[string]any) { d["issuer"] = "https://other.example" },
		"http token endpoint":     func(d map[string]any) { d["token_endpoint"] = "http://op.example/token" },
		"http authorization":      func(d map[string]any) { d["authorization_endpoint"] = "http://op.example/authorize" },
		"http jwks":               func(d map[string]any) { d["jwks_uri"] = "http://op.example/jwks" },
		"http userinfo":           func(d map[string]any) { d["userinfo_endpoint"] = "http://op.example/userinfo" },
		"http end_session":        func(d map[string]any) { d["end_session_endpoint"] = "http://op.example/logout" },
		"no jwks":                 func(d map[string]any) { delete(d, "jwks_uri") },
		"no code response type":   func(d map[string]any) { d["response_types_supported"] = []string{"id_token"} },
		"relative token endpoint": func(d map[string]any) { d["token_endpoint"] = "/token" },
	} {
		t.Run(name, func(t *testing.T) {
			ts := discoveryServer(t, edit)
			if _, err := OIDC(context.Background(), OIDCConfig{Name: "corp", Issuer: ts.URL, ClientID: "app"}); err == nil {
				t.Fatal("OIDC accepted the discovery document")
			}
		})
	}
}

func TestOIDCDefaults(t *testing.T) {
	ts := discoveryServer(t, func(d map[string]any) {
		d["authorization_response_iss_parameter_supported"] = true
		d["code_challenge_methods_supported"] = []string{"plain"}
	})
	p, err := OIDC(context.Background(), OIDCConfig{Name: "corp", Issuer: ts.URL, ClientID: "app", Scopes: []string{"email"}})
	if err != nil {
		t.Fatal(err)
	}
	if m := known(t, p); !m.issParamRequired || p.Issuer() != ts.URL || p.DisplayName() != "corp" {
		t.Errorf("RequiresIssuerParameter %v Issuer %q DisplayName %q", m.issParamRequired, p.Issuer(), p.DisplayName())
	}
	u := authCodeURL(t, p, Flow{RedirectURL: "https://app.example/cb", State: "s", Nonce: "n", Verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"})
	// openid is always requested, and S256 is sent even though the
	// provider advertises only plain (PKCE downgrade, AR-05).
	for _, want := range []string{"scope=openid+email", "code_challenge_method=S256", "code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "nonce=n", "state=s", "response_type=code"} {
		if !strings.Contains(u, want) {
			t.Errorf("authorization URL %s lacks %s", u, want)
		}
	}
	if strings.Contains(u, "plain") || strings.Contains(u, "dBjftJeZ4CVP") {
		t.Errorf("authorization URL %s leaks the verifier or uses plain", u)
	}
}

// TestOIDCWithDevoidc runs a real code flow against devoidc without the
// middleware: the provider's half of the login.
func TestOIDCWithDevoidc(t *testing.T) {
	ts := httptest.NewServer(nil)
	defer ts.Close()
	op, err := devoidc.New(devoidc.Config{
		Issuer:    ts.URL,
		Clients:   []devoidc.Client{{ID: "app", Secret: "s", RedirectURIs: []string{"https://app.example/cb"}}},
		AutoLogin: "grace",
	})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = op
	for _, userInfo := range []bool{false, true} {
		p, err := OIDC(context.Background(), OIDCConfig{Name: "dev", Issuer: ts.URL, ClientID: "app", ClientSecret: "s", UserInfo: userInfo})
		if err != nil {
			t.Fatal(err)
		}
		f := Flow{RedirectURL: "https://app.example/cb", State: "state-1", Nonce: "nonce-1", Verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"}
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Get(authCodeURL(t, p, f))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := resp.Location()
		if loc == nil || loc.Query().Get("state") != "state-1" || loc.Query().Get("iss") != ts.URL {
			t.Fatalf("authorize redirected to %v", loc)
		}
		id, err := p.exchange(context.Background(), known(t, p), f, loc.Query().Get("code"))
		if err != nil {
			t.Fatal(err)
		}
		if id.User.Subject != "grace" || id.User.Provider != "dev" || id.User.Issuer != ts.URL || id.User.Email == "" ||
			id.Tokens.IDToken == "" || id.Tokens.RefreshToken == "" || id.Tokens.Expiry.IsZero() || id.SID == "" {
			t.Fatalf("identity %+v", id)
		}
		// The code works once.
		if _, err := p.exchange(context.Background(), known(t, p), f, loc.Query().Get("code")); err == nil {
			t.Fatal("a redeemed code was accepted again")
		}
	}
}
