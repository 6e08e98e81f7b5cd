package opkit

import (
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// TestThumbprintKnownAnswer uses the example of RFC 7638 §3.1.
func TestThumbprintKnownAnswer(t *testing.T) {
	jwk := JWK{
		Kty: "RSA",
		N:   "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
		E:   "AQAB",
		// Members outside the thumbprint's input change nothing.
		Kid: "2011-04-29", Use: "sig", Alg: "RS256",
	}
	got, err := thumbprint(jwk)
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; err != nil || got != want {
		t.Errorf("thumbprint = %q (%v), want %q", got, err, want)
	}
}

// TestNewJWKS decodes the document with go-jose, an independent JWK
// implementation: the keys are in order, public only, with the kid and
// alg of each Key, and a kid left empty is go-jose's RFC 7638 thumbprint.
func TestNewJWKS(t *testing.T) {
	keys := []*Key{newTestKey(t, "", "RS256"), newTestKey(t, "r1", "RS256"), newTestKey(t, "", "ES256")}
	b, err := json.Marshal(NewJWKS(keys...))
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatalf("go-jose refuses %s: %v", b, err)
	}
	if len(set.Keys) != len(keys) {
		t.Fatalf("%d keys, want %d", len(set.Keys), len(keys))
	}
	for i, k := range keys {
		t.Run(k.Alg()+" "+k.ID(), func(t *testing.T) {
			got := set.Keys[i]
			if got.KeyID != k.ID() || got.Algorithm != k.Alg() || got.Use != "sig" || !got.IsPublic() || !got.Valid() {
				t.Errorf("key %d: kid %q alg %q use %q public %v", i, got.KeyID, got.Algorithm, got.Use, got.IsPublic())
			}
			if !got.Public().Key.(interface{ Equal(crypto.PublicKey) bool }).Equal(k.Public()) {
				t.Error("not the Key's public key")
			}
			if k.ID() == "r1" {
				return
			}
			tp, err := got.Thumbprint(crypto.SHA256)
			if err != nil || base64.RawURLEncoding.EncodeToString(tp) != k.ID() {
				t.Errorf("go-jose thumbprint %x (%v), kid %q", tp, err, k.ID())
			}
		})
	}
	var raw struct{ Keys []map[string]any }
	json.Unmarshal(b, &raw)
	for _, m := range raw.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if _, ok := m[private]; ok {
				t.Errorf("JWK has the private member %q", private)
			}
		}
	}
}

// TestRSAExponentEncoding: e is the minimal big-endian encoding (AQAB for
// 65537, RFC 7518 §6.3.1.2).
func TestRSAExponentEncoding(t *testing.T) {
	k := newTestKey(t, "k1", "RS256")
	jwk := k.JWK()
	n, _ := base64.RawURLEncoding.DecodeString(jwk.N)
	if jwk.E != "AQAB" || new(big.Int).SetBytes(n).Cmp(k.Public().(*rsa.PublicKey).N) != 0 || jwk.Kty != "RSA" || jwk.Crv != "" {
		t.Errorf("JWK %+v", jwk)
	}
}
