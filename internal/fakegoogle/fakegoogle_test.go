package fakegoogle

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// authorize sends an authorization request and returns the response.
func authorize(t *testing.T, s *Server, q url.Values) *http.Response {
	t.Helper()
	c := *s.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(s.endpoint("accounts.google.com", PathAuthorize) + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestAuthorizationResponses(t *testing.T) {
	good := func() url.Values {
		return url.Values{"client_id": {ClientID}, "redirect_uri": {"https://app.example/cb"}, "response_type": {"code"}, "scope": {"openid email"}, "state": {"st"}}
	}
	for _, tc := range []struct {
		name   string
		cfg    Config
		edit   func(q url.Values)
		status int
		want   url.Values // members of the callback query
	}{
		{"success", Config{}, nil, 302, url.Values{"state": {"st"}, "scope": {"openid email https://www.googleapis.com/auth/userinfo.email"}, "authuser": {"0"}, "prompt": {"none"}}},
		{"offline first time shows consent", Config{}, func(q url.Values) { q.Set("access_type", "offline") }, 302, url.Values{"prompt": {"consent"}}},
		{"workspace account", Config{User: User{Sub: "1", HD: "example.com"}}, nil, 302, url.Values{"hd": {"example.com"}}},
		{"denied", Config{Deny: true}, nil, 302, url.Values{"error": {"access_denied"}, "state": {"st"}}},
		{"unregistered redirect URI: no redirect", Config{}, func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") }, 400, nil},
		{"unknown client: no redirect", Config{}, func(q url.Values) { q.Set("client_id", "other") }, 400, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.RedirectURIs = []string{"https://app.example/cb"}
			s := New(tc.cfg)
			defer s.Close()
			q := good()
			if tc.edit != nil {
				tc.edit(q)
			}
			resp := authorize(t, s, q)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != 302 {
				return
			}
			loc, _ := url.Parse(resp.Header.Get("Location"))
			got := loc.Query()
			if got.Get("iss") != s.URL {
				t.Errorf("iss %q, want %q (RFC 9207)", got.Get("iss"), s.URL)
			}
			for k, v := range tc.want {
				if got.Get(k) != v[0] {
					t.Errorf("%s = %q, want %q", k, got.Get(k), v[0])
				}
			}
		})
	}
}

func TestDiscoveryWithGoogleURLs(t *testing.T) {
	s := New(Config{GoogleURLs: true})
	defer s.Close()
	resp, err := s.Client().Get("https://accounts.google.com" + PathDiscovery)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	json.NewDecoder(resp.Body).Decode(&doc)
	for k, want := range map[string]string{
		"issuer":                 "https://accounts.google.com",
		"authorization_endpoint": "https://accounts.google.com/o/oauth2/v2/auth",
		"token_endpoint":         "https://oauth2.googleapis.com/token",
		"jwks_uri":               "https://www.googleapis.com/oauth2/v3/certs",
		"userinfo_endpoint":      "https://openidconnect.googleapis.com/v1/userinfo",
		"revocation_endpoint":    "https://oauth2.googleapis.com/revoke",
	} {
		if doc[k] != want {
			t.Errorf("%s = %v, want %s", k, doc[k], want)
		}
	}
	if methods, _ := json.Marshal(doc["code_challenge_methods_supported"]); !strings.Contains(string(methods), "S256") {
		t.Errorf("code_challenge_methods_supported %s", methods)
	}
}
