package providers

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/internal/fakegoogle"
	"golang.org/x/oauth2"
)

const googleRedirect = "https://app.example/auth/callback/google"

// googleFake starts a fake with cfg (the redirect URI filled in) and a
// provider for it made from gc (ClientID, ClientSecret, Issuer and
// HTTPClient filled in).
func googleFake(t *testing.T, cfg fakegoogle.Config, gc GoogleConfig) (*fakegoogle.Server, *Provider) {
	t.Helper()
	cfg.RedirectURIs = []string{googleRedirect}
	fake := fakegoogle.New(cfg)
	t.Cleanup(fake.Close)
	gc.ClientID, gc.ClientSecret = fakegoogle.ClientID, fakegoogle.ClientSecret
	if !cfg.GoogleURLs {
		gc.Issuer = fake.URL
	}
	gc.HTTPClient = fake.Client()
	p, err := Google(context.Background(), gc)
	if err != nil {
		t.Fatal(err)
	}
	return fake, p
}

func TestGoogleRefusesBadConfig(t *testing.T) {
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	for name, gc := range map[string]GoogleConfig{
		"no client ID":          {},
		"bad name":              {ClientID: "id", Name: "Google"},
		"http issuer":           {ClientID: "id", Issuer: "http://accounts.example"},
		"upper-case domain":     {ClientID: "id", HostedDomains: []string{"Example.com"}},
		"single label domain":   {ClientID: "id", HostedDomains: []string{"example"}},
		"wildcard domain":       {ClientID: "id", HostedDomains: []string{"*.example.com"}},
		"email as domain":       {ClientID: "id", HostedDomains: []string{"a@example.com"}},
		"empty domain":          {ClientID: "id", HostedDomains: []string{""}},
		"unicode domain":        {ClientID: "id", HostedDomains: []string{"exаmple.com"}}, // Cyrillic а
		"trailing dot domain":   {ClientID: "id", HostedDomains: []string{"example.com."}},
		"hyphen-edged label":    {ClientID: "id", HostedDomains: []string{"-example.com"}},
		"space in domain":       {ClientID: "id", HostedDomains: []string{"exa mple.com"}},
		"no discovery document": {ClientID: "id", Issuer: notFound.URL},
	} {
		t.Run(name, func(t *testing.T) {
			if p, err := Google(context.Background(), gc); err == nil || p != nil {
				t.Fatalf("Google accepted it (err %v)", err)
			}
		})
	}
}

// TestGoogleUnreachable: Google down at construction is not a
// configuration error; sign-ins are unavailable until it answers.
func TestGoogleUnreachable(t *testing.T) {
	p, err := Google(context.Background(), GoogleConfig{ClientID: "id", Issuer: "http://" + reservedAddr(t)})
	if err != nil {
		t.Fatalf("Google refused an unreachable issuer: %v", err)
	}
	if p.Brand() != "google" || p.DisplayName() != "Google" {
		t.Errorf("brand %q, display name %q", p.Brand(), p.DisplayName())
	}
	if _, err := p.AuthCodeURL(context.Background(), Flow{State: "s", Nonce: "n", Verifier: oauth2.GenerateVerifier()}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("AuthCodeURL of an unreachable Google: %v", err)
	}
}

func TestGoogleLogin(t *testing.T) {
	ada := fakegoogle.User{Sub: "1001", Email: "ada@gmail.com", EmailVerified: true, Name: "Ada Lovelace", Picture: "https://lh3.googleusercontent.com/a/ada"}
	work := fakegoogle.User{Sub: "2002", Email: "grace@example.com", EmailVerified: true, HD: "example.com", Name: "Grace Hopper"}
	for _, tc := range []struct {
		name    string
		fake    fakegoogle.Config
		cfg     GoogleConfig
		prompt  string
		wantErr error // nil: success; errAny: some error
		check   func(t *testing.T, id *Identity)
	}{
		{name: "consumer account", fake: fakegoogle.Config{User: ada}, check: func(t *testing.T, id *Identity) {
			u := id.User
			if u.Provider != "google" || u.Subject != "1001" || u.Email != "ada@gmail.com" || u.Name != "Ada Lovelace" || u.Picture == "" {
				t.Errorf("user %+v", u)
			}
			if id.Tokens.IDToken == "" || id.Tokens.AccessToken == "" || id.Tokens.RefreshToken != "" || id.Tokens.Expiry.IsZero() {
				t.Errorf("tokens %+v (no refresh token without Offline)", id.Tokens)
			}
		}},
		{name: "unverified email is not kept", fake: fakegoogle.Config{User: fakegoogle.User{Sub: "1", Email: "x@gmail.com"}},
			check: func(t *testing.T, id *Identity) {
				if id.User.Email != "" || id.User.Subject != "1" {
					t.Errorf("user %+v", id.User)
				}
			}},
		{name: "workspace domain allowed", fake: fakegoogle.Config{User: work}, cfg: GoogleConfig{HostedDomains: []string{"example.com"}},
			check: func(t *testing.T, id *Identity) {
				if id.User.Email != "grace@example.com" {
					t.Errorf("user %+v", id.User)
				}
			}},
		{name: "one of several domains", fake: fakegoogle.Config{User: work}, cfg: GoogleConfig{HostedDomains: []string{"corp.example", "example.com"}}},
		{name: "other workspace domain refused", fake: fakegoogle.Config{User: fakegoogle.User{Sub: "3", Email: "eve@evil.example", EmailVerified: true, HD: "evil.example"}},
			cfg: GoogleConfig{HostedDomains: []string{"example.com"}}, wantErr: ErrNotAllowed},
		{name: "consumer account refused when domains are set", fake: fakegoogle.Config{User: ada},
			cfg: GoogleConfig{HostedDomains: []string{"example.com"}}, wantErr: ErrNotAllowed},
		{name: "email suffix does not make a member", fake: fakegoogle.Config{User: fakegoogle.User{Sub: "4", Email: "mallory@example.com", EmailVerified: true}},
			cfg: GoogleConfig{HostedDomains: []string{"example.com"}}, wantErr: ErrNotAllowed},
		{name: "subdomain is another domain", fake: fakegoogle.Config{User: fakegoogle.User{Sub: "5", HD: "eng.example.com"}},
			cfg: GoogleConfig{HostedDomains: []string{"example.com"}}, wantErr: ErrNotAllowed},
		{name: "offline: first grant brings a refresh token", fake: fakegoogle.Config{User: ada}, cfg: GoogleConfig{Offline: true},
			check: func(t *testing.T, id *Identity) {
				if id.Tokens.RefreshToken == "" {
					t.Error("no refresh token")
				}
			}},
		{name: "offline: granted before, no refresh token", fake: fakegoogle.Config{User: ada, OfflineGranted: true},
			cfg: GoogleConfig{Offline: true}, wantErr: ErrConsentRequired},
		{name: "offline: consent asked again", fake: fakegoogle.Config{User: ada, OfflineGranted: true}, cfg: GoogleConfig{Offline: true}, prompt: "consent",
			check: func(t *testing.T, id *Identity) {
				if id.Tokens.RefreshToken == "" {
					t.Error("no refresh token after prompt=consent")
				}
			}},
		{name: "offline: consent asked, still none, no loop", fake: fakegoogle.Config{User: ada, NoRefreshTokens: true}, cfg: GoogleConfig{Offline: true}, prompt: "consent"},
		{name: "not offline: no refresh token is fine", fake: fakegoogle.Config{User: ada, OfflineGranted: true}},
		{name: "domain refusal comes before consent", fake: fakegoogle.Config{User: ada, OfflineGranted: true},
			cfg: GoogleConfig{Offline: true, HostedDomains: []string{"example.com"}}, wantErr: ErrNotAllowed},
		{name: "token endpoint down", fake: fakegoogle.Config{User: ada, Fail: map[string]int{fakegoogle.PathToken: 503}}, wantErr: errAny},
		{name: "keys unavailable", fake: fakegoogle.Config{User: ada, Fail: map[string]int{fakegoogle.PathJWKS: 500}}, wantErr: errAny},
		{name: "schemeless iss is not another issuer's", fake: fakegoogle.Config{User: ada, IssClaim: "accounts.google.com"}, wantErr: errAny},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, p := googleFake(t, tc.fake, tc.cfg)
			id, authq, err := loginWith(t, p, fake.Client(), googleRedirect, tc.prompt)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("login failed: %v", err)
			case tc.wantErr == errAny && err == nil, tc.wantErr != nil && tc.wantErr != errAny && !errors.Is(err, tc.wantErr):
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			case tc.wantErr != ErrNotAllowed && errors.Is(err, ErrNotAllowed):
				t.Fatalf("a failure became a refusal: %v", err)
			}
			if err == nil && (id.User.Issuer != fake.URL || id.User.Provider != "google") {
				t.Errorf("issuer %q provider %q", id.User.Issuer, id.User.Provider)
			}
			if tc.check != nil && err == nil {
				tc.check(t, id)
			}
			// The authorization request: PKCE S256, nonce, offline and hd
			// exactly as configured, prompt only when the flow asks.
			if authq.Get("code_challenge_method") != "S256" || authq.Get("nonce") == "" || authq.Get("scope") != "openid email profile" {
				t.Errorf("authorization request %v", authq)
			}
			if (authq.Get("access_type") == "offline") != tc.cfg.Offline || authq.Get("prompt") != tc.prompt {
				t.Errorf("access_type %q prompt %q", authq.Get("access_type"), authq.Get("prompt"))
			}
			if wantHD := len(tc.cfg.HostedDomains) == 1; authq.Has("hd") != wantHD || (wantHD && authq.Get("hd") != tc.cfg.HostedDomains[0]) {
				t.Errorf("hd hint %q with domains %v", authq.Get("hd"), tc.cfg.HostedDomains)
			}
			for _, r := range fake.Requests(fakegoogle.PathToken) {
				if r.Form.Get("code_verifier") == "" || r.Form.Get("redirect_uri") != googleRedirect {
					t.Errorf("token request %v", r.Form)
				}
			}
		})
	}
}

func TestGoogleUserDenies(t *testing.T) {
	fake, p := googleFake(t, fakegoogle.Config{Deny: true}, GoogleConfig{})
	_, _, err := loginWith(t, p, fake.Client(), googleRedirect, "")
	var ae *errAuthorization
	if !errors.As(err, &ae) || ae.q.Get("error") != "access_denied" || ae.q.Get("iss") != fake.URL || ae.q.Has("code") {
		t.Fatalf("err = %v", err)
	}
	if n := len(fake.Requests(fakegoogle.PathToken)); n != 0 {
		t.Fatalf("%d token requests after a denial", n)
	}
}

// TestGoogleRealURLs runs against Google's own endpoint URLs (served by the
// fake): discovery at accounts.google.com, the code redeemed at
// oauth2.googleapis.com, keys from www.googleapis.com; and Google's
// schemeless "iss" is accepted for Google's issuer only.
func TestGoogleRealURLs(t *testing.T) {
	for _, tc := range []struct {
		iss    string
		accept bool
	}{
		{"", true},
		{"accounts.google.com", true},
		{"https://accounts.google.com/", false},
		{"http://accounts.google.com", false},
		{"https://accounts.google.com.evil.example", false},
	} {
		t.Run("iss "+tc.iss, func(t *testing.T) {
			fake, p := googleFake(t, fakegoogle.Config{GoogleURLs: true, IssClaim: tc.iss}, GoogleConfig{})
			if p.Issuer() != "https://accounts.google.com" || p.Brand() != "google" || p.DisplayName() != "Google" || p.Name() != "google" {
				t.Fatalf("provider %q %q %q %q", p.Issuer(), p.Brand(), p.DisplayName(), p.Name())
			}
			if u := authCodeURL(t, p, Flow{State: "s", Nonce: "n", Verifier: oauth2.GenerateVerifier()}); !strings.HasPrefix(u, "https://accounts.google.com/o/oauth2/v2/auth?") {
				t.Fatalf("authorization URL %s", u)
			}
			id, _, err := loginWith(t, p, fake.Client(), googleRedirect, "")
			if tc.accept != (err == nil) {
				t.Fatalf("iss %q: err = %v", tc.iss, err)
			}
			if err == nil && id.User.Issuer != "https://accounts.google.com" {
				t.Errorf("recorded issuer %q", id.User.Issuer)
			}
			tokens := fake.Requests(fakegoogle.PathToken)
			if len(tokens) != 1 || tokens[0].Host != "oauth2.googleapis.com" {
				t.Errorf("token requests %+v", tokens)
			}
			if keys := fake.Requests(fakegoogle.PathJWKS); len(keys) == 0 || keys[0].Host != "www.googleapis.com" {
				t.Errorf("key requests %+v", keys)
			}
		})
	}
}
