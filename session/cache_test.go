package session

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// key is a value of one part, long enough that values differ in their
// last bytes.
func key(v string) []string { return []string{strings.Repeat("v", 30) + v} }

func TestDecodedCacheBounded(t *testing.T) {
	c := newDecodedCache(8)
	now := time.Now()
	s := New(User{Subject: "a", Groups: []string{"g"}}, Tokens{}, now, time.Hour)
	for i := 0; i < 100; i++ {
		c.put(key(fmt.Sprint(i)), s.clone(), now)
		if n := c.len(); n > 8 {
			t.Fatalf("cache grew to %d entries, bound 8", n)
		}
	}
	if _, ok := c.get(key("99"), now); !ok {
		t.Fatal("the newest entry was evicted")
	}
	// get returns a copy: changing it does not change the cache.
	got, _ := c.get(key("99"), now)
	got.User.Subject = "changed"
	got.User.Groups[0] = "changed"
	again, _ := c.get(key("99"), now)
	if again.User.Subject != "a" || again.User.Groups[0] != "g" {
		t.Fatalf("cached session modified through a returned copy: %+v", again.User)
	}
	off := newDecodedCache(0)
	off.put(key("x"), s, now)
	if _, ok := off.get(key("x"), now); ok {
		t.Fatal("a cache of size 0 stored an entry")
	}
}

// TestDecodedCacheEvictsSoonestExpiring: a full cache makes room by
// dropping the session that expires first, never an arbitrary one (which
// could be the session used on every request).
func TestDecodedCacheEvictsSoonestExpiring(t *testing.T) {
	now := time.Now()
	for round := range 20 {
		c := newDecodedCache(8)
		soonest := round % 8
		for i := range 8 {
			life := time.Duration(2+i) * time.Hour
			if i == soonest {
				life = time.Hour
			}
			c.put(key(fmt.Sprint(i)), New(User{Subject: fmt.Sprint(i)}, Tokens{}, now, life), now)
		}
		c.put(key("new"), New(User{Subject: "new"}, Tokens{}, now, 10*time.Hour), now)
		for i := range 8 {
			if _, ok := c.get(key(fmt.Sprint(i)), now); ok == (i == soonest) {
				t.Fatalf("round %d: entry %d present %v; only the soonest-expiring (%d) should be gone", round, i, ok, soonest)
			}
		}
		if _, ok := c.get(key("new"), now); !ok {
			t.Fatalf("round %d: the new entry is missing", round)
		}
	}
}

// TestDecodedCacheEntriesExpire: an entry leaves with its session's
// Expires; the cache does not hold (and serve) sessions past their end.
func TestDecodedCacheEntriesExpire(t *testing.T) {
	now := time.Now()
	c := newDecodedCache(8)
	c.put(key("short"), New(User{Subject: "a"}, Tokens{}, now, time.Minute), now)
	c.put(key("long"), New(User{Subject: "b"}, Tokens{}, now, time.Hour), now)
	now = now.Add(time.Minute)
	if _, ok := c.get(key("short"), now); ok {
		t.Fatal("a session was served from the cache at its Expires")
	}
	if _, ok := c.get(key("long"), now); !ok {
		t.Fatal("a live session is missing")
	}
	c.put(key("other"), New(User{Subject: "c"}, Tokens{}, now, time.Hour), now)
	if n := c.len(); n != 2 {
		t.Fatalf("%d entries after the next write, want 2 (the expired one collected)", n)
	}
}

// TestCacheStillChecksExpiry loads a value once (cached), then again after
// its Expires: the cached copy must not outlive the session.
func TestCacheStillChecksExpiry(t *testing.T) {
	c := newTestStore(t, CookieConfig{})
	s := New(User{Provider: "p", Subject: "a"}, Tokens{}, time.Now(), time.Hour)
	r := requestWith(live(save(t, c, s))...)
	if _, err := c.Load(r); err != nil {
		t.Fatal(err)
	}
	if n := c.cache.len(); n != 1 {
		t.Fatalf("cache holds %d entries after one load, want 1", n)
	}
	c.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if got, err := c.Load(r); err != ErrNoSession {
		t.Fatalf("expired cached session loaded: %+v, %v", got, err)
	}
}

// TestEqualParts: a value equals its parts joined at any split, and
// differs from any value with one byte changed, missing or added.
func TestEqualParts(t *testing.T) {
	v := strings.Repeat("0123456789abcdef", 20) + "xyz"
	for _, split := range [][]int{{}, {1}, {7}, {8}, {100, 101}, {len(v) - 1}} {
		var parts []string
		last := 0
		for _, at := range split {
			parts, last = append(parts, v[last:at]), at
		}
		parts = append(parts, v[last:])
		if !equalParts(v, parts) {
			t.Fatalf("split at %v: not equal", split)
		}
	}
	for i := range len(v) {
		b := []byte(v)
		b[i] ^= 0x20
		if equalParts(v, []string{string(b)}) {
			t.Fatalf("byte %d changed: equal", i)
		}
	}
	for _, other := range []string{v[:len(v)-1], v + "x", "", v[1:]} {
		if equalParts(v, []string{other}) || equalParts(v, []string{v, other[:0], "x"}) {
			t.Fatalf("%d bytes against %d: equal", len(other), len(v))
		}
	}
}
