package providers

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/portcullis-go/portcullis/internal/oidctest"
)

// TestKeySetSkipsUnknownKeyTypes: a JWKS that also publishes a key of a
// type go-jose does not know (a post-quantum "AKP" key) still verifies ID
// tokens signed with the RSA key beside it (SECURITY.md IDT-18); go-jose
// alone refuses the whole set.
func TestKeySetSkipsUnknownKeyTypes(t *testing.T) {
	op := oidctest.New(t)
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(op.URL + oidctest.PathJWKS)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		var set map[string][]json.RawMessage
		body, _ := io.ReadAll(resp.Body)
		json.Unmarshal(body, &set)
		set["keys"] = append([]json.RawMessage{
			json.RawMessage(`{"kty":"AKP","kid":"pq-1","alg":"ML-DSA-44","pub":"AAAA"}`),
			json.RawMessage(`{"kty":"made-up","kid":"x"}`),
		}, set["keys"]...)
		json.NewEncoder(w).Encode(set)
	}))
	defer jwks.Close()
	keys := newJWKSCache(jwks.URL, hardenedClient(nil), []string{oidc.RS256}, 0, time.Now)
	v := oidc.NewVerifier(op.URL, keys, &oidc.Config{ClientID: oidctest.ClientID, SupportedSigningAlgs: []string{oidc.RS256}})
	now := time.Now()
	raw := op.Sign(oidctest.Claims{"iss": op.URL, "sub": "u", "aud": oidctest.ClientID, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}, oidctest.Header{})
	if _, err := v.Verify(context.Background(), raw); err != nil {
		t.Fatalf("token signed with the published RSA key refused: %v", err)
	}
}

// TestKeySetFollowsRotation: the ID-token key set fetches again as soon as
// a token names a key it has not seen, so a key rotated just before
// signing is accepted at once (SECURITY.md IDT-08).
func TestKeySetFollowsRotation(t *testing.T) {
	op := oidctest.New(t)
	keys := newJWKSCache(op.URL+oidctest.PathJWKS, hardenedClient(nil), []string{oidc.RS256}, 0, time.Now)
	v := oidc.NewVerifier(op.URL, keys, &oidc.Config{ClientID: oidctest.ClientID, SupportedSigningAlgs: []string{oidc.RS256}})
	sign := func() string {
		now := time.Now()
		return op.Sign(oidctest.Claims{"iss": op.URL, "sub": "u", "aud": oidctest.ClientID, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}, oidctest.Header{})
	}
	if _, err := v.Verify(context.Background(), sign()); err != nil {
		t.Fatal(err)
	}
	op.Rotate(false)
	if _, err := v.Verify(context.Background(), sign()); err != nil {
		t.Fatalf("token signed right after a rotation refused: %v", err)
	}
}
