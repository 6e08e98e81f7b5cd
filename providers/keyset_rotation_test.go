package providers

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestKeyRotatedUnderSameKid: a provider that replaces its key but keeps
// the kid is followed after one fetch, for ID and logout tokens alike;
// a flood of forged tokens under the known kid makes at most one fetch
// per jwksRecheckInterval.
func TestKeyRotatedUnderSameKid(t *testing.T) {
	for _, tc := range []struct {
		name       string
		minRefresh time.Duration
	}{
		{"ID tokens", 0},
		{"logout tokens", jwksMinRefresh},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeJWKS(t)
			clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
			c := f.cache(tc.minRefresh, clock)
			verify := func(raw string) error {
				_, err := c.VerifySignature(context.Background(), raw)
				return err
			}
			old := f.publish("k1")
			wantErr(t, "old key", verify(signES256(t, "k1", old)), nil)

			// The provider rotates the key material under kid "k1". ID
			// tokens follow at once, logout tokens once minRefresh has
			// passed.
			clock.advance(tc.minRefresh)
			rotated := f.publish("k1")
			wantErr(t, "rotated key", verify(signES256(t, "k1", rotated)), nil)
			wantErr(t, "rotated key again", verify(signES256(t, "k1", rotated)), nil)
			if n := f.count(); n != 2 {
				t.Fatalf("%d JWKS fetches, want 2 (first use, rotation)", n)
			}
			wantErr(t, "old key after the rotation", verify(signES256(t, "k1", old)), errSignatureInvalid)

			forger := newECKey(t)
			flood := func() {
				var wg sync.WaitGroup
				for range 50 {
					wg.Go(func() {
						if err := verify(signES256(t, "k1", forger)); err == nil {
							t.Error("forged token under the known kid accepted")
						}
					})
				}
				wg.Wait()
			}
			flood()
			if n := f.count(); n != 2 {
				t.Errorf("forged tokens right after a refetch: %d JWKS fetches, want 2", n)
			}
			clock.advance(jwksRecheckInterval)
			flood()
			if n := f.count(); n != 3 {
				t.Errorf("forged tokens after jwksRecheckInterval: %d JWKS fetches, want 3", n)
			}
			clock.advance(jwksRecheckInterval - time.Second)
			flood()
			if n := f.count(); n != 3 {
				t.Errorf("forged tokens within jwksRecheckInterval: %d JWKS fetches, want 3", n)
			}
			wantErr(t, "forged token", verify(signES256(t, "k1", forger)), errSignatureInvalid)
			wantErr(t, "rotated key after the flood", verify(signES256(t, "k1", rotated)), nil)
		})
	}
}

// TestLogoutKeysFirstFetchFailureRetriesSoon: a failed fetch of the logout
// keys is retried after 1 s, then 2 s, 4 s … up to jwksMinRefresh, rather
// than blocking every back-channel logout for jwksMinRefresh; a successful
// fetch keeps the jwksMinRefresh interval.
func TestLogoutKeysFirstFetchFailureRetriesSoon(t *testing.T) {
	setup := func(t *testing.T) (*fakeJWKS, *fakeClock, func(string) error, string) {
		f := newFakeJWKS(t)
		k1 := f.publish("k1")
		clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
		c := f.cache(jwksMinRefresh, clock)
		verify := func(raw string) error {
			_, err := c.VerifySignature(context.Background(), raw)
			return err
		}
		f.set(func(f *fakeJWKS) { f.status = http.StatusServiceUnavailable })
		return f, clock, verify, signES256(t, "k1", k1)
	}

	t.Run("first failure, provider back 1 s later", func(t *testing.T) {
		f, clock, verify, token := setup(t)
		wantErr(t, "JWKS down", verify(token), errKeysUnavailable)
		f.set(func(f *fakeJWKS) { f.status = 0 })
		wantErr(t, "at once again", verify(token), errKeysUnavailable)
		clock.advance(time.Second)
		wantErr(t, "1 s after a failed first fetch", verify(token), nil)
		if n := f.count(); n != 2 {
			t.Errorf("%d fetches, want 2", n)
		}
	})

	t.Run("backoff doubles up to jwksMinRefresh", func(t *testing.T) {
		f, clock, verify, token := setup(t)
		wantErr(t, "JWKS down", verify(token), errKeysUnavailable)
		fetches := 1
		for _, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, jwksMinRefresh, jwksMinRefresh} {
			clock.advance(wait - time.Millisecond)
			wantErr(t, "within the backoff", verify(token), errKeysUnavailable)
			if n := f.count(); n != fetches {
				t.Fatalf("%d fetches within a %v backoff, want %d", n, wait, fetches)
			}
			clock.advance(time.Millisecond)
			wantErr(t, "after the backoff", verify(token), errKeysUnavailable)
			if fetches++; f.count() != fetches {
				t.Fatalf("%d fetches after a %v backoff, want %d", f.count(), wait, fetches)
			}
		}

		f.set(func(f *fakeJWKS) { f.status = 0 })
		clock.advance(jwksMinRefresh)
		wantErr(t, "JWKS back", verify(token), nil)
		// After a success, an unknown kid waits jwksMinRefresh.
		k2 := f.publish("k2")
		clock.advance(jwksMinRefresh - time.Second)
		wantErr(t, "new kid within jwksMinRefresh", verify(signES256(t, "k2", k2)), errUnknownKey)
		clock.advance(time.Second)
		wantErr(t, "new kid after jwksMinRefresh", verify(signES256(t, "k2", k2)), nil)
		if n, want := f.count(), fetches+2; n != want {
			t.Errorf("%d fetches, want %d", n, want)
		}
	})
}
