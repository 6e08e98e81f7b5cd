package providers

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/portcullis-go/portcullis/internal/fakeapple"
)

// TestAppleSecret: the client secret is the JWT Apple documents, signed
// with the .p8 key; it is minted once, reused while more than half its
// life is left, and renewed after (or when the clock went back).
func TestAppleSecret(t *testing.T) {
	if appleSecretLifetime > appleMaxSecretLifetime || appleSecretRenewal <= 0 || appleSecretRenewal >= appleSecretLifetime {
		t.Fatalf("lifetime %v, renewal %v: Apple allows at most %v", appleSecretLifetime, appleSecretRenewal, appleMaxSecretLifetime)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	s, err := newAppleSecret(fakeapple.TeamID, fakeapple.ServicesID, fakeapple.KeyID, fakeapple.KeyPEM(key), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSigned(first, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	if h := jws.Signatures[0].Header; h.KeyID != fakeapple.KeyID || h.Algorithm != "ES256" {
		t.Errorf("header kid %q alg %q", h.KeyID, h.Algorithm)
	}
	payload, err := jws.Verify(&key.PublicKey)
	if err != nil {
		t.Fatalf("signature: %v", err)
	}
	var c map[string]any
	json.Unmarshal(payload, &c)
	want := map[string]any{"iss": fakeapple.TeamID, "sub": fakeapple.ServicesID, "aud": "https://appleid.apple.com",
		"iat": float64(now.Unix()), "exp": float64(now.Add(appleSecretLifetime).Unix())}
	if len(c) != len(want) {
		t.Errorf("claims %v, want %v", c, want)
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%s = %v, want %v", k, c[k], v)
		}
	}
	for _, tc := range []struct {
		name  string
		at    time.Time
		fresh bool
	}{
		{"soon after", now.Add(time.Minute), false},
		{"just before half", now.Add(appleSecretLifetime - appleSecretRenewal - time.Second), false},
		{"at half", now.Add(appleSecretLifetime - appleSecretRenewal), true},
		{"expired", now.Add(2 * appleSecretLifetime), true},
		{"clock went back", now.Add(-time.Hour), true},
	} {
		now = tc.at
		s.secret, s.exp = first, time.Unix(1_800_000_000, 0).Add(appleSecretLifetime)
		got, err := s.get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if (got != first) != tc.fresh {
			t.Errorf("%s: renewed %v, want %v", tc.name, got != first, tc.fresh)
		}
	}
}
