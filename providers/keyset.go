package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/portcullis-go/portcullis/internal/bounded"
)

// The JWKS cache's policy (see [jwksCache]).
const (
	// jwksMinRefresh is the least time between two JWKS fetches for logout
	// tokens (SECURITY.md NET-05).
	jwksMinRefresh = 30 * time.Second
	// jwksRecheckInterval is the least time between two fetches caused by
	// a known key failing to verify a token (a key rotated under the same
	// kid), for ID and logout tokens alike.
	jwksRecheckInterval = 30 * time.Second
	// jwksFirstBackoff is the wait after a first failed fetch; it doubles
	// with each further failure, up to minRefresh.
	jwksFirstBackoff = time.Second
	// jwksDefaultMaxAge is how long fetched keys are trusted when the
	// response has no Cache-Control max-age.
	jwksDefaultMaxAge = 3 * time.Hour
	// jwksMinMaxAge and jwksMaxMaxAge clamp a response's max-age.
	jwksMinMaxAge = 5 * time.Minute
	jwksMaxMaxAge = 24 * time.Hour
)

// The errors of [jwksCache.VerifySignature]; test with errors.Is. (go-oidc
// wraps a key set's error with %v, so its callers see only the text.)
var (
	// errUnknownKey: no published key has the token's "kid" (or, for a
	// token without one, is meant for its algorithm), even after a fetch
	// or because one is not yet due.
	errUnknownKey = errors.New("no published key verifies the token")
	// errSignatureInvalid: a published key that may have signed the token
	// (its kid, or its algorithm for a token without a kid) does not
	// verify it, even after a fetch or because one is not yet due.
	errSignatureInvalid = errors.New("signature invalid with the published key")
	// errKeysUnavailable: the keys could not be fetched (the error wraps
	// the cause too), and the cached ones, if any, did not verify the
	// token or are past their stale limit.
	errKeysUnavailable = errors.New("fetching keys")
	// errNoUsableKey: the JWKS holds no public signing key that go-jose
	// understands; a fetch that finds none fails (and wraps
	// errKeysUnavailable too).
	errNoUsableKey = errors.New("jwks_uri: no usable signing key")
)

// jwksCache is the [oidc.KeySet] of ID and logout tokens: the provider's
// JWKS, fetched with the provider's hardened client, key by key (a key
// go-jose does not know is skipped, SECURITY.md IDT-18). Its policy:
//
//   - Fetches are single-flight: concurrent callers share one.
//   - Fetched keys are fresh for the response's Cache-Control max-age less
//     its Age, clamped to [jwksMinMaxAge, jwksMaxMaxAge] (no-store and
//     no-cache count as 0), or jwksDefaultMaxAge without one. The first
//     verification after that fetches first, so a withdrawn key stops
//     verifying.
//   - If that fetch fails, the old keys still verify (stale) for one more
//     max age, and after that every verification fails closed with
//     errKeysUnavailable until a fetch succeeds.
//   - A token whose kid the keys lack (a key rotation) causes a fetch;
//     one whose kid is known but whose signature does not verify (a key
//     rotated under the same kid, or a forgery) also does, but at most
//     once per jwksRecheckInterval.
//   - After a successful fetch the next is at least minRefresh away, for
//     any reason; after a failed one 1 s, doubling with each further
//     failure up to minRefresh. A verification whose fetch is not due uses
//     the cached keys.
//
// go-oidc's RemoteKeySet fetches for every unknown "kid", so each forged
// token posted to the public back-channel endpoint would become a request
// to the provider (SECURITY.md NET-05). A failed fetch keeps the previous
// keys (NET-06).
type jwksCache struct {
	url    string
	client *http.Client
	algs   []jose.SignatureAlgorithm
	now    func() time.Time
	// minRefresh is the least time between two fetches: jwksMinRefresh
	// for logout tokens, which anyone can post; 0 for ID tokens, which
	// arrive only from the token endpoint, so that a key rotated just
	// before signing is fetched at once (SECURITY.md IDT-08). Fetches for
	// a bad signature are rate-limited even so (jwksRecheckInterval).
	minRefresh time.Duration
	group      bounded.Group[struct{}, keyState]

	mu        sync.Mutex
	keys      []publishedKey // nil until a fetch succeeds
	fetchedAt time.Time      // start of the fetch that returned keys
	maxAge    time.Duration  // how long keys are fresh after fetchedAt
	retryAt   time.Time      // no fetch before this
	recheckAt time.Time      // no fetch for a bad signature before this
	failures  int            // consecutive failed fetches
	lastErr   error          // cause of the last fetch if it failed
	fetching  bool           // a fetch is under way
}

// keyState is a snapshot of the cache.
type keyState struct {
	keys      []publishedKey
	fetchedAt time.Time
	maxAge    time.Duration
	lastErr   error
	// fetched: the snapshot is the outcome of a fetch (successful or not)
	// this caller ran or waited for; fetching again cannot help.
	fetched bool
}

func (s keyState) fresh(now time.Time) bool {
	return s.keys != nil && now.Before(s.fetchedAt.Add(s.maxAge))
}

func (s keyState) usableStale(now time.Time) bool {
	return s.keys != nil && now.Before(s.fetchedAt.Add(2*s.maxAge))
}

// trigger is why a verification asks for a fetch.
type trigger int

const (
	triggerExpired      trigger = iota // no keys yet, or past their max age
	triggerUnknownKid                  // the token names a key the set lacks
	triggerBadSignature                // a key the token names fails to verify it
)

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
	st, err := c.current(ctx)
	if err != nil {
		return nil, err
	}
	if payload, ok := verifyWith(ctx, jws, st.keys, h.KeyID, h.Algorithm); ok {
		return payload, nil
	}
	if !st.fetched {
		why := triggerUnknownKid
		if hasCandidate(st.keys, h.KeyID, h.Algorithm) {
			why = triggerBadSignature
		}
		if st, err = c.refresh(ctx, why); err != nil {
			return nil, err
		}
		if payload, ok := verifyWith(ctx, jws, st.keys, h.KeyID, h.Algorithm); ok {
			return payload, nil
		}
	}
	if st.fetched && st.lastErr != nil {
		// The keys that could verify it may be the ones we cannot fetch.
		return nil, fmt.Errorf("%w: %w", errKeysUnavailable, st.lastErr)
	}
	if hasCandidate(st.keys, h.KeyID, h.Algorithm) {
		return nil, errSignatureInvalid
	}
	return nil, errUnknownKey
}

// publishedKey is a key of the set, with its "issuer" member: Microsoft
// Entra ID scopes each key to the issuers it may sign for
// (https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens#validate-the-signing-key-issuer).
type publishedKey struct {
	jose.JSONWebKey
	issuer string
}

// verifyWith tries the keys that hasCandidate would name, and reports the
// issuer of the one that verifies into ctx's keyReport.
func verifyWith(ctx context.Context, jws *jose.JSONWebSignature, keys []publishedKey, kid, alg string) ([]byte, bool) {
	for i := range keys {
		k := &keys[i]
		if kid != "" && k.KeyID != kid || k.Algorithm != "" && k.Algorithm != alg {
			continue
		}
		if payload, err := jws.Verify(&k.JSONWebKey); err == nil {
			if rep, ok := ctx.Value(keyReportKey{}).(*keyReport); ok {
				rep.keyIssuer = k.issuer
			}
			return payload, true
		}
	}
	return nil, false
}

// hasCandidate reports whether keys hold one that may have signed a token
// with this kid and alg: one with the kid, or for a token without a kid,
// one meant for alg.
func hasCandidate(keys []publishedKey, kid, alg string) bool {
	return slices.ContainsFunc(keys, func(k publishedKey) bool {
		if kid != "" {
			return k.KeyID == kid
		}
		return k.Algorithm == "" || k.Algorithm == alg
	})
}

// current returns the keys to verify with: the cached ones while fresh;
// otherwise those of a fetch made first; if that fails or is not due, the
// cached ones while within their stale limit. Past it, it fails closed.
func (c *jwksCache) current(ctx context.Context) (keyState, error) {
	st := c.snapshot()
	if st.fresh(c.now()) {
		return st, nil
	}
	st, err := c.refresh(ctx, triggerExpired)
	now := c.now()
	if st.fresh(now) {
		return st, nil
	}
	if st.usableStale(now) {
		st.fetched = true // failed or not due: do not try again for this token
		return st, nil
	}
	cause := st.lastErr
	switch {
	case cause == nil && err != nil:
		return keyState{}, err // this caller's ctx ended
	case cause == nil:
		cause = errors.New("no fetch due yet")
	}
	if st.keys == nil {
		return keyState{}, fmt.Errorf("%w: none fetched yet: %w", errKeysUnavailable, cause)
	}
	return keyState{}, fmt.Errorf("%w: keys fetched at %s are past their stale limit: %w",
		errKeysUnavailable, st.fetchedAt.UTC().Format(time.RFC3339), cause)
}

func (c *jwksCache) snapshot() keyState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.snapshotLocked()
}

func (c *jwksCache) snapshotLocked() keyState {
	return keyState{keys: c.keys, fetchedAt: c.fetchedAt, maxAge: c.maxAge, lastErr: c.lastErr}
}

// dueLocked reports whether a fetch for why may start at now.
func (c *jwksCache) dueLocked(why trigger, now time.Time) bool {
	if now.Before(c.retryAt) {
		return false
	}
	return why != triggerBadSignature || !now.Before(c.recheckAt)
}

// refresh fetches the JWKS if a fetch for why is due, or waits for the
// one under way; otherwise it returns the cached keys. Its errors wrap
// errKeysUnavailable.
func (c *jwksCache) refresh(ctx context.Context, why trigger) (keyState, error) {
	c.mu.Lock()
	if !c.fetching && !c.dueLocked(why, c.now()) {
		st := c.snapshotLocked()
		c.mu.Unlock()
		return st, nil
	}
	c.mu.Unlock()
	st, err, _ := c.group.Do(ctx, struct{}{}, func(ctx context.Context) (keyState, error) {
		return c.fetchIfDue(ctx, why)
	})
	if err != nil && !errors.Is(err, errKeysUnavailable) {
		err = fmt.Errorf("%w: %w", errKeysUnavailable, err) // this caller's ctx ended
	}
	return st, err
}

// fetchIfDue runs inside the single-flight: it checks again that a fetch
// is due (one may have ended since refresh looked), fetches, and records
// the outcome and the next time a fetch may start.
func (c *jwksCache) fetchIfDue(ctx context.Context, why trigger) (keyState, error) {
	c.mu.Lock()
	start := c.now()
	if !c.dueLocked(why, start) {
		st := c.snapshotLocked()
		c.mu.Unlock()
		return st, nil
	}
	c.fetching = true
	if why == triggerBadSignature {
		c.recheckAt = start.Add(max(c.minRefresh, jwksRecheckInterval))
	}
	c.mu.Unlock()

	keys, maxAge, err := c.fetch(ctx)

	c.mu.Lock()
	defer c.mu.Unlock()
	c.fetching = false
	if err != nil {
		c.failures++
		c.lastErr = err
		backoff := jwksFirstBackoff << min(c.failures-1, 16)
		c.retryAt = c.now().Add(min(backoff, c.minRefresh))
		st := c.snapshotLocked()
		st.fetched = true
		return st, fmt.Errorf("%w: %w", errKeysUnavailable, err)
	}
	c.keys, c.fetchedAt, c.maxAge = keys, start, maxAge
	c.failures, c.lastErr = 0, nil
	c.retryAt = start.Add(c.minRefresh)
	st := c.snapshotLocked()
	st.fetched = true
	return st, nil
}

// fetch GETs the JWKS (the client bounds time and size) and keeps the
// public signing keys it understands, skipping the others (RFC 7517 §5).
// It also returns how long they are fresh.
func (c *jwksCache) fetch(ctx context.Context) ([]publishedKey, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("jwks_uri answered %d", resp.StatusCode)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, 0, err
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, 0, errors.New("jwks_uri: malformed key set")
	}
	var keys []publishedKey
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if json.Unmarshal(raw, &k) != nil || !k.Valid() || !k.IsPublic() || k.Use != "" && k.Use != "sig" {
			continue
		}
		var member struct {
			Issuer claimString `json:"issuer"`
		}
		json.Unmarshal(raw, &member) // claimString never fails
		keys = append(keys, publishedKey{k, string(member.Issuer)})
	}
	if len(keys) == 0 {
		return nil, 0, errNoUsableKey
	}
	return keys, freshness(resp.Header), nil
}

// freshness is how long a JWKS response stays fresh (RFC 9111 §4.2): its
// Cache-Control max-age less its Age, or jwksDefaultMaxAge without a
// max-age, clamped to [jwksMinMaxAge, jwksMaxMaxAge]. no-store and
// no-cache count as max-age 0 (so jwksMinMaxAge), an invalid max-age as 0,
// several as the smallest; s-maxage (for shared caches) and Expires are
// ignored.
func freshness(h http.Header) time.Duration {
	secs, ok := maxAgeSeconds(h.Values("Cache-Control"))
	if !ok {
		return jwksDefaultMaxAge
	}
	if age, err := strconv.ParseUint(strings.TrimSpace(h.Get("Age")), 10, 32); err == nil {
		secs -= min(age, secs)
	}
	d := time.Duration(min(secs, uint64(jwksMaxMaxAge/time.Second))) * time.Second
	return min(max(d, jwksMinMaxAge), jwksMaxMaxAge)
}

// maxAgeSeconds returns the max-age of Cache-Control header values, and
// whether they set one.
func maxAgeSeconds(values []string) (uint64, bool) {
	var secs uint64
	found := false
	for _, v := range values {
		for dir := range strings.SplitSeq(v, ",") {
			name, arg, _ := strings.Cut(strings.TrimSpace(dir), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store", "no-cache":
				return 0, true
			case "max-age":
				n, err := strconv.ParseUint(strings.Trim(strings.TrimSpace(arg), `"`), 10, 64)
				switch {
				case errors.Is(err, strconv.ErrRange):
					n = 1 << 63 // too large to parse: the largest
				case err != nil:
					n = 0 // invalid: stale at once (RFC 9111 §4.2.1)
				}
				if !found || n < secs {
					secs = n
				}
				found = true
			}
		}
	}
	return secs, found
}
