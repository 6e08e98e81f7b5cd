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
