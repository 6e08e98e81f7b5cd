package opkit

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// newTestKey returns a fresh key for alg, or stops the test.
func newTestKey(t *testing.T, id, alg string) *Key {
	t.Helper()
	k, err := GenerateKey(id, alg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestSignVerifiesWithGoJOSE checks Sign against an independent JWS
// implementation, go-jose, for both algorithms and the typ values the
// providers use.
func TestSignVerifiesWithGoJOSE(t *testing.T) {
	rsaKey, ecKey := newTestKey(t, "k1", "RS256"), newTestKey(t, "", "ES256")
	for _, tc := range []struct {
		name       string
		key        *Key
		typ        string
		wantHeader string
	}{
		{"RS256 ID token", rsaKey, "JWT", `{"alg":"RS256","kid":"k1","typ":"JWT"}`},
		{"RS256 logout token", rsaKey, "logout+jwt", `{"alg":"RS256","kid":"k1","typ":"logout+jwt"}`},
		{"RS256 without typ", rsaKey, "", `{"alg":"RS256","kid":"k1"}`},
		{"ES256 ID token", ecKey, "JWT", `{"alg":"ES256","kid":"` + ecKey.ID() + `","typ":"JWT"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := tc.key.Sign(tc.typ, map[string]any{"sub": "ada", "aud": "client"})
			if err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(tok, ".")
			if len(parts) != 3 {
				t.Fatalf("%d parts", len(parts))
			}
			if h, _ := base64.RawURLEncoding.DecodeString(parts[0]); string(h) != tc.wantHeader {
				t.Errorf("header %s, want %s", h, tc.wantHeader)
			}
			jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(tc.key.Alg())})
			if err != nil {
				t.Fatal(err)
			}
			payload, err := jws.Verify(tc.key.Public())
			if err != nil {
				t.Fatalf("go-jose: %v", err)
			}
			if string(payload) != `{"aud":"client","sub":"ada"}` {
				t.Errorf("payload %s", payload)
			}
			if kid := jws.Signatures[0].Header.KeyID; kid != tc.key.ID() {
				t.Errorf("kid %q, want %q", kid, tc.key.ID())
			}
			other := newTestKey(t, tc.key.ID(), tc.key.Alg())
			if _, err := jws.Verify(other.Public()); err == nil {
				t.Error("another key of the same kid verifies the token")
			}
		})
	}
}

// TestSignInputES256 checks the ES256 signature format of RFC 7518 §3.4:
// R and S as 32-byte big-endian integers, not ASN.1.
func TestSignInputES256(t *testing.T) {
	k := newTestKey(t, "e1", "ES256")
	input := []byte("eyJhbGciOiJFUzI1NiJ9.e30")
	sig, err := k.SignInput(input)
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) != 64 {
		t.Fatalf("signature of %d bytes, want 64", len(sig))
	}
	digest := sha256.Sum256(input)
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(k.Public().(*ecdsa.PublicKey), digest[:], r, s) {
		t.Error("R || S does not verify")
	}
}

func TestNewKeyRefuses(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		make func() (*Key, error)
		want string
	}{
		{"RSA of 1024 bits", func() (*Key, error) { return NewKey("k", small) }, "1024 bits"},
		{"ECDSA on P-384", func() (*Key, error) { return NewKey("k", p384) }, "P-256"},
		{"Ed25519", func() (*Key, error) { return NewKey("k", ed) }, "unsupported key type"},
		{"HS256", func() (*Key, error) { return GenerateKey("k", "HS256") }, "unsupported algorithm"},
		{"none", func() (*Key, error) { return GenerateKey("k", "none") }, "unsupported algorithm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := tc.make()
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "opkit: ") {
				t.Errorf("key %v, err %v; want an error about %q", k, err, tc.want)
			}
		})
	}
}

func TestSignRefusesClaimsThatDoNotMarshal(t *testing.T) {
	k := newTestKey(t, "k1", "RS256")
	if tok, err := k.Sign("JWT", map[string]any{"f": func() {}}); err == nil {
		t.Errorf("Sign = %q, want an error", tok)
	}
}

// TestAtHashKnownAnswer uses the example of OpenID Connect Core 1.0
// Appendix A.3 (response_type=id_token token).
func TestAtHashKnownAnswer(t *testing.T) {
	const accessToken, want = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", "77QmUPtjPfzWtF2AnpK9RQ"
	if got := AtHash(accessToken); got != want {
		t.Errorf("AtHash = %q, want %q", got, want)
	}
}

// TestKeyIDIsStable: a kid left empty is the RFC 7638 thumbprint, so the
// same key has the same kid in every run; a kid given is kept.
func TestKeyIDIsStable(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256"} {
		k := newTestKey(t, "", alg)
		again, err := NewKey("", k.priv)
		if err != nil || again.ID() != k.ID() || len(k.ID()) != 43 {
			t.Errorf("%s: kid %q then %q (%v)", alg, k.ID(), again.ID(), err)
		}
		named, err := NewKey("r1", k.priv)
		if err != nil || named.ID() != "r1" || named.JWK().Kid != "r1" {
			t.Errorf("%s: named kid %v (%v)", alg, named, err)
		}
	}
}
