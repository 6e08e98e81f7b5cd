package fakeapple

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

const redirect = "https://app.example/auth/callback/apple"

func authorize(t *testing.T, s *Server, q url.Values) (int, []byte) {
	t.Helper()
	resp, err := s.Client().Get(s.URL + PathAuthorize + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func authQuery() url.Values {
	return url.Values{"client_id": {ServicesID}, "redirect_uri": {redirect}, "response_type": {"code"},
		"response_mode": {"form_post"}, "scope": {"name email"}, "state": {"st"}}
}

func TestAuthorize(t *testing.T) {
	s := New(Config{RedirectURIs: []string{redirect}})
	defer s.Close()
	for _, tc := range []struct {
		name string
		edit func(url.Values)
		text string // in the error page; "" for a form post
	}{
		{"query mode with scopes", func(q url.Values) { q.Del("response_mode") }, "response_mode must be form_post"},
		{"unknown client", func(q url.Values) { q.Set("client_id", "other") }, "invalid_client"},
		{"unregistered redirect", func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") }, "redirect url"},
		{"plain pkce", func(q url.Values) { q.Set("code_challenge", "x"); q.Set("code_challenge_method", "plain") }, "code_challenge"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := authQuery()
			tc.edit(q)
			status, body := authorize(t, s, q)
			if status != http.StatusBadRequest || !strings.Contains(string(body), tc.text) {
				t.Errorf("status %d, body %s; want 400 with %q", status, body, tc.text)
			}
			if _, _, err := ParseFormPost(body); err == nil {
				t.Error("an error page posts a form")
			}
		})
	}

	// The first authorization carries "user", the second does not.
	_, body := authorize(t, s, authQuery())
	action, form, err := ParseFormPost(body)
	if err != nil {
		t.Fatal(err)
	}
	if action != redirect || form.Get("state") != "st" || form.Get("code") == "" {
		t.Errorf("first form posts %v to %s", form, action)
	}
	if want := `{"email":"x7k2m9p4qz@privaterelay.appleid.com","name":{"firstName":"Ada","lastName":"Lovelace"}}`; form.Get("user") != want {
		t.Errorf("user %q, want %q", form.Get("user"), want)
	}
	_, body = authorize(t, s, authQuery())
	if _, form, _ := ParseFormPost(body); form.Has("user") || form.Get("code") == "" {
		t.Errorf("second form %v: want a code and no user", form)
	}
}

// TestClientSecret: the token endpoint refuses every client secret that
// is not exactly what Apple documents.
func TestClientSecret(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := New(Config{Clock: func() time.Time { return now }})
	defer s.Close()
	key, err := opkit.NewKey(KeyID, s.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	other, err := opkit.GenerateKey(KeyID, "ES256")
	if err != nil {
		t.Fatal(err)
	}
	rsa, err := opkit.GenerateKey(KeyID, "RS256")
	if err != nil {
		t.Fatal(err)
	}
	good := func() map[string]any {
		return map[string]any{"iss": TeamID, "sub": ServicesID, "aud": "https://appleid.apple.com",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	for _, tc := range []struct {
		name string
		key  *opkit.Key
		edit func(map[string]any)
		want string
	}{
		{"good", key, nil, ""},
		{"six months exactly", key, func(c map[string]any) { c["exp"] = now.Unix() + maxSecretLifetime }, ""},
		{"longer than six months", key, func(c map[string]any) { c["exp"] = now.Unix() + maxSecretLifetime + 1 }, "lifetime"},
		{"expired", key, func(c map[string]any) { c["iat"], c["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix() }, "expired"},
		{"expires now", key, func(c map[string]any) { c["iat"], c["exp"] = now.Add(-time.Hour).Unix(), now.Unix() }, "expired"},
		{"iat in the future", key, func(c map[string]any) { c["iat"] = now.Add(time.Hour).Unix() }, "iat"},
		{"no iat", key, func(c map[string]any) { delete(c, "iat") }, "iat"},
		{"no exp", key, func(c map[string]any) { delete(c, "exp") }, "exp"},
		{"wrong key", other, nil, "signature"},
		{"RS256", rsa, nil, "alg"},
		{"iss", key, func(c map[string]any) { c["iss"] = "Z9Y8X7W6V5" }, "iss"},
		{"sub", key, func(c map[string]any) { c["sub"] = "com.example.other" }, "sub"},
		{"aud", key, func(c map[string]any) { c["aud"] = "https://appleid.apple.com/" }, "aud"},
		{"aud array", key, func(c map[string]any) { c["aud"] = []string{"https://appleid.apple.com"} }, "aud"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			if tc.edit != nil {
				tc.edit(c)
			}
			jwt, err := tc.key.Sign("", c)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.checkSecret(jwt); got != tc.want {
				t.Errorf("checkSecret = %q, want %q", got, tc.want)
			}
		})
	}
	wrongKid, _ := opkit.NewKey("OTHERKEYID", s.clientKey)
	if jwt, _ := wrongKid.Sign("", good()); s.checkSecret(jwt) != "kid" {
		t.Error("a secret under another kid is accepted")
	}
	if s.checkSecret("a.b") != "malformed" {
		t.Error("a malformed secret is not refused as such")
	}

	// client_secret_basic is refused even with a good secret.
	jwt, _ := key.Sign("", good())
	req, _ := http.NewRequest("POST", s.URL+PathToken, strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(ServicesID, jwt)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || s.Refusals()[len(s.Refusals())-1] != "basic_auth" {
		t.Errorf("client_secret_basic: status %d, refusals %v", resp.StatusCode, s.Refusals())
	}
}
