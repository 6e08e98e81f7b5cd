package providers

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
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
			http.Error(w, err.Error(), http.StatusBadGateway)
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

// TestKeySetTypedErrors: each refusal of the key set wraps one sentinel,
// so that a caller classifies it with errors.Is, and a failed fetch wraps
// its cause too.
func TestKeySetTypedErrors(t *testing.T) {
	f := newFakeJWKS(t)
	k1 := f.publish("k1")
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	c := f.cache(0, clock)
	if _, err := c.VerifySignature(context.Background(), signES256(t, "k1", k1)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		setup func()
		raw   string
		want  []error
	}{
		{name: "known kid, other key", raw: signES256(t, "k1", newECKey(t)), want: []error{errSignatureInvalid}},
		{name: "unknown kid", raw: signES256(t, "nobody", newECKey(t)), want: []error{errUnknownKey}},
		{name: "no usable key in the set", setup: func() { f.set(func(f *fakeJWKS) { f.body = `{"keys":[{"kty":"AKP","kid":"pq"}]}` }) },
			raw: signES256(t, "k2", newECKey(t)), want: []error{errKeysUnavailable, errNoUsableKey}},
		{name: "jwks_uri down", setup: func() { f.set(func(f *fakeJWKS) { f.body, f.status = "", http.StatusServiceUnavailable }) },
			raw: signES256(t, "k3", newECKey(t)), want: []error{errKeysUnavailable}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			clock.advance(jwksRecheckInterval)
			_, err := c.VerifySignature(context.Background(), tc.raw)
			for _, want := range tc.want {
				if !errors.Is(err, want) {
					t.Errorf("error %v does not wrap %q", err, want)
				}
			}
		})
	}
}

// fakeJWKS serves a JWKS of P-256 keys that a test publishes, replaces
// under the same kid and withdraws, with a chosen status and
// Cache-Control, and counts the requests. (oidctest's server rotates only
// to a new kid and always sends no-store.)
type fakeJWKS struct {
	srv *httptest.Server

	mu      sync.Mutex
	keys    map[string]*ecdsa.PrivateKey
	status  int    // 0 means 200
	body    string // served instead of the keys when set
	header  http.Header
	fetches int
}

func newFakeJWKS(t *testing.T) *fakeJWKS {
	f := &fakeJWKS{keys: map[string]*ecdsa.PrivateKey{}, header: http.Header{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.fetches++
		for k, v := range f.header {
			w.Header()[k] = v
		}
		if f.status != 0 && f.status != http.StatusOK {
			w.WriteHeader(f.status)
			return
		}
		if f.body != "" {
			io.WriteString(w, f.body)
			return
		}
		var set jose.JSONWebKeySet
		for kid, k := range f.keys {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "ES256", Use: "sig"})
		}
		json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// publish publishes a new key under kid, replacing any key it had.
func (f *fakeJWKS) publish(kid string) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	f.set(func(f *fakeJWKS) { f.keys[kid] = k })
	return k
}

func (f *fakeJWKS) withdraw(kid string) { f.set(func(f *fakeJWKS) { delete(f.keys, kid) }) }

func (f *fakeJWKS) set(edit func(*fakeJWKS)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	edit(f)
}

func (f *fakeJWKS) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fetches
}

// cache returns a key cache for the fake's keys on clock.
func (f *fakeJWKS) cache(minRefresh time.Duration, clock *fakeClock) *jwksCache {
	return newJWKSCache(f.srv.URL, hardenedClient(nil), []string{oidc.ES256}, minRefresh, clock.now)
}

func newECKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signES256 returns a compact JWS signed with k under kid ("" for none).
func signES256(t *testing.T, kid string, k *ecdsa.PrivateKey) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: k, KeyID: kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign([]byte(`{"sub":"u"}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// wantErr fails t unless err wraps want (nil: no error).
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		t.Errorf("%s: %v, want %v", what, err, want)
	}
}
