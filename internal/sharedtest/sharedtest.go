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
	"fmt"
	"slices"
	"strings"
	"sync"
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

// testClaimOnce: of many concurrent Claims of one key, exactly one wins,
// and the key holds the winner's value.
func testClaimOnce(t *testing.T, s State) {
	var wg sync.WaitGroup
	won := make(chan int, goroutines)
	exp := hour()
	for i := range goroutines {
		wg.Go(func() {
			ok, err := s.Claim(t.Context(), "lock", fmt.Appendf(nil, "holder-%d", i), exp)
			if err != nil {
				t.Errorf("Claim %d: %v", i, err)
			}
			if ok {
				won <- i
			}
		})
	}
	wg.Wait()
	close(won)
	var winners []int
	for i := range won {
		winners = append(winners, i)
	}
	if len(winners) != 1 {
		t.Fatalf("%d goroutines claimed the key (%v), want exactly 1", len(winners), winners)
	}
	wantValue(t, s, "lock", fmt.Appendf(nil, "holder-%d", winners[0]))
	if claim(t, s, "lock", []byte("late"), hour()) {
		t.Error("a Claim after the race won too")
	}
	if !claim(t, s, "other", []byte("x"), hour()) {
		t.Error("a Claim of another key lost")
	}
}

// testClaimAfterExpiry: a claimed key is free again once its value
// expires, and not before.
func testClaimAfterExpiry(t *testing.T, s State) {
	exp := time.Now().Add(short)
	if !claim(t, s, "k", []byte("first"), exp) {
		t.Fatal("Claim of a free key lost")
	}
	if claim(t, s, "k", []byte("second"), hour()) && time.Now().Before(exp) {
		t.Fatal("Claim of a held key won before its value expired")
	}
	time.Sleep(time.Until(exp))
	eventually(t, "the expired claim still holds the key", func() bool {
		return claim(t, s, "k", []byte("third"), hour())
	})
	wantValue(t, s, "k", []byte("third"))
}

// testClaimPastExpiry: a Claim whose expiry has passed wins a free key
// but leaves nothing behind, and never displaces a live value.
func testClaimPastExpiry(t *testing.T, s State) {
	past := time.Now().Add(-time.Second)
	if !claim(t, s, "free", []byte("v"), past) {
		t.Error("Claim of a free key with a past expiry lost")
	}
	wantMissing(t, s, "free")
	if !claim(t, s, "free", []byte("w"), hour()) {
		t.Error("a Claim with a past expiry left the key held")
	}
	set(t, s, "held", []byte("live"), hour())
	if claim(t, s, "held", []byte("v"), past) {
		t.Error("Claim with a past expiry won a held key")
	}
	wantValue(t, s, "held", []byte("live"))
}

// testSetGet: Set stores, replaces (claimed values too), and with a past
// expiry deletes.
func testSetGet(t *testing.T, s State) {
	set(t, s, "k", []byte("one"), hour())
	wantValue(t, s, "k", []byte("one"))
	set(t, s, "k", []byte("two"), hour())
	wantValue(t, s, "k", []byte("two"))
	if claim(t, s, "k", []byte("three"), hour()) {
		t.Error("Claim won a key that Set holds")
	}
	set(t, s, "k", []byte(""), hour())
	if v, ok := get(t, s, "k"); !ok || len(v) != 0 {
		t.Errorf("Get after Set of an empty value = %q, %v; want empty, found", v, ok)
	}
	set(t, s, "k", []byte("gone"), time.Now().Add(-time.Second))
	wantMissing(t, s, "k")
	if !claim(t, s, "c", []byte("claimed"), hour()) {
		t.Fatal("Claim of a free key lost")
	}
	set(t, s, "c", []byte("replaced"), hour())
	wantValue(t, s, "c", []byte("replaced"))
	set(t, s, "c", []byte("gone"), time.Now().Add(-time.Second))
	if !claim(t, s, "c", []byte("again"), hour()) {
		t.Error("Claim lost after Set with a past expiry deleted the key")
	}
}

// testSetExpiry: a value is gone once it expires, and a replacement's
// expiry is its own.
func testSetExpiry(t *testing.T, s State) {
	exp := time.Now().Add(short)
	set(t, s, "brief", []byte("v"), exp)
	set(t, s, "kept", []byte("v"), exp)
	set(t, s, "kept", []byte("w"), hour())
	if _, ok := get(t, s, "brief"); !ok && time.Now().Before(exp) {
		t.Fatal("a value was gone before its expiry")
	}
	time.Sleep(time.Until(exp))
	eventually(t, "an expired value is still found", func() bool {
		_, ok := get(t, s, "brief")
		return !ok
	})
	wantValue(t, s, "kept", []byte("w"))
}

func testGetMissing(t *testing.T, s State) {
	wantMissing(t, s, "never-set")
}

// testRelease: only the holder's value releases a key; releasing a
// missing key is no error.
func testRelease(t *testing.T, s State) {
	if !claim(t, s, "lock", []byte("mine"), hour()) {
		t.Fatal("Claim of a free key lost")
	}
	release(t, s, "lock", []byte("yours"))
	wantValue(t, s, "lock", []byte("mine"))
	release(t, s, "lock", []byte("mine\x00"))
	wantValue(t, s, "lock", []byte("mine"))
	release(t, s, "lock", []byte("mine"))
	wantMissing(t, s, "lock")
	release(t, s, "lock", []byte("mine"))
	release(t, s, "never-set", []byte("x"))
	if !claim(t, s, "lock", []byte("next"), hour()) {
		t.Error("Claim lost after the holder released the key")
	}
	exp := time.Now().Add(short)
	set(t, s, "brief", []byte("v"), exp)
	time.Sleep(time.Until(exp))
	eventually(t, "an expired value is still found", func() bool {
		_, ok := get(t, s, "brief")
		return !ok
	})
	release(t, s, "brief", []byte("v"))
}

// testCopies: the store keeps its own copy of every value and entry, and
// hands out copies.
func testCopies(t *testing.T, s State) {
	v := []byte("value")
	set(t, s, "k", v, hour())
	v[0] = 'X'
	got, _ := get(t, s, "k")
	if len(got) > 0 {
		got[0] = 'Y'
	}
	wantValue(t, s, "k", []byte("value"))
	c := []byte("claimed")
	if !claim(t, s, "c", c, hour()) {
		t.Fatal("Claim of a free key lost")
	}
	c[0] = 'X'
	wantValue(t, s, "c", []byte("claimed"))
	e := []byte("entry")
	if _, err := s.Append(t.Context(), e, hour()); err != nil {
		t.Fatal(err)
	}
	e[0] = 'X'
	first, _, err := s.Since(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) == 1 && len(first[0]) > 0 {
		first[0][0] = 'Y'
	}
	entries, last := since(t, s, 0)
	if !slices.Equal(entries, []string{"entry"}) {
		t.Errorf("Since(0) = %q, last %d; want [entry]", entries, last)
	}
}

// binary is every byte value once.
func binary() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// testBinary: values and entries are bytes, not text.
func testBinary(t *testing.T, s State) {
	b := binary()
	set(t, s, "set", b, hour())
	wantValue(t, s, "set", b)
	if !claim(t, s, "claim", b, hour()) {
		t.Fatal("Claim of a free key lost")
	}
	wantValue(t, s, "claim", b)
	release(t, s, "claim", b[:255])
	wantValue(t, s, "claim", b)
	release(t, s, "claim", b)
	wantMissing(t, s, "claim")
	if _, err := s.Append(t.Context(), b, hour()); err != nil {
		t.Fatal(err)
	}
	entries, _, err := s.Since(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || !bytes.Equal(entries[0], b) {
		t.Errorf("Since(0) = %q, want the 256 byte values", entries)
	}
}

// testInvalidKeys: every key method refuses a key that is not 1 to 200
// bytes of printable ASCII without spaces, and accepts the extremes.
func testInvalidKeys(t *testing.T, s State) {
	ctx := t.Context()
	for _, key := range []string{
		"", "a b", "a\tb", "a\nb", "a\x00b", "a\x7fb", "caf\u00e9", "a\xffb",
		strings.Repeat("k", 201),
	} {
		if ok, err := s.Claim(ctx, key, []byte("v"), hour()); err == nil || ok {
			t.Errorf("Claim(%q) = %v, %v; want an error", key, ok, err)
		}
		if err := s.Set(ctx, key, []byte("v"), hour()); err == nil {
			t.Errorf("Set(%q) accepted the key", key)
		}
		if v, ok, err := s.Get(ctx, key); err == nil || ok || v != nil {
			t.Errorf("Get(%q) = %q, %v, %v; want an error", key, v, ok, err)
		}
		if err := s.Release(ctx, key, []byte("v")); err == nil {
			t.Errorf("Release(%q) accepted the key", key)
		}
	}
	for _, key := range []string{"!", "~", strings.Repeat("~", 200), "a:b/c{d}e|f"} {
		set(t, s, key, []byte("v"), hour())
		wantValue(t, s, key, []byte("v"))
	}
}

// testCanceled: a canceled context fails every method; nothing claims or
// finds.
func testCanceled(t *testing.T, s State) {
	set(t, s, "k", []byte("v"), hour())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if ok, err := s.Claim(ctx, "free", []byte("v"), hour()); err == nil || ok {
		t.Errorf("Claim = %v, %v; want an error", ok, err)
	}
	if err := s.Set(ctx, "k", []byte("w"), hour()); err == nil {
		t.Error("Set succeeded")
	}
	if v, ok, err := s.Get(ctx, "k"); err == nil || ok || v != nil {
		t.Errorf("Get = %q, %v, %v; want an error", v, ok, err)
	}
	if err := s.Release(ctx, "k", []byte("v")); err == nil {
		t.Error("Release succeeded")
	}
	if _, err := s.Append(ctx, []byte("e"), hour()); err == nil {
		t.Error("Append succeeded")
	}
	if _, _, err := s.Since(ctx, 0); err == nil {
		t.Error("Since succeeded")
	}
	wantValue(t, s, "k", []byte("v"))
	if !claim(t, s, "free", []byte("v"), hour()) {
		t.Error("a canceled Claim held the key")
	}
}

func testEmptyLog(t *testing.T, s State) {
	wantSince(t, s, 0, []string{}, 0)
	wantSince(t, s, 7, []string{}, 0)
}

// testAppendConcurrent: concurrent Appends get distinct numbers, each
// greater than the ones its goroutine got before, and Since returns the
// entries in number order.
func testAppendConcurrent(t *testing.T, s State) {
	const each = 16
	seqs := make([][]int64, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				seq, err := s.Append(t.Context(), fmt.Appendf(nil, "%d/%d", g, i), hour())
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				seqs[g] = append(seqs[g], seq)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	bySeq := map[int64]string{}
	var top int64
	for g, list := range seqs {
		for i, seq := range list {
			if i > 0 && seq <= list[i-1] {
				t.Errorf("goroutine %d: Append returned %d after %d", g, seq, list[i-1])
			}
			if prev, dup := bySeq[seq]; dup {
				t.Errorf("sequence number %d given to %s and %d/%d", seq, prev, g, i)
			}
			bySeq[seq] = fmt.Sprintf("%d/%d", g, i)
			top = max(top, seq)
		}
	}
	order := make([]int64, 0, len(bySeq))
	for seq := range bySeq {
		order = append(order, seq)
	}
	slices.Sort(order)
	want := make([]string, len(order))
	for i, seq := range order {
		want[i] = bySeq[seq]
	}
	wantSince(t, s, 0, want, top)
	wantSince(t, s, order[len(order)/2], want[len(order)/2+1:], top)
}

// testSinceAfter: Since returns only the entries after its argument, and
// last whatever the argument.
func testSinceAfter(t *testing.T, s State) {
	a := appendEntry(t, s, "a", hour())
	b := appendEntry(t, s, "b", hour())
	c := appendEntry(t, s, "c", hour())
	if !(0 < a && a < b && b < c) {
		t.Fatalf("sequence numbers %d, %d, %d: want positive and increasing", a, b, c)
	}
	wantSince(t, s, 0, []string{"a", "b", "c"}, c)
	wantSince(t, s, a, []string{"b", "c"}, c)
	wantSince(t, s, b, []string{"c"}, c)
	wantSince(t, s, c, []string{}, c)
	wantSince(t, s, c+100, []string{}, c)
}

// testSinceExpired: an entry is not returned once it has expired, or if
// it was appended expired, but it keeps its number.
func testSinceExpired(t *testing.T, s State) {
	exp := time.Now().Add(short)
	x := appendEntry(t, s, "brief", exp)
	y := appendEntry(t, s, "kept", hour())
	z := appendEntry(t, s, "dead", time.Now().Add(-time.Second))
	if !(x < y && y < z) {
		t.Fatalf("sequence numbers %d, %d, %d: want increasing", x, y, z)
	}
	got, last := since(t, s, 0)
	if time.Now().Before(exp) && !slices.Equal(got, []string{"brief", "kept"}) || last != z {
		t.Errorf("Since(0) = %q, last %d; want [brief kept], last %d", got, last, z)
	}
	time.Sleep(time.Until(exp))
	eventually(t, "an expired entry is still returned", func() bool {
		got, _ := since(t, s, 0)
		return slices.Equal(got, []string{"kept"})
	})
	wantSince(t, s, 0, []string{"kept"}, z)
	wantSince(t, s, y, []string{}, z)
	if w := appendEntry(t, s, "next", hour()); w <= z {
		t.Errorf("Append after expiries returned %d, want more than %d", w, z)
	}
}

// testSinceDuringAppend: a reader that follows the log with Since while
// writers append never misses or repeats an entry.
func testSinceDuringAppend(t *testing.T, s State) {
	const writers, each = 4, 50
	var wg sync.WaitGroup
	defer wg.Wait() // no writer outlives the case, even when it fails
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, err := s.Append(t.Context(), fmt.Appendf(nil, "%d/%d", w, i), hour()); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var seen []string
	var after int64
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true // one more read, after the last Append
		default:
		}
		got, last := since(t, s, after)
		if last < after {
			t.Fatalf("Since(%d): last %d went back", after, last)
		}
		seen = append(seen, got...)
		after = last
	}
	if t.Failed() {
		return
	}
	if len(seen) != writers*each {
		t.Errorf("the reader saw %d entries, want %d", len(seen), writers*each)
	}
	next := make([]int, writers) // each writer's entries arrive in its order
	for _, e := range seen {
		var w, i int
		if _, err := fmt.Sscanf(e, "%d/%d", &w, &i); err != nil || w < 0 || w >= writers {
			t.Fatalf("unexpected entry %q", e)
		}
		if i != next[w] {
			t.Fatalf("writer %d: saw entry %d, want %d (missed or repeated)", w, i, next[w])
		}
		next[w]++
	}
}

// testLostData: a store that lost its data has no value and no entry,
// and its log goes on above every number given out before: a reader
// following it from its last read misses nothing appended since.
func testLostData(t *testing.T, s State, reset func(t *testing.T, s State)) {
	appendEntry(t, s, "a", hour())
	before := appendEntry(t, s, "b", hour())
	set(t, s, "k", []byte("v"), hour())
	reset(t, s)
	if got, _ := since(t, s, before); len(got) != 0 {
		t.Errorf("Since(%d) after the loss = %q, want nothing", before, got)
	}
	if got, _ := since(t, s, 0); len(got) != 0 {
		t.Errorf("Since(0) after the loss = %q, want nothing", got)
	}
	wantMissing(t, s, "k")
	seq := appendEntry(t, s, "c", hour())
	if seq <= before {
		t.Errorf("Append after the loss returned %d, not above %d given out before", seq, before)
	}
	wantSince(t, s, before, []string{"c"}, seq)
	wantSince(t, s, 0, []string{"c"}, seq)
}
