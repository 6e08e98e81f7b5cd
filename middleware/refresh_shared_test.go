package middleware

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/sharedmem"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/session"
)

var testSharedKeys = [][]byte{[]byte("shared-test-key-0123456789abcdef")}

// newTestSharedRefresh is one instance's sharedRefresh over st with short
// timeouts.
func newTestSharedRefresh(t *testing.T, st SharedState, keys [][]byte) *sharedRefresh {
	t.Helper()
	seal, err := newSealer(keys)
	if err != nil {
		t.Fatal(err)
	}
	return &sharedRefresh{sh: st, seal: seal, timeout: 100 * time.Millisecond, margin: 100 * time.Millisecond,
		poll: 5 * time.Millisecond, now: time.Now}
}

// countingCall is a token-endpoint call that counts and answers with
// tokens or err.
func countingCall(n *atomic.Int64, tokens *session.Tokens, err error) func(context.Context) (*session.Tokens, error) {
	return func(context.Context) (*session.Tokens, error) {
		n.Add(1)
		return tokens, err
	}
}

func testRefreshKey(rt string) refreshKey { return refreshKey(sha256.Sum256([]byte("p\x00" + rt))) }

// TestSharedRefreshOutcomes: what one instance's refresh leaves for the
// others — the tokens, a refusal, a transient failure's wait — is what
// they answer with, without calling the provider.
func TestSharedRefreshOutcomes(t *testing.T) {
	transient := &providers.Error{Code: "temporarily_unavailable", RetryAfter: 30 * time.Second}
	for _, tc := range []struct {
		name    string
		tokens  *session.Tokens
		err     error
		wantErr error
	}{
		{"rotated", &session.Tokens{AccessToken: "at-2", RefreshToken: "rt-2"}, nil, nil},
		{"refused", nil, providers.ErrDenied, providers.ErrDenied},
		{"transient", nil, errors.Join(providers.ErrUnavailable, transient), errBackoff},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := sharedmem.New(nil)
			a, b := newTestSharedRefresh(t, st, testSharedKeys), newTestSharedRefresh(t, st, testSharedKeys)
			key := testRefreshKey("rt-1-" + tc.name)
			var calls atomic.Int64
			if _, remote, _ := a.do(context.Background(), key, nil, countingCall(&calls, tc.tokens, tc.err)); remote {
				t.Fatal("the first refresh was answered remotely")
			}
			got, remote, err := b.do(context.Background(), key, nil, countingCall(&calls, nil, errors.New("must not be called")))
			if calls.Load() != 1 || !remote {
				t.Fatalf("second instance: %d calls, remote %v; want the first's answer", calls.Load(), remote)
			}
			switch {
			case tc.wantErr == nil && (err != nil || got == nil || *got != *tc.tokens):
				t.Fatalf("second instance: %+v, %v; want %+v", got, err, tc.tokens)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("second instance: %v, want %v", err, tc.wantErr)
			}
			for _, k := range st.Keys() {
				v, _, _ := st.Get(context.Background(), k)
				if bytes.Contains(v, []byte("at-2")) || bytes.Contains(v, []byte("rt-2")) || strings.Contains(k, "rt-1") {
					t.Fatalf("a token in the clear in the shared store under %s", k)
				}
			}
		})
	}
}

// TestSharedRefreshLockHeld: while another instance holds the lock and
// leaves no answer (it crashed mid-call), the waiter never calls the
// provider and gives up at the lock's end; once the lock has expired, the
// token can be refreshed.
func TestSharedRefreshLockHeld(t *testing.T) {
	st := sharedmem.New(nil)
	sr := newTestSharedRefresh(t, st, testSharedKeys)
	key := testRefreshKey("rt-held")
	_, lock := refreshNames(key)
	lockEnd := time.Now().Add(time.Second) // longer than the waiter's patience
	if ok, _ := st.Claim(context.Background(), lock, []byte("other"), lockEnd); !ok {
		t.Fatal("claim")
	}
	var calls atomic.Int64
	if _, _, err := sr.do(context.Background(), key, nil, countingCall(&calls, &session.Tokens{AccessToken: "x"}, nil)); !errors.Is(err, errSharedWait) || calls.Load() != 0 {
		t.Fatalf("lock held elsewhere: %v after %d calls, want errSharedWait and none", err, calls.Load())
	}
	time.Sleep(time.Until(lockEnd))
	if tok, _, err := sr.do(context.Background(), key, nil, countingCall(&calls, &session.Tokens{AccessToken: "x"}, nil)); err != nil || tok.AccessToken != "x" || calls.Load() != 1 {
		t.Fatalf("after the lock expired: %v, %v, %d calls", tok, err, calls.Load())
	}
}

// setFails is a SharedState whose Set fails: the answer of a refresh
// cannot be left.
type setFails struct{ SharedState }

func (setFails) Set(context.Context, string, []byte, time.Time) error { return sharedmem.ErrDown }

// TestSharedRefreshAnswerNotRecorded: when the holder cannot leave its
// answer, it keeps the lock, so no other instance redeems the spent token
// while the lock lives.
func TestSharedRefreshAnswerNotRecorded(t *testing.T) {
	st := sharedmem.New(nil)
	a := newTestSharedRefresh(t, setFails{st}, testSharedKeys)
	a.timeout = time.Second // its lock outlives b's patience
	var unrecorded atomic.Int64
	a.onUnrecorded = func(error) { unrecorded.Add(1) }
	b := newTestSharedRefresh(t, st, testSharedKeys)
	key := testRefreshKey("rt-unrecorded")
	var calls atomic.Int64
	if tok, _, err := a.do(context.Background(), key, nil, countingCall(&calls, &session.Tokens{AccessToken: "at-2"}, nil)); err != nil || tok.AccessToken != "at-2" {
		t.Fatalf("holder: %v, %v (the request that refreshed goes on with the new tokens)", tok, err)
	}
	if unrecorded.Load() != 1 {
		t.Fatal("the unrecorded answer was not reported")
	}
	if _, _, err := b.do(context.Background(), key, nil, countingCall(&calls, nil, nil)); !errors.Is(err, errSharedWait) || calls.Load() != 1 {
		t.Fatalf("other instance: %v after %d calls, want errSharedWait and no second call", err, calls.Load())
	}
}

// TestSharedRefreshStoreDown: an unreachable store means no call, and an
// error the request path turns into 503.
func TestSharedRefreshStoreDown(t *testing.T) {
	st := sharedmem.New(nil)
	st.SetDown(true)
	sr := newTestSharedRefresh(t, st, testSharedKeys)
	var calls atomic.Int64
	_, _, err := sr.do(context.Background(), testRefreshKey("rt-down"), nil, countingCall(&calls, &session.Tokens{}, nil))
	if !errors.Is(err, ErrStoreUnavailable) || calls.Load() != 0 {
		t.Fatalf("store down: %v after %d calls, want ErrStoreUnavailable and none", err, calls.Load())
	}
}

// TestSharedRefreshUnreadableAnswer: an answer no configured key opens
// (another instance already on a new key, or an altered value) is not a
// reason to redeem the token again: 503, no call. After the key is
// deployed everywhere, it opens.
func TestSharedRefreshUnreadableAnswer(t *testing.T) {
	st := sharedmem.New(nil)
	newKey := []byte("shared-test-key-new-456789abcdef")
	upgraded := newTestSharedRefresh(t, st, [][]byte{newKey, testSharedKeys[0]})
	old := newTestSharedRefresh(t, st, testSharedKeys)
	key := testRefreshKey("rt-rotation")
	var calls atomic.Int64
	if _, _, err := upgraded.do(context.Background(), key, nil, countingCall(&calls, &session.Tokens{AccessToken: "at-2"}, nil)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := old.do(context.Background(), key, nil, countingCall(&calls, nil, nil)); !errors.Is(err, ErrStoreUnavailable) || calls.Load() != 1 {
		t.Fatalf("answer sealed with a key this instance lacks: %v after %d calls", err, calls.Load())
	}
	// Moved under another name, it does not open either (the name is
	// bound as additional data).
	memo, _ := refreshNames(key)
	v, _, _ := st.Get(context.Background(), memo)
	other, _ := refreshNames(testRefreshKey("rt-other"))
	st.Set(context.Background(), other, v, time.Now().Add(time.Minute))
	if _, _, err := upgraded.do(context.Background(), testRefreshKey("rt-other"), nil, countingCall(&calls, nil, nil)); !errors.Is(err, ErrStoreUnavailable) || calls.Load() != 1 {
		t.Fatalf("an answer moved to another token's name: %v after %d calls", err, calls.Load())
	}
	if tok, remote, err := newTestSharedRefresh(t, st, [][]byte{newKey}).do(context.Background(), key, nil, countingCall(&calls, nil, nil)); err != nil || !remote || tok.AccessToken != "at-2" {
		t.Fatalf("with the new key: %v, %v, %v", tok, remote, err)
	}
}

// TestSharedRefreshLockGoneWithoutAnswer: a waiter that saw the lock held
// never takes it over when it goes away without an answer (its holder
// crashed, or could not write the answer): the token may be spent.
func TestSharedRefreshLockGoneWithoutAnswer(t *testing.T) {
	st := sharedmem.New(nil)
	sr := newTestSharedRefresh(t, st, testSharedKeys)
	sr.timeout, sr.margin = 500*time.Millisecond, 500*time.Millisecond
	key := testRefreshKey("rt-gone")
	_, lock := refreshNames(key)
	st.Claim(context.Background(), lock, []byte("crashed"), time.Now().Add(100*time.Millisecond))
	var calls atomic.Int64
	if _, _, err := sr.do(context.Background(), key, nil, countingCall(&calls, &session.Tokens{AccessToken: "x"}, nil)); !errors.Is(err, errSharedWait) || calls.Load() != 0 {
		t.Fatalf("the lock went away without an answer: %v after %d calls, want errSharedWait and none", err, calls.Load())
	}
}

// setFlaky is a SharedState whose Set fails while down is set.
type setFlaky struct {
	SharedState
	down *atomic.Bool
}

func (s setFlaky) Set(ctx context.Context, k string, v []byte, exp time.Time) error {
	if s.down.Load() {
		return sharedmem.ErrDown
	}
	return s.SharedState.Set(ctx, k, v, exp)
}

// TestSharedRefreshAnswerRepublished: an answer the store refused is
// written once it takes it, and the lock released then; meanwhile and
// after, the other instances answer from it and never call the provider.
func TestSharedRefreshAnswerRepublished(t *testing.T) {
	st := sharedmem.New(nil)
	var down atomic.Bool
	down.Store(true)
	a := newTestSharedRefresh(t, setFlaky{st, &down}, testSharedKeys)
	b := newTestSharedRefresh(t, st, testSharedKeys)
	b.timeout = 2 * time.Second // patient enough to see the answer arrive
	key := testRefreshKey("rt-republished")
	memo, lock := refreshNames(key)
	var calls atomic.Int64
	if tok, _, err := a.do(context.Background(), key, nil, countingCall(&calls, &session.Tokens{AccessToken: "at-2"}, nil)); err != nil || tok.AccessToken != "at-2" {
		t.Fatalf("holder: %v %v", tok, err)
	}
	time.AfterFunc(300*time.Millisecond, func() { down.Store(false) })
	tok, remote, err := b.do(context.Background(), key, nil, countingCall(&calls, nil, nil))
	if err != nil || !remote || tok.AccessToken != "at-2" || calls.Load() != 1 {
		t.Fatalf("other instance: %v, remote %v, %v after %d calls; want the republished answer", tok, remote, err, calls.Load())
	}
	if _, found, _ := st.Get(context.Background(), memo); !found {
		t.Fatal("the answer is not in the store")
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, held, _ := st.Get(context.Background(), lock); !held {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the lock was not released after the answer was written")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
