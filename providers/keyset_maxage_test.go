package providers

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestKeySetMaxAge: fetched keys are trusted for the JWKS response's
// Cache-Control max-age (less its Age), clamped to [jwksMinMaxAge,
// jwksMaxMaxAge], or jwksDefaultMaxAge; the first verification after
// that fetches first, so a withdrawn key stops verifying. If that fetch
// fails, the old keys verify for one more max age, then it fails closed.
func TestKeySetMaxAge(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header http.Header
		maxAge time.Duration
	}{
		{"no Cache-Control", nil, jwksDefaultMaxAge},
		{"max-age", http.Header{"Cache-Control": {"public, max-age=3600"}}, time.Hour},
		{"max-age quoted", http.Header{"Cache-Control": {`max-age="7200"`}}, 2 * time.Hour},
		{"max-age less Age", http.Header{"Cache-Control": {"max-age=3600"}, "Age": {"600"}}, 50 * time.Minute},
		{"smallest of two max-age", http.Header{"Cache-Control": {"max-age=7200", "private, MAX-AGE=3600"}}, time.Hour},
		{"max-age too short", http.Header{"Cache-Control": {"max-age=15, stale-while-revalidate=15"}}, jwksMinMaxAge},
		{"Age over max-age", http.Header{"Cache-Control": {"max-age=3600"}, "Age": {"7200"}}, jwksMinMaxAge},
		{"max-age too long", http.Header{"Cache-Control": {"max-age=31536000"}}, jwksMaxMaxAge},
		{"max-age overflowing", http.Header{"Cache-Control": {"max-age=99999999999999999999999"}}, jwksMaxMaxAge},
		{"max-age invalid", http.Header{"Cache-Control": {"max-age=soon"}}, jwksMinMaxAge},
		{"no-store", http.Header{"Cache-Control": {"no-store"}}, jwksMinMaxAge},
		{"no-cache", http.Header{"Cache-Control": {"max-age=3600, no-cache"}}, jwksMinMaxAge},
		{"only s-maxage", http.Header{"Cache-Control": {"s-maxage=60"}}, jwksDefaultMaxAge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, minRefresh := range []time.Duration{0, jwksMinRefresh} {
				f := newFakeJWKS(t)
				f.set(func(f *fakeJWKS) { f.header = tc.header })
				clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
				c := f.cache(minRefresh, clock)
				verify := func(raw string) error {
					_, err := c.VerifySignature(context.Background(), raw)
					return err
				}
				k1 := f.publish("k1")
				old := signES256(t, "k1", k1)
				wantErr(t, "k1", verify(old), nil)

				// The provider withdraws k1 for k2.
				k2 := f.publish("k2")
				f.withdraw("k1")
				clock.advance(tc.maxAge - time.Second)
				wantErr(t, "k1 within its max age", verify(old), nil)
				if n := f.count(); n != 1 {
					t.Fatalf("minRefresh %v: %d fetches within the max age, want 1", minRefresh, n)
				}
				clock.advance(time.Second)
				wantErr(t, "withdrawn k1 after its max age", verify(old), errUnknownKey)
				wantErr(t, "k2 after the refetch", verify(signES256(t, "k2", k2)), nil)
				if n := f.count(); n != 2 {
					t.Errorf("minRefresh %v: %d fetches after the max age, want 2", minRefresh, n)
				}
			}
		})
	}

	t.Run("stale while the JWKS is down, then fail closed", func(t *testing.T) {
		for _, minRefresh := range []time.Duration{0, jwksMinRefresh} {
			f := newFakeJWKS(t)
			clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
			c := f.cache(minRefresh, clock)
			verify := func(raw string) error {
				_, err := c.VerifySignature(context.Background(), raw)
				return err
			}
			k1 := f.publish("k1")
			token := signES256(t, "k1", k1)
			wantErr(t, "k1", verify(token), nil)

			f.set(func(f *fakeJWKS) { f.status = http.StatusBadGateway })
			clock.advance(jwksDefaultMaxAge)
			wantErr(t, "stale k1, JWKS down", verify(token), nil)
			if n := f.count(); n != 2 {
				t.Errorf("minRefresh %v: %d fetches, want 2 (the refetch first)", minRefresh, n)
			}
			k2 := f.publish("k2")
			wantErr(t, "a new kid while the JWKS is down", verify(signES256(t, "k2", k2)), errKeysUnavailable)
			clock.advance(jwksDefaultMaxAge - time.Second)
			wantErr(t, "stale k1 at the end of the stale limit", verify(token), nil)
			clock.advance(time.Second)
			err := verify(token)
			wantErr(t, "k1 past its stale limit", err, errKeysUnavailable)
			if err == nil || !strings.Contains(err.Error(), "stale limit") || !strings.Contains(err.Error(), "502") {
				t.Errorf("past the stale limit: %v, want an error naming the stale limit and the cause", err)
			}

			f.set(func(f *fakeJWKS) { f.status = 0 })
			clock.advance(minRefresh)
			wantErr(t, "k1 with the JWKS back", verify(token), nil)
		}
	})
}
