package providers

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/oidctest"
	"github.com/portcullis-go/portcullis/internal/opkit"
)

// Tests of Introspect (RFC 7662) against the mock provider's
// introspection endpoint, one test per group.

// introspectProvider returns provider "a" for a fresh mock provider,
// whose honest introspection answers name testAPI as the audience, on a
// fake clock.
func introspectProvider(t *testing.T) (*Provider, *oidctest.Server, *fakeClock) {
	t.Helper()
	p, op, clock := accessProvider(t)
	if ok, err := p.CanIntrospect(context.Background()); !ok || err != nil {
		t.Fatal("CanIntrospect false for a provider with an introspection_endpoint")
	}
	op.Introspection = func(_ string, c oidctest.Claims) oidctest.Claims {
		if c["active"] == true {
			c["aud"] = testAPI
		}
		return c
	}
	return p, op, clock
}

// introspect checks token with the default rules.
func introspect(p *Provider, token string) (*AccessToken, error) {
	return p.Introspect(context.Background(), token, AccessTokenRules{Audience: testAPI})
}

func TestIntrospectActive(t *testing.T) {
	p, op, clock := introspectProvider(t)
	token := op.IssueAccessToken("api:read api:write", time.Hour)
	tok, err := introspect(p, token)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Subject != oidctest.Subject || tok.ClientID != oidctest.ClientID ||
		!slices.Equal(tok.Scopes, []string{"api:read", "api:write"}) || !slices.Equal(tok.Audience, []string{testAPI}) ||
		!tok.Expiry.After(clock.now()) || tok.IssuedAt.IsZero() {
		t.Errorf("token %+v", tok)
	}
	var extra struct {
		TokenType string `json:"token_type"`
	}
	if err := tok.Claims(&extra); err != nil || extra.TokenType != "Bearer" {
		t.Errorf("Claims: %+v, %v", extra, err)
	}
	reqs := op.Requests(oidctest.PathIntrospect)
	if len(reqs) != 1 {
		t.Fatalf("%d introspection requests, want 1", len(reqs))
	}
	r := reqs[0]
	if id, secret, ok := opkit.ClientSecretBasic(r); !ok || id != oidctest.ClientID || secret != oidctest.ClientSecret ||
		r.Method != http.MethodPost || r.PostForm.Get("token") != token || r.PostForm.Get("token_type_hint") != "access_token" {
		t.Errorf("request: %s, form %v, basic %v", r.Method, r.PostForm, ok)
	}
	// A caller that changes the result does not change the cache.
	tok.Scopes[0], tok.Audience[0] = "changed", "changed"
	if again, err := introspect(p, token); err != nil || again.Scopes[0] != "api:read" || again.Audience[0] != testAPI {
		t.Errorf("cached answer changed by a caller: %+v, %v", again, err)
	}
}

func TestIntrospectRefused(t *testing.T) {
	p, op, clock := introspectProvider(t)
	honest := op.Introspection
	tests := []struct {
		name  string
		token string // "" means a freshly issued one
		edit  func(c oidctest.Claims, now time.Time)
		want  string // "" for accepted
		asked bool   // whether the endpoint is asked
	}{
		{"inactive (unknown token)", "unknown-token-marker", nil, "inactive", true},
		{"inactive (revoked)", "", func(c oidctest.Claims, _ time.Time) { clear(c); c["active"] = false }, "inactive", true},
		{"expired", "", func(c oidctest.Claims, now time.Time) { c["exp"] = now.Add(-time.Second).Unix() }, "expired", true},
		{"wrong aud", "", func(c oidctest.Claims, _ time.Time) { c["aud"] = "https://evil.example" }, "wrong audience", true},
		{"aud array without the API", "", func(c oidctest.Claims, _ time.Time) { c["aud"] = []string{"a", "b"} }, "wrong audience", true},
		{"aud array with the API", "", func(c oidctest.Claims, _ time.Time) { c["aud"] = []string{"a", testAPI} }, "", true},
		{"aud absent", "", func(c oidctest.Claims, _ time.Time) { delete(c, "aud") }, "no audience", true},
		{"a refresh token", "", func(c oidctest.Claims, _ time.Time) { c["token_type"] = "refresh_token" }, "not an access token", true},
		{"token_type bearer", "", func(c oidctest.Claims, _ time.Time) { c["token_type"] = "bearer" }, "", true},
		{"wrong iss", "", func(c oidctest.Claims, _ time.Time) { c["iss"] = "https://evil.example" }, "wrong issuer", true},
		{"iss absent", "", func(c oidctest.Claims, _ time.Time) { delete(c, "iss") }, "", true},
		{"exp absent", "", func(c oidctest.Claims, _ time.Time) { delete(c, "exp") }, "", true},
		{"sub of 256 bytes", "", func(c oidctest.Claims, _ time.Time) { c["sub"] = strings.Repeat("s", 256) }, "sub longer", true},
		{"exp a word", "", func(c oidctest.Claims, _ time.Time) { c["exp"] = "soon" }, "malformed introspection claims", true},
		{"aud a number", "", func(c oidctest.Claims, _ time.Time) { c["aud"] = 1 }, "malformed introspection claims", true},
		{"malformed token: space", "a b", nil, "malformed", false},
		{"malformed token: empty", "=", nil, "malformed", false},
		{"malformed token: control character", "abc\n", nil, "malformed", false},
		{"token over 16 KiB", strings.Repeat("t", 16<<10+1), nil, "too large", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := tt.token
			if token == "" {
				token = op.IssueAccessToken("api:read", time.Hour)
			}
			op.Introspection = func(tk string, c oidctest.Claims) oidctest.Claims {
				c = honest(tk, c)
				if tt.edit != nil {
					tt.edit(c, clock.now())
				}
				return c
			}
			before := len(op.Requests(oidctest.PathIntrospect))
			tok, err := introspect(p, token)
			if asked := len(op.Requests(oidctest.PathIntrospect)) > before; asked != tt.asked {
				t.Errorf("endpoint asked: %v, want %v", asked, tt.asked)
			}
			if tt.want == "" {
				if err != nil || tok == nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want %q", tt.want)
			}
			if !errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want ErrInvalidToken with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "marker") || strings.Contains(err.Error(), "evil") || strings.Contains(err.Error(), token) {
				t.Errorf("error %q quotes the token or the answer", err)
			}
		})
	}
	op.Introspection = honest
	for _, rules := range []AccessTokenRules{{}, {InsecureAllowIDTokens: true}} {
		if _, err := p.Introspect(context.Background(), "t", rules); err == nil || errors.Is(err, ErrInvalidToken) {
			t.Errorf("rules %+v: %v, want a configuration error", rules, err)
		}
	}
}

func TestIntrospectUnavailable(t *testing.T) {
	p, op, _ := introspectProvider(t)
	write := func(status int, body string) func(http.ResponseWriter, *http.Request) bool {
		return func(w http.ResponseWriter, _ *http.Request) bool {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write([]byte(body))
			return true
		}
	}
	tests := []struct {
		name string
		hook func(http.ResponseWriter, *http.Request) bool
	}{
		{"500", write(500, `{"error":"server_error"}`)},
		{"503", write(503, "")},
		{"401 invalid_client", write(401, `{"error":"invalid_client"}`)},
		{"400 with active true", write(400, `{"active":true}`)},
		{"302", write(302, "")},
		{"HTML page", write(200, "<html>proxy</html>")},
		{"no active", write(200, `{"sub":"x"}`)},
		{"active a string", write(200, `{"active":"true"}`)},
		{"active null", write(200, `{"active":null}`)},
		{"a JSON array", write(200, `[{"active":true}]`)},
		{"answer over 16 KiB", write(200, `{"active":true,"pad":"`+strings.Repeat("p", 16<<10)+`"}`)},
	}
	token := op.IssueAccessToken("api:read", time.Hour)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op.IntrospectionResponse = tt.hook
			for i := range 2 { // not cached: each check asks again
				before := len(op.Requests(oidctest.PathIntrospect))
				_, err := introspect(p, token)
				if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInvalidToken) {
					t.Errorf("check %d: %v, want ErrUnavailable only", i, err)
				}
				if err != nil && strings.Contains(err.Error(), token) {
					t.Errorf("error %q quotes the token", err)
				}
				if len(op.Requests(oidctest.PathIntrospect)) != before+1 {
					t.Errorf("check %d did not ask the endpoint: the failure was cached", i)
				}
			}
		})
	}
	// Once the endpoint answers again, so does Introspect.
	op.IntrospectionResponse = nil
	if _, err := introspect(p, token); err != nil {
		t.Errorf("after recovery: %v", err)
	}
	op.Close()
	if _, err := introspect(p, op.IssueAccessToken("", time.Hour)); !errors.Is(err, ErrUnavailable) {
		t.Errorf("endpoint down: %v, want ErrUnavailable", err)
	}
}

// TestIntrospectCache: one request for several checks of one token, for
// as long as the policy says — including what revocation costs.
func TestIntrospectCache(t *testing.T) {
	p, op, clock := introspectProvider(t)
	honest := op.Introspection
	requests := func() int { return len(op.Requests(oidctest.PathIntrospect)) }
	checks := []struct {
		name    string
		advance time.Duration // before this check
		token   string        // "a" active, "i" inactive, "s" short-lived, "r" revoked after its first check
		rules   AccessTokenRules
		want    string // "" for accepted
		asked   bool
	}{
		{"active, first check", 0, "a", AccessTokenRules{Audience: testAPI}, "", true},
		{"active, second check: cache hit", 0, "a", AccessTokenRules{Audience: testAPI}, "", false},
		{"cached answer, another audience", 0, "a", AccessTokenRules{Audience: "other"}, "wrong audience", false},
		{"inactive, first check", 0, "i", AccessTokenRules{Audience: testAPI}, "inactive", true},
		{"inactive, second check: cache hit", 0, "i", AccessTokenRules{Audience: testAPI}, "inactive", false},
		{"short-lived (exp in 20 s)", 0, "s", AccessTokenRules{Audience: testAPI}, "", true},
		{"revoked after this check", 0, "r", AccessTokenRules{Audience: testAPI}, "", true},
		{"revoked, still cached", 29 * time.Second, "r", AccessTokenRules{Audience: testAPI}, "", false},
		{"inactive still cached at 29 s", 0, "i", AccessTokenRules{Audience: testAPI}, "inactive", false},
		{"inactive asked again at 30 s", time.Second, "i", AccessTokenRules{Audience: testAPI}, "inactive", true},
		{"short-lived past its exp", 0, "s", AccessTokenRules{Audience: testAPI}, "expired", true},
		{"active still cached at 119 s", 89 * time.Second, "a", AccessTokenRules{Audience: testAPI}, "", false},
		{"revoked, still accepted at 119 s", 0, "r", AccessTokenRules{Audience: testAPI}, "", false},
		{"active asked again at 120 s", time.Second, "a", AccessTokenRules{Audience: testAPI}, "", true},
		{"revoked, refused at 120 s", 0, "r", AccessTokenRules{Audience: testAPI}, "inactive", true},
	}
	tokens := map[string]string{}
	for _, k := range []string{"a", "s", "r"} {
		tokens[k] = op.IssueAccessToken("api:read", time.Hour)
	}
	tokens["i"] = "never-issued"
	start := clock.now()
	revoked := false
	op.Introspection = func(tk string, c oidctest.Claims) oidctest.Claims {
		c = honest(tk, c)
		switch {
		case tk == tokens["s"]:
			c["exp"] = start.Add(20 * time.Second).Unix()
		case tk == tokens["r"] && revoked:
			return oidctest.Claims{"active": false}
		}
		return c
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			clock.advance(c.advance)
			before := requests()
			_, err := p.Introspect(context.Background(), tokens[c.token], c.rules)
			if asked := requests() > before; asked != c.asked {
				t.Errorf("endpoint asked: %v, want %v", asked, c.asked)
			}
			switch {
			case c.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.want != "" && (err == nil || !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), c.want)):
				t.Errorf("error %v, want ErrInvalidToken with %q", err, c.want)
			}
			if c.token == "r" {
				revoked = true
			}
		})
	}
}

// TestIntrospectCacheBound: at its bound the cache evicts the answer
// expiring soonest; an evicted answer costs one more request.
func TestIntrospectCacheBound(t *testing.T) {
	p, op, clock := introspectProvider(t)
	honest := op.Introspection
	m := known(t, p)
	m.introspection = newIntrospector(m.introspection.url, 2, p.now)
	start := clock.now()
	lifetime := map[string]time.Duration{}
	op.Introspection = func(tk string, c oidctest.Claims) oidctest.Claims {
		c = honest(tk, c)
		c["exp"] = start.Add(lifetime[tk]).Unix()
		return c
	}
	var tokens []string
	for _, d := range []time.Duration{90 * time.Second, 30 * time.Second, 60 * time.Second} {
		tk := op.IssueAccessToken("api:read", time.Hour)
		lifetime[tk] = d
		tokens = append(tokens, tk)
	}
	requests := func() int { return len(op.Requests(oidctest.PathIntrospect)) }
	for _, tk := range tokens {
		if _, err := introspect(p, tk); err != nil {
			t.Fatal(err)
		}
	}
	if n, ev := m.introspection.cache.Len(), m.introspection.cache.Evictions(); n != 2 || ev != 1 {
		t.Errorf("cache holds %d answers after %d evictions, want 2 after 1", n, ev)
	}
	tests := []struct {
		name  string
		token string
		asked bool
	}{
		{"90 s answer kept", tokens[0], false},
		{"60 s answer kept", tokens[2], false},
		{"30 s answer evicted: asked again", tokens[1], true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := requests()
			if _, err := introspect(p, tt.token); err != nil {
				t.Fatal(err)
			}
			if asked := requests() > before; asked != tt.asked {
				t.Errorf("endpoint asked: %v, want %v", asked, tt.asked)
			}
		})
	}
	if n := m.introspection.cache.Len(); n > 2 {
		t.Errorf("cache holds %d answers, bound 2", n)
	}
}

func TestIntrospectEndpointDiscovery(t *testing.T) {
	tests := []struct {
		name     string
		endpoint any // nil: removed
		wantErr  bool
	}{
		{"absent", nil, false},
		{"plain http to another host", "http://idp.example/introspect", true},
		{"relative", "/introspect", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := oidctest.New(t)
			op.Discovery = func(doc map[string]any) {
				if tt.endpoint == nil {
					delete(doc, "introspection_endpoint")
				} else {
					doc["introspection_endpoint"] = tt.endpoint
				}
			}
			p, err := OIDC(context.Background(), OIDCConfig{Name: "a", Issuer: op.URL, ClientID: oidctest.ClientID, HTTPClient: op.Client()})
			if tt.wantErr {
				if err == nil {
					t.Fatal("OIDC accepted the endpoint")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := p.CanIntrospect(context.Background()); ok || err != nil {
				t.Error("CanIntrospect true without an endpoint")
			}
			if _, err := introspect(p, "t"); !errors.Is(err, errors.ErrUnsupported) || errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrUnavailable) {
				t.Errorf("Introspect without an endpoint: %v, want a configuration error (errors.ErrUnsupported)", err)
			}
		})
	}
}
