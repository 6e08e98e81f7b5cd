package providers

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/internal/fakeapple"
)

const appleRedirect = "https://app.example/auth/callback/apple"

func appleFake(t *testing.T, cfg fakeapple.Config, edit func(*AppleConfig)) (*fakeapple.Server, *Provider) {
	t.Helper()
	cfg.RedirectURIs = []string{appleRedirect}
	fa := fakeapple.New(cfg)
	t.Cleanup(fa.Close)
	ac := AppleConfig{
		TeamID: fakeapple.TeamID, ClientID: fakeapple.ServicesID, KeyID: fakeapple.KeyID,
		PrivateKey: fa.PrivateKeyPEM(), Authority: fa.URL, HTTPClient: fa.Client(),
	}
	if edit != nil {
		edit(&ac)
	}
	p, err := Apple(context.Background(), ac)
	if err != nil {
		t.Fatal(err)
	}
	return fa, p
}

// appleSignIn runs one authorization at the fake and returns the form its
// page posts, for p.Callback.
func appleSignIn(t *testing.T, fa *fakeapple.Server, p *Provider, f Flow) url.Values {
	t.Helper()
	target, err := p.AuthCodeURL(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := fa.Client().Get(target)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	_, form, err := fakeapple.ParseFormPost(page)
	if err != nil {
		t.Fatalf("%v: %s", err, page)
	}
	return form
}

func appleFlow(p *Provider) Flow {
	return Flow{RedirectURL: appleRedirect, Issuer: p.Issuer(), State: "st", Nonce: "n0nce", Verifier: "v3rifier-0123456789-0123456789-0123456789-abc"}
}

// TestAppleLogin: the authorization request asks for form_post, the name
// and email scopes, a nonce and PKCE; the code is redeemed with the client
// secret JWT in the body; the email is kept from the ID token whether
// Apple writes its booleans as strings or as JSON booleans; the name comes
// from the first authorization's "user" field only.
func TestAppleLogin(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  fakeapple.Config
	}{
		{"string booleans", fakeapple.Config{}},
		{"JSON booleans", fakeapple.Config{BoolClaims: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fa, p := appleFake(t, tc.cfg, nil)
			if !p.FormPost() || p.Name() != "apple" || p.DisplayName() != "Apple" {
				t.Fatalf("FormPost %v, name %q, display name %q", p.FormPost(), p.Name(), p.DisplayName())
			}
			for i, wantName := range []string{"Ada Lovelace", ""} {
				form := appleSignIn(t, fa, p, appleFlow(p))
				id, err := p.Callback(context.Background(), appleFlow(p), form)
				if err != nil {
					t.Fatalf("sign-in %d: %v", i+1, err)
				}
				if err := p.Revoke(context.Background(), id.Tokens.RefreshToken, "refresh_token"); err != nil {
					t.Errorf("sign-in %d: revoke: %v", i+1, err)
				}
				u := id.User
				if got, want := string(u.Claims["is_private_email"]), map[bool]string{false: `"true"`, true: `true`}[tc.cfg.BoolClaims]; got != want {
					t.Errorf("sign-in %d: kept is_private_email %s, want %s", i+1, got, want)
				}
				if u.Name != wantName || u.Email != "x7k2m9p4qz@privaterelay.appleid.com" || u.Subject != "001234.0a1b2c3d4e5f.1234" || u.Issuer != fa.URL {
					t.Errorf("sign-in %d: user %+v", i+1, u)
				}
			}
			q := fa.Requests(fakeapple.PathAuthorize)[0].Query
			for k, want := range map[string]string{"response_mode": "form_post", "scope": "openid name email", "nonce": "n0nce", "code_challenge_method": "S256", "response_type": "code"} {
				if q.Get(k) != want {
					t.Errorf("authorization request %s = %q, want %q", k, q.Get(k), want)
				}
			}
			tr := fa.Requests(fakeapple.PathToken)[0]
			if tr.Header.Get("Authorization") != "" || tr.Form.Get("client_id") != fakeapple.ServicesID || tr.Form.Get("client_secret") == "" {
				t.Errorf("token request: Authorization %q, form %v: want client_secret_post", tr.Header.Get("Authorization"), tr.Form)
			}
		})
	}
}

// TestAppleEmailUnverified: an email whose email_verified is the string
// "false" is not kept.
func TestAppleEmailUnverified(t *testing.T) {
	var c profileClaims
	for _, raw := range []string{`{"email":"a@b.c","email_verified":"false"}`, `{"email":"a@b.c","email_verified":false}`, `{"email":"a@b.c"}`} {
		c = profileClaims{}
		if err := json.Unmarshal([]byte(raw), &c); err != nil || c.verifiedEmail() != "" {
			t.Errorf("%s: email %q (%v)", raw, c.verifiedEmail(), err)
		}
	}
	for _, raw := range []string{`{"email":"a@b.c","email_verified":"true"}`, `{"email":"a@b.c","email_verified":true}`} {
		c = profileClaims{}
		if err := json.Unmarshal([]byte(raw), &c); err != nil || c.verifiedEmail() != "a@b.c" {
			t.Errorf("%s: email %q (%v)", raw, c.verifiedEmail(), err)
		}
	}
}

// TestAppleUserField: the name is read from the "user" field tolerantly,
// and never anything else from it.
func TestAppleUserField(t *testing.T) {
	for _, tc := range []struct {
		user []string
		want string
	}{
		{[]string{`{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"ada@evil.example"}`}, "Ada Lovelace"},
		{[]string{`{"name":{"firstName":" Ada "}}`}, "Ada"},
		{[]string{`{"name":{"lastName":"Lovelace"}}`}, "Lovelace"},
		{[]string{`{"name":{"firstName":1,"lastName":"Lovelace"}}`}, "Lovelace"},
		{[]string{`{"email":"ada@example.com"}`}, ""},
		{[]string{`{"name":"Ada Lovelace"}`}, ""},
		{[]string{`not json`}, ""},
		{[]string{`{"name":{"firstName":"Ada\u0000"}}`}, ""},
		{[]string{`{"name":{"firstName":"Ada\nBob"}}`}, ""},
		{[]string{`{"name":{"firstName":"` + strings.Repeat("a", maxAppleUserName+1) + `"}}`}, ""},
		{[]string{`{"name":{"firstName":"Ada"},"pad":"` + strings.Repeat("a", maxAppleUser) + `"}`}, ""},
		{[]string{`{"name":{"firstName":"Ada"}}`, `{"name":{"firstName":"Bob"}}`}, ""},
		{nil, ""},
	} {
		if got := appleUserName(url.Values{"user": tc.user}); got != tc.want {
			t.Errorf("user %.60q: name %q, want %q", tc.user, got, tc.want)
		}
	}
}

// FuzzAppleUserName: the "user" field, attacker input, never panics and
// gives a bounded, printable name.
func FuzzAppleUserName(f *testing.F) {
	f.Add(`{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"ada@example.com"}`)
	f.Add(`{"name":{"firstName":null}}`)
	f.Fuzz(func(t *testing.T, user string) {
		name := appleUserName(url.Values{"user": {user}})
		if len(name) > maxAppleUserName || strings.ContainsAny(name, "\x00\r\n") {
			t.Fatalf("name %q", name)
		}
	})
}

func TestAppleRefusesBadConfig(t *testing.T) {
	fa := fakeapple.New(fakeapple.Config{})
	defer fa.Close()
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaDER, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sec1, _ := x509.MarshalECPrivateKey(p256)
	for _, tc := range []struct {
		name string
		edit func(*AppleConfig)
		want string
	}{
		{"no team", func(c *AppleConfig) { c.TeamID = "" }, "TeamID"},
		{"short team", func(c *AppleConfig) { c.TeamID = "A1B2C3" }, "TeamID"},
		{"key id", func(c *AppleConfig) { c.KeyID = "K9L8M7N6P5Q4" }, "KeyID"},
		{"no client", func(c *AppleConfig) { c.ClientID = "" }, "ClientID"},
		{"no key", func(c *AppleConfig) { c.PrivateKey = nil }, "no PEM block"},
		{"RSA key", func(c *AppleConfig) {
			c.PrivateKey = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: rsaDER})
		}, "P-256"},
		{"P-384 key", func(c *AppleConfig) { c.PrivateKey = fakeapple.KeyPEM(p384) }, "P-256"},
		{"SEC1 key", func(c *AppleConfig) {
			c.PrivateKey = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})
		}, `"EC PRIVATE KEY"`},
		{"not PKCS #8", func(c *AppleConfig) {
			c.PrivateKey = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: sec1})
		}, "PKCS #8"},
		{"scope", func(c *AppleConfig) { c.Scopes = []string{"profile"} }, "name and email"},
		{"authority", func(c *AppleConfig) { c.Authority = "http://appleid.example" }, "https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := AppleConfig{
				TeamID: fakeapple.TeamID, ClientID: fakeapple.ServicesID, KeyID: fakeapple.KeyID,
				PrivateKey: fa.PrivateKeyPEM(), Authority: fa.URL, HTTPClient: fa.Client(),
			}
			tc.edit(&c)
			_, err := Apple(context.Background(), c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one naming %s", err, tc.want)
			}
			if len(c.PrivateKey) > 64 && strings.Contains(err.Error(), string(c.PrivateKey[32:64])) {
				t.Errorf("the error quotes the key: %v", err)
			}
		})
	}
}

// TestAppleClientSecretRefused: Apple's refusal of the client secret
// (invalid_client) fails the login as a refused exchange, with the
// secret nowhere in the error.
func TestAppleClientSecretRefused(t *testing.T) {
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	fa, p := appleFake(t, fakeapple.Config{}, func(c *AppleConfig) { c.PrivateKey = fakeapple.KeyPEM(other) })
	form := appleSignIn(t, fa, p, appleFlow(p))
	_, err := p.Callback(context.Background(), appleFlow(p), form)
	var pe *Error
	if !errors.As(err, &pe) || pe.Code != "invalid_client" || !errors.Is(err, ErrDenied) {
		t.Fatalf("err %v, want an invalid_client *Error wrapping ErrDenied", err)
	}
	if got := fa.Refusals(); len(got) != 1 || got[0] != "signature" {
		t.Errorf("refusals %v", got)
	}
	if secret := fa.Requests(fakeapple.PathToken)[0].Form.Get("client_secret"); strings.Contains(err.Error(), secret) {
		t.Error("the error holds the client secret")
	}
}
