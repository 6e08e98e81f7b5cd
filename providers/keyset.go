package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// jwksMinRefresh is the least time between two JWKS fetches for logout
// tokens (SECURITY.md NET-05).
const jwksMinRefresh = 30 * time.Second

// errUnknownKey: no published key has the token's "kid" (or verifies a
// token without one), even after a fetch or because one is not yet due.
var errUnknownKey = errors.New("no published key verifies the token")

// jwksCache is the [oidc.KeySet] of ID and logout tokens: the provider's JWKS,
// fetched with the provider's hardened client on first use and again when
// a token names a key it lacks (key rotation), but at most once per
// jwksMinRefresh and one fetch at a time. go-oidc's RemoteKeySet fetches
// for every unknown "kid", so each forged token posted to the public
// back-channel endpoint would become a request to the provider
// (SECURITY.md NET-05). A failed fetch keeps the previous keys.
type jwksCache struct {
	url    string
	client *http.Client
	algs   []jose.SignatureAlgorithm
	now    func() time.Time
	// minRefresh is the least time between two fetches: jwksMinRefresh
	// for logout tokens, which anyone can post; 0 for ID tokens, which
	// arrive only from the token endpoint, so that a key rotated just
	// before signing is fetched at once (SECURITY.md IDT-08).
	minRefresh time.Duration

	mu       sync.Mutex
	keys     []jose.JSONWebKey
	last     time.Time     // start of the last fetch
	inflight chan struct{} // closed when the current fetch ends; nil if none
}

// newJWKSCache returns a key cache for jwksURL accepting the given
// algorithms.
func newJWKSCache(jwksURL string, client *http.Client, algs []string, minRefresh time.Duration, now func() time.Time) *jwksCache {
	c := &jwksCache{url: jwksURL, client: client, now: now, minRefresh: minRefresh}
	for _, a := range algs {
		c.algs = append(c.algs, jose.SignatureAlgorithm(a))
	}
	return c
}

// VerifySignature implements [oidc.KeySet]. The IDTokenVerifier has
// already checked the algorithm; it is checked again here.
func (c *jwksCache) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSigned(raw, c.algs)
	if err != nil {
		return nil, fmt.Errorf("oidc: malformed jwt: %v", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("oidc: multiple signatures")
	}
	h := jws.Signatures[0].Header
	keys := c.cached()
	if payload, ok := verifyWith(jws, keys, h.KeyID, h.Algorithm); ok {
		return payload, nil
	}
	if h.KeyID != "" && slices.ContainsFunc(keys, func(k jose.JSONWebKey) bool { return k.KeyID == h.KeyID }) {
		// A known key and a bad signature: fetching again cannot help.
		return nil, errors.New("signature invalid")
	}
	keys, err = c.refresh(ctx)
	if err != nil {
		return nil, err
	}
	if payload, ok := verifyWith(jws, keys, h.KeyID, h.Algorithm); ok {
		return payload, nil
	}
	return nil, errUnknownKey
}

// verifyWith tries the keys with the token's kid (all keys when it has
// none) that are meant for alg.
func verifyWith(jws *jose.JSONWebSignature, keys []jose.JSONWebKey, kid, alg string) ([]byte, bool) {
	for i := range keys {
		k := &keys[i]
		if kid != "" && k.KeyID != kid || k.Algorithm != "" && k.Algorithm != alg {
			continue
		}
		if payload, err := jws.Verify(k); err == nil {
			return payload, true
		}
	}
	return nil, false
}

func (c *jwksCache) cached() []jose.JSONWebKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.keys
}

// refresh fetches the JWKS unless a fetch is running (it waits for that
// one) or the last one started less than jwksMinRefresh ago (it returns
// the cached keys).
func (c *jwksCache) refresh(ctx context.Context) ([]jose.JSONWebKey, error) {
	c.mu.Lock()
	if ch := c.inflight; ch != nil {
		c.mu.Unlock()
		select {
		case <-ch:
			return c.cached(), nil
		case <-ctx.Done():
			return nil, fmt.Errorf("fetching keys: %w", ctx.Err())
		}
	}
	now := c.now()
	if !c.last.IsZero() && now.Sub(c.last) < c.minRefresh {
		keys := c.keys
		c.mu.Unlock()
		return keys, nil
	}
	c.last = now
	ch := make(chan struct{})
	c.inflight = ch
	c.mu.Unlock()

	// Waiters share this fetch: it must not end with this request.
	keys, err := c.fetch(context.WithoutCancel(ctx))
	c.mu.Lock()
	if err == nil {
		c.keys = keys
	}
	c.inflight = nil
	close(ch)
	c.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("fetching keys: %w", err)
	}
	return keys, nil
}

// fetch GETs the JWKS (the client bounds time and size) and keeps the
// public signing keys it understands, skipping the others (RFC 7517 §5).
func (c *jwksCache) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwks_uri answered %d", resp.StatusCode)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, errors.New("jwks_uri: malformed key set")
	}
	var keys []jose.JSONWebKey
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if json.Unmarshal(raw, &k) != nil || !k.Valid() || !k.IsPublic() || k.Use != "" && k.Use != "sig" {
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("jwks_uri: no usable signing key")
	}
	return keys, nil
}
