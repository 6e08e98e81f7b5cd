// Package sharedtest is a conformance suite for implementations of the
// middleware's SharedState: internal/sharedmem runs it in memory and
// session/redisstore against a real Redis, so both keep one contract.
//
// The suite uses the real clock (a Redis server keeps its own): values
// and entries expire after a few hundred milliseconds, and every wait is
// a poll with a deadline of seconds, never a timing threshold. Cases run
// in parallel, each on a fresh State.
package sharedtest

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"
)

// State has the method set of middleware.SharedState, whose doc comments
// are the contract. It is declared here because the middleware's own
// tests import this package.
type State interface {
	Claim(ctx context.Context, key string, value []byte, expires time.Time) (claimed bool, err error)
	Set(ctx context.Context, key string, value []byte, expires time.Time) error
	Get(ctx context.Context, key string) (value []byte, found bool, err error)
	Release(ctx context.Context, key string, value []byte) error
	Append(ctx context.Context, entry []byte, expires time.Time) (seq int64, err error)
	Since(ctx context.Context, after int64) (entries [][]byte, last int64, err error)
}

const (
	// short is the lifetime of the values and entries a case waits out.
	short = 300 * time.Millisecond
	// patience bounds every wait for something to expire.
	patience = 3 * time.Second
	// goroutines is the concurrency of the concurrent cases.
	goroutines = 16
)

// Run runs the suite. newState returns an empty State for one case and
// registers its cleanup with t.Cleanup (cases run in parallel, after Run
// has returned). reset, when not nil, makes s lose everything, as a Redis
// restarted without persistence does; the lost-data case needs it and is
// left out without it. What a State does on a loss until the next Append
// (report last 0, or go on from a higher number at once) is its own.
func Run(t *testing.T, newState func(t *testing.T) State, reset func(t *testing.T, s State)) {
	cases := []struct {
		name string
		run  func(t *testing.T, s State)
	}{
		{"ClaimOnce", testClaimOnce},
		{"ClaimAfterExpiry", testClaimAfterExpiry},
		{"ClaimPastExpiry", testClaimPastExpiry},
		{"SetGet", testSetGet},
		{"SetExpiry", testSetExpiry},
		{"GetMissing", testGetMissing},
		{"Release", testRelease},
		{"Copies", testCopies},
		{"Binary", testBinary},
		{"InvalidKeys", testInvalidKeys},
		{"Canceled", testCanceled},
		{"EmptyLog", testEmptyLog},
		{"AppendConcurrent", testAppendConcurrent},
		{"SinceAfter", testSinceAfter},
		{"SinceExpired", testSinceExpired},
		{"SinceDuringAppend", testSinceDuringAppend},
	}
	if reset != nil {
		cases = append(cases, struct {
			name string
			run  func(t *testing.T, s State)
		}{"LostData", func(t *testing.T, s State) { testLostData(t, s, reset) }})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newState(t))
		})
	}
}

// eventually polls cond until it holds, or fails the test after patience.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", patience, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func claim(t *testing.T, s State, key string, value []byte, expires time.Time) bool {
	t.Helper()
	ok, err := s.Claim(t.Context(), key, value, expires)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	return ok
}

func set(t *testing.T, s State, key string, value []byte, expires time.Time) {
	t.Helper()
	if err := s.Set(t.Context(), key, value, expires); err != nil {
		t.Fatalf("Set: %v", err)
	}
}

func get(t *testing.T, s State, key string) ([]byte, bool) {
	t.Helper()
	v, ok, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !ok && len(v) != 0 {
		t.Errorf("Get: not found, but a value of %d bytes", len(v))
	}
	return v, ok
}

// wantValue fails unless key holds want.
func wantValue(t *testing.T, s State, key string, want []byte) {
	t.Helper()
	switch v, ok := get(t, s, key); {
	case !ok:
		t.Errorf("Get(%q): not found, want %q", key, want)
	case !bytes.Equal(v, want):
		t.Errorf("Get(%q) = %q, want %q", key, v, want)
	}
}

// wantMissing fails if key holds a value.
func wantMissing(t *testing.T, s State, key string) {
	t.Helper()
	if v, ok := get(t, s, key); ok {
		t.Errorf("Get(%q) = %q, want not found", key, v)
	}
}

func release(t *testing.T, s State, key string, value []byte) {
	t.Helper()
	if err := s.Release(t.Context(), key, value); err != nil {
		t.Fatalf("Release: %v", err)
	}
}

func appendEntry(t *testing.T, s State, entry string, expires time.Time) int64 {
	t.Helper()
	seq, err := s.Append(t.Context(), []byte(entry), expires)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return seq
}

func since(t *testing.T, s State, after int64) ([]string, int64) {
	t.Helper()
	entries, last, err := s.Since(t.Context(), after)
	if err != nil {
		t.Fatalf("Since(%d): %v", after, err)
	}
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = string(e)
	}
	return out, last
}

// wantSince fails unless Since(after) returns want and last.
func wantSince(t *testing.T, s State, after int64, want []string, last int64) {
	t.Helper()
	got, gotLast := since(t, s, after)
	if !slices.Equal(got, want) || gotLast != last {
		t.Errorf("Since(%d) = %q, last %d; want %q, last %d", after, got, gotLast, want, last)
	}
}

func hour() time.Time { return time.Now().Add(time.Hour) }
