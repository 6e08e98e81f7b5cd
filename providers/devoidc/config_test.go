package devoidc

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"
)

func TestNewValidation(t *testing.T) {
	smallKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	valid := func() Config {
		return Config{Issuer: "https://op.example.com", Clients: testClients(), Key: testKey(t)}
	}
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string // empty: New must succeed
	}{
		{"https", func(c *Config) {}, ""},
		{"https with path", func(c *Config) { c.Issuer = "https://op.example.com/tenants/a" }, ""},
		{"https with trailing slash", func(c *Config) { c.Issuer = "https://op.example.com/" }, ""},
		{"http 127.0.0.1", func(c *Config) { c.Issuer = "http://127.0.0.1:9000/op" }, ""},
		{"http 127.5.6.7", func(c *Config) { c.Issuer = "http://127.5.6.7" }, ""},
		{"http ::1", func(c *Config) { c.Issuer = "http://[::1]:8080" }, ""},
		{"http localhost", func(c *Config) { c.Issuer = "http://localhost:8080" }, ""},
		// The providers package's loopback rule, which devoidc now shares.
		{"http name under .localhost", func(c *Config) { c.Issuer = "http://op.localhost:8080" }, ""},
		{"http localhost with a final dot", func(c *Config) { c.Issuer = "http://localhost.:8080" }, ""},
		{"http localhost as a subdomain elsewhere", func(c *Config) { c.Issuer = "http://localhost.example.com" }, "non-loopback"},
		{"empty issuer", func(c *Config) { c.Issuer = "" }, "Issuer is required"},
		{"name", func(c *Config) { c.Name = "Stand-in for Google" }, ""},
		{"name too long", func(c *Config) { c.Name = strings.Repeat("n", 65) }, "Name must be"},
		{"name with a newline", func(c *Config) { c.Name = "a\nb" }, "Name must be"},
		{"relative issuer", func(c *Config) { c.Issuer = "/op" }, "absolute URL"},
		{"host only", func(c *Config) { c.Issuer = "op.example.com" }, "absolute URL"},
		{"http non-loopback", func(c *Config) { c.Issuer = "http://op.example.com" }, "non-loopback"},
		{"http lookalike", func(c *Config) { c.Issuer = "http://127.0.0.1.nip.io" }, "non-loopback"},
		{"http private address", func(c *Config) { c.Issuer = "http://10.0.0.1" }, "non-loopback"},
		{"other scheme", func(c *Config) { c.Issuer = "ftp://op.example.com" }, "must use https"},
		{"query", func(c *Config) { c.Issuer = "https://op.example.com?tenant=a" }, "query"},
		{"empty query", func(c *Config) { c.Issuer = "https://op.example.com?" }, "query"},
		{"fragment", func(c *Config) { c.Issuer = "https://op.example.com#a" }, "fragment"},
		{"user info", func(c *Config) { c.Issuer = "https://u:p@op.example.com" }, "user info"},
		{"escaped path", func(c *Config) { c.Issuer = "https://op.example.com/a%2Fb" }, "clean path"},
		{"pattern characters", func(c *Config) { c.Issuer = "https://op.example.com/{x}" }, "clean path"},
		{"dot segments", func(c *Config) { c.Issuer = "https://op.example.com/a/../b" }, "clean path"},
		{"no clients", func(c *Config) { c.Clients = nil }, "at least one Client"},
		{"client without ID", func(c *Config) { c.Clients[0].ID = "" }, "missing ID"},
		{"client without secret", func(c *Config) { c.Clients[0].Secret = "" }, "Secret is required"},
		{"client without redirect URI", func(c *Config) { c.Clients[0].RedirectURIs = nil }, "RedirectURI"},
		{"relative redirect URI", func(c *Config) { c.Clients[0].RedirectURIs = []string{"/callback"} }, "absolute"},
		{"redirect URI with fragment", func(c *Config) { c.Clients[0].RedirectURIs = []string{"https://app/cb#x"} }, "fragment"},
		{"javascript redirect URI", func(c *Config) { c.Clients[0].RedirectURIs = []string{"javascript:alert(1)"} }, "absolute"},
		{"bad post-logout URI", func(c *Config) { c.Clients[0].PostLogoutRedirectURIs = []string{"/out"} }, "PostLogoutRedirectURIs"},
		{"bad back-channel URI", func(c *Config) { c.Clients[0].BackchannelLogoutURI = "logout" }, "BackchannelLogoutURI"},
		{"duplicate client", func(c *Config) { c.Clients[1].ID = c.Clients[0].ID }, "duplicate ID"},
		{"user without subject", func(c *Config) { c.Users = []User{{Name: "X"}} }, "missing Subject"},
		{"duplicate user", func(c *Config) { c.Users = []User{{Subject: "a"}, {Subject: "a"}} }, "duplicate Subject"},
		{"non-ASCII subject", func(c *Config) { c.Users = []User{{Subject: "é"}} }, "printable ASCII"},
		{"long subject", func(c *Config) { c.Users = []User{{Subject: strings.Repeat("a", 256)}} }, "255"},
		{"unknown AutoLogin", func(c *Config) { c.AutoLogin = "nobody" }, "AutoLogin"},
		{"AutoLogin among custom users", func(c *Config) { c.Users = []User{{Subject: "u1"}}; c.AutoLogin = "u1" }, ""},
		{"negative TTL", func(c *Config) { c.AccessTokenTTL = -time.Second }, "AccessTokenTTL must not be negative"},
		{"tiny TTL", func(c *Config) { c.IDTokenTTL = time.Millisecond }, "IDTokenTTL must be at least"},
		{"small key", func(c *Config) { c.Key = smallKey }, "at least 2048"},
		{"HTTPClient", func(c *Config) { c.HTTPClient = &http.Client{Timeout: time.Second} }, ""},
		{"negative HTTPClient timeout", func(c *Config) { c.HTTPClient = &http.Client{Timeout: -time.Second} }, "HTTPClient.Timeout must not be negative"},
		{"AccessTokenAudience URL", func(c *Config) { c.AccessTokenAudience = "https://api.example.com" }, ""},
		{"AccessTokenAudience name", func(c *Config) { c.AccessTokenAudience = "api" }, ""},
		{"AccessTokenAudience with space", func(c *Config) { c.AccessTokenAudience = "api one" }, "AccessTokenAudience"},
		{"AccessTokenAudience with newline", func(c *Config) { c.AccessTokenAudience = "api\n" }, "AccessTokenAudience"},
		{"AccessTokenAudience not UTF-8", func(c *Config) { c.AccessTokenAudience = "api\xff" }, "AccessTokenAudience"},
		{"IgnoreStepUp", func(c *Config) { c.IgnoreStepUp = true }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			tt.mutate(&cfg)
			s, err := New(cfg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.wantErr == "" && s == nil:
				t.Fatal("New returned nil Server and nil error")
			case tt.wantErr != "" && err == nil:
				t.Fatalf("New succeeded, want error containing %q", tt.wantErr)
			case tt.wantErr != "" && (!strings.HasPrefix(err.Error(), "devoidc: ") || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error = %q, want prefix \"devoidc: \" and %q", err, tt.wantErr)
			case tt.wantErr != "" && s != nil:
				t.Fatal("New returned a Server with an error")
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	s, err := New(Config{Issuer: "http://127.0.0.1:9000", Clients: testClients()})
	if err != nil {
		t.Fatal(err)
	}
	if s.accessTTL != 5*time.Minute || s.idTTL != 5*time.Minute || s.refreshTTL != 24*time.Hour {
		t.Errorf("TTLs = %v %v %v, want 5m 5m 24h", s.accessTTL, s.idTTL, s.refreshTTL)
	}
	if len(s.users) != 2 || s.users[0].Subject != "ada" || s.users[1].Subject != "grace" {
		t.Fatalf("default users = %+v", s.users)
	}
	for _, u := range s.users {
		if u.Name == "" || !strings.HasSuffix(u.Email, "@example.com") || !u.EmailVerified {
			t.Errorf("default user %+v lacks a name or a verified example.com email", u)
		}
	}
	if pub := s.keys.publicKey(s.keys.currentKID()); pub == nil || pub.N.BitLen() != 2048 {
		t.Errorf("default key is %v, want 2048-bit RSA", pub)
	}
	if s.log == nil {
		t.Error("nil Logger was not replaced by a discarding one")
	}
	if !strings.HasPrefix(s.sessionCookie, "devoidc_") || !strings.HasPrefix(s.csrfCookie, "devoidc_") {
		t.Errorf("cookie names %q, %q must start with devoidc_", s.sessionCookie, s.csrfCookie)
	}
	if c := s.bcClient; c.Timeout != 5*time.Second || c.Transport != nil || c.Jar != nil || c.CheckRedirect == nil {
		t.Errorf("back-channel client = %+v, want a 5s timeout, the default transport, no jar and no redirects", c)
	}
	if s.bcRetry != time.Second {
		t.Errorf("back-channel retry delay = %v, want 1s", s.bcRetry)
	}
}

// TestConfigFrozen checks that New deep-copies the Config.
func TestConfigFrozen(t *testing.T) {
	cfg := Config{Issuer: "http://127.0.0.1:9000", Clients: testClients(), Users: []User{{Subject: "u", Groups: []string{"g"}}}, Key: testKey(t)}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Clients[0].RedirectURIs[0] = "https://evil.example/cb"
	cfg.Clients[0].Secret = "changed"
	cfg.Users[0].Groups[0] = "admins"
	cfg.HTTPClient = &http.Client{Timeout: time.Hour}
	if c := s.clients[testClientID]; c.RedirectURIs[0] != testRedirect || c.Secret != testSecret {
		t.Errorf("client changed after New: %+v", c)
	}
	if s.users[0].Groups[0] != "g" {
		t.Errorf("user groups changed after New: %v", s.users[0].Groups)
	}
	if s.bcClient.Timeout != 5*time.Second {
		t.Errorf("back-channel timeout changed after New: %v", s.bcClient.Timeout)
	}
}

// TestBackchannelClientFromConfig checks what New takes from
// Config.HTTPClient: the transport and a positive timeout, never the jar or
// the redirect policy.
func TestBackchannelClientFromConfig(t *testing.T) {
	tr := &http.Transport{}
	jar, _ := cookiejar.New(nil)
	follow := func(*http.Request, []*http.Request) error { return nil }
	tests := []struct {
		name        string
		hc          *http.Client
		wantTimeout time.Duration
		wantTr      http.RoundTripper
	}{
		{"nil", nil, 5 * time.Second, nil},
		{"zero timeout", &http.Client{Transport: tr, Jar: jar, CheckRedirect: follow}, 5 * time.Second, tr},
		{"own timeout", &http.Client{Transport: tr, Timeout: 2 * time.Second}, 2 * time.Second, tr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Config{Issuer: "http://127.0.0.1:9000", Clients: testClients(), Key: testKey(t), HTTPClient: tt.hc})
			if err != nil {
				t.Fatal(err)
			}
			c := s.bcClient
			if c.Timeout != tt.wantTimeout || c.Transport != tt.wantTr || c.Jar != nil {
				t.Errorf("client = %+v, want timeout %v, transport %v, no jar", c, tt.wantTimeout, tt.wantTr)
			}
			if c.CheckRedirect == nil || c.CheckRedirect(nil, nil) != http.ErrUseLastResponse {
				t.Error("the back-channel client would follow redirects")
			}
		})
	}
}
