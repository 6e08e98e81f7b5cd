package devoidc

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"testing"
)

type testJWKS struct {
	Keys []map[string]string `json:"keys"`
}

func (o *testOP) jwks() testJWKS {
	o.t.Helper()
	resp := o.get(o.url("/jwks"))
	if resp.StatusCode != http.StatusOK {
		o.t.Fatalf("GET /jwks: %d", resp.StatusCode)
	}
	var set testJWKS
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		o.t.Fatal(err)
	}
	return set
}

// jwtHeaderOf decodes the JOSE header of a compact JWS without verifying.
func jwtHeaderOf(t *testing.T, token string) jwtHeader {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h jwtHeader
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestJWKS(t *testing.T) {
	o := newTestOP(t)
	set := o.jwks()
	if len(set.Keys) != 1 {
		t.Fatalf("JWKS has %d keys, want 1", len(set.Keys))
	}
	k := set.Keys[0]
	for field, want := range map[string]string{"kty": "RSA", "use": "sig", "alg": "RS256", "e": "AQAB"} {
		if k[field] != want {
			t.Errorf("%s = %q, want %q", field, k[field], want)
		}
	}
	if k["kid"] == "" {
		t.Error("kid is empty")
	}
	n, err := base64.RawURLEncoding.DecodeString(k["n"])
	if err != nil {
		t.Fatalf("n is not unpadded base64url: %v", err)
	}
	if new(big.Int).SetBytes(n).Cmp(testKey(t).N) != 0 {
		t.Error("n is not the signing key's modulus")
	}
	// RFC 7638 §3.1: the thumbprint of a key is fixed by its n and e.
	again, err := newSigningKey(testKey(t))
	if err != nil || again.ID() != k["kid"] {
		t.Errorf("kid %q is not the stable RFC 7638 thumbprint %q", k["kid"], again.ID())
	}
}

func TestSignVerify(t *testing.T) {
	o := newTestOP(t)
	kr := o.op.keys
	token, err := kr.sign(map[string]any{"sub": "ada"})
	if err != nil {
		t.Fatal(err)
	}
	if h := jwtHeaderOf(t, token); h.Alg != "RS256" || h.Typ != "JWT" || h.Kid != kr.currentKID() {
		t.Errorf("header = %+v", h)
	}
	var claims map[string]any
	if err := kr.verify(token, &claims); err != nil || claims["sub"] != "ada" {
		t.Fatalf("verify = %v, claims %v", err, claims)
	}

	parts := strings.Split(token, ".")
	b64 := base64.RawURLEncoding.EncodeToString
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := newKeyring(otherKey)
	foreign, _ := other.sign(map[string]any{"sub": "ada"})
	tests := map[string]string{
		"tampered payload":  parts[0] + "." + b64([]byte(`{"sub":"grace"}`)) + "." + parts[2],
		"alg none":          b64([]byte(`{"alg":"none","kid":"`+kr.currentKID()+`"}`)) + "." + parts[1] + ".",
		"alg HS256":         b64([]byte(`{"alg":"HS256","kid":"`+kr.currentKID()+`"}`)) + "." + parts[1] + "." + parts[2],
		"unknown kid":       b64([]byte(`{"alg":"RS256","kid":"nope"}`)) + "." + parts[1] + "." + parts[2],
		"foreign key":       foreign,
		"two parts":         parts[0] + "." + parts[1],
		"four parts":        token + ".x",
		"bad base64":        parts[0] + "." + parts[1] + ".!!!",
		"empty":             "",
		"oversized":         token + strings.Repeat("A", maxJWTLen),
		"payload not JSON":  "",
		"header not base64": "%%%." + parts[1] + "." + parts[2],
	}
	// A correctly signed token whose payload is not JSON.
	notJSON := b64([]byte(`{"alg":"RS256","kid":"`+kr.currentKID()+`"}`)) + "." + b64([]byte("not json"))
	tests["payload not JSON"] = signRaw(t, kr, notJSON)
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			var c map[string]any
			if err := kr.verify(tok, &c); err == nil {
				t.Errorf("verify accepted %s", name)
			}
		})
	}
}

// signRaw signs an arbitrary signing input with the current key.
func signRaw(t *testing.T, kr *keyring, input string) string {
	t.Helper()
	sig, err := kr.keys[0].SignInput([]byte(input))
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestRotateKey(t *testing.T) {
	o := newTestOP(t)
	before := o.tokens()
	oldKid := jwtHeaderOf(t, str(before, "id_token")).Kid

	if err := o.op.RotateKey(); err != nil {
		t.Fatal(err)
	}
	set := o.jwks()
	if len(set.Keys) != 2 || set.Keys[1]["kid"] != oldKid || set.Keys[0]["kid"] == oldKid {
		t.Fatalf("after rotation JWKS = %v, want the new key first and the old one kept", set.Keys)
	}
	var c idTokenClaims
	if err := o.op.keys.verify(str(before, "id_token"), &c); err != nil {
		t.Errorf("token signed before rotation no longer verifies: %v", err)
	}
	after := o.tokens()
	if kid := jwtHeaderOf(t, str(after, "id_token")).Kid; kid != set.Keys[0]["kid"] {
		t.Errorf("new token kid = %q, want the new key %q", kid, set.Keys[0]["kid"])
	}

	for range 2 * maxRetiredKeys {
		if err := o.op.RotateKey(); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(o.jwks().Keys); n != 1+maxRetiredKeys {
		t.Errorf("after many rotations JWKS has %d keys, want %d", n, 1+maxRetiredKeys)
	}
}

func FuzzVerify(f *testing.F) {
	key := testKey(f)
	kr, err := newKeyring(key)
	if err != nil {
		f.Fatal(err)
	}
	good, _ := kr.sign(map[string]string{"sub": "ada"})
	f.Add(good)
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, token string) {
		var c map[string]any
		if kr.verify(token, &c) == nil && token != good {
			// Any other accepted token would be a forgery (RSA PKCS#1 v1.5
			// signatures are deterministic, so the good token is unique).
			t.Errorf("verify accepted %q", token)
		}
	})
}
