package opkit

import (
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestClientSecretBasic(t *testing.T) {
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	for _, tc := range []struct {
		name, authorization string
		wantID, wantSecret  string
		wantOK              bool
	}{
		{"plain credentials", basic("client", "secret"), "client", "secret", true},
		{"form-urlencoded before base64", basic("my%3Aclient", "p%40ss+word%25"), "my:client", "p@ss word%", true},
		{"empty secret", basic("client", ""), "client", "", true},
		{"no header", "", "", "", false},
		{"Bearer, not Basic", "Bearer abc", "", "", false},
		{"not base64", "Basic !!!", "", "", false},
		{"bad escape in the id", basic("%zz", "secret"), "", "", false},
		{"bad escape in the secret", basic("client", "%"), "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/token", nil)
			if tc.authorization != "" {
				r.Header.Set("Authorization", tc.authorization)
			}
			id, secret, ok := ClientSecretBasic(r)
			if id != tc.wantID || secret != tc.wantSecret || ok != tc.wantOK {
				t.Errorf("got %q %q %v, want %q %q %v", id, secret, ok, tc.wantID, tc.wantSecret, tc.wantOK)
			}
		})
	}
}

func TestClientJWTVerify(t *testing.T) {
	k := newTestKey(t, "c1", "ES256")
	other := newTestKey(t, "c1", "ES256")
	now := time.Unix(1_800_000_000, 0)
	rules := ClientJWT{Key: k.Public(), KeyID: "c1", Typ: ClientJWTType, Issuer: "app", Subject: "app",
		Audience: "https://op.example", MaxLifetime: 5 * time.Minute, Now: now}
	good := func() map[string]any {
		return map[string]any{"iss": "app", "sub": "app", "aud": "https://op.example", "jti": "j1", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
	}
	for _, tc := range []struct {
		name string
		key  *Key
		typ  string
		edit func(c map[string]any)
		want string // in the error; "" = accepted
	}{
		{name: "valid", key: k, typ: ClientJWTType},
		{name: "aud an array", key: k, typ: ClientJWTType, edit: func(c map[string]any) { c["aud"] = []string{"https://op.example"} }, want: "not a single string"},
		{name: "aud the token endpoint", key: k, typ: ClientJWTType, edit: func(c map[string]any) { c["aud"] = "https://op.example/token" }, want: "wrong aud"},
		{name: "typ JWT", key: k, typ: "JWT", want: "wrong typ"},
		{name: "no typ", key: k, want: "wrong typ"},
		{name: "expired", key: k, typ: ClientJWTType, edit: func(c map[string]any) { c["exp"] = now.Unix() }, want: "expired"},
		{name: "too long", key: k, typ: ClientJWTType, edit: func(c map[string]any) { c["exp"] = now.Add(time.Hour).Unix() }, want: "lifetime"},
		{name: "iat in the future", key: k, typ: ClientJWTType, edit: func(c map[string]any) { c["iat"] = now.Add(2 * time.Minute).Unix() }, want: "future"},
		{name: "no iat", key: k, typ: ClientJWTType, edit: func(c map[string]any) { delete(c, "iat") }, want: "missing"},
		{name: "no exp", key: k, typ: ClientJWTType, edit: func(c map[string]any) { delete(c, "exp") }, want: "exp missing"},
		{name: "exp not after iat", key: k, typ: ClientJWTType, edit: func(c map[string]any) { c["iat"], c["exp"] = now.Unix()+30, now.Unix()+30 }, want: "not after iat"},
		{name: "wrong iss", key: k, typ: ClientJWTType, edit: func(c map[string]any) { c["iss"] = "other" }, want: "wrong iss"},
		{name: "wrong sub", key: k, typ: ClientJWTType, edit: func(c map[string]any) { c["sub"] = "other" }, want: "wrong sub"},
		{name: "another key", key: other, typ: ClientJWTType, want: "bad signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			if tc.edit != nil {
				tc.edit(c)
			}
			tok, err := tc.key.Sign(tc.typ, c)
			if err != nil {
				t.Fatal(err)
			}
			got, err := rules.Verify(tok)
			switch {
			case tc.want == "" && (err != nil || got.JTI != "j1"):
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Verify: %v; want an error with %q", err, tc.want)
			}
		})
	}
	if _, err := (ClientJWT{Key: k.Public(), KeyID: "c2", Now: now}).Verify(mustSign(t, k, good())); err == nil {
		t.Error("wrong kid accepted")
	}
	rs := newTestKey(t, "c1", "RS256")
	var e *ClientJWTError
	if _, err := (ClientJWT{Key: rs.Public(), Alg: "ES256", Now: now}).Verify(mustSign(t, rs, good())); !errors.As(err, &e) || e.Check != "alg" {
		t.Errorf("RS256 where ES256 is required: %v, want the alg check", err)
	}
	if _, err := rules.Verify("a.b"); !errors.As(err, &e) || e.Check != "malformed" {
		t.Errorf("two parts: %v, want the malformed check", err)
	}
}

func mustSign(t *testing.T, k *Key, c map[string]any) string {
	t.Helper()
	tok, err := k.Sign(ClientJWTType, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestClientSecretAuth(t *testing.T) {
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	for _, tc := range []struct {
		name, authorization, body string
		want                      bool
	}{
		{"client_secret_basic", basic("client", "s%40cret"), "grant_type=x", true},
		{"client_secret_post", "", "client_id=client&client_secret=s%40cret", true},
		{"both methods", basic("client", "s%40cret"), "client_secret=s%40cret", false},
		{"wrong secret, basic", basic("client", "other"), "", false},
		{"wrong secret, post", "", "client_id=client&client_secret=other", false},
		{"wrong id", "", "client_id=other&client_secret=s%40cret", false},
		{"basic that does not decode", basic("%zz", "s%40cret"), "", false},
		{"no credentials", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/token", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.authorization != "" {
				r.Header.Set("Authorization", tc.authorization)
			}
			if err := r.ParseForm(); err != nil {
				t.Fatal(err)
			}
			if got := ClientSecretAuth(r, "client", "s@cret"); got != tc.want {
				t.Errorf("ClientSecretAuth = %v, want %v", got, tc.want)
			}
		})
	}
}
