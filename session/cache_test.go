package session

import (
	"fmt"
	"testing"
	"time"
)

func TestDecodedCacheBounded(t *testing.T) {
	c := newDecodedCache(8)
	s := New(User{Subject: "a", Groups: []string{"g"}}, Tokens{}, time.Now(), time.Hour)
	for i := 0; i < 100; i++ {
		c.put(fmt.Sprint(i), s.clone())
		if len(c.m) > 8 {
			t.Fatalf("cache grew to %d entries, bound 8", len(c.m))
		}
	}
	if _, ok := c.get("99"); !ok {
		t.Fatal("the newest entry was evicted")
	}
	// get returns a copy: changing it does not change the cache.
	got, _ := c.get("99")
	got.User.Subject = "changed"
	got.User.Groups[0] = "changed"
	again, _ := c.get("99")
	if again.User.Subject != "a" || again.User.Groups[0] != "g" {
		t.Fatalf("cached session modified through a returned copy: %+v", again.User)
	}
	off := newDecodedCache(0)
	off.put("x", s)
	if _, ok := off.get("x"); ok {
		t.Fatal("a cache of size 0 stored an entry")
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
	if len(c.cache.m) != 1 {
		t.Fatalf("cache holds %d entries after one load, want 1", len(c.cache.m))
	}
	c.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if got, err := c.Load(r); err != ErrNoSession {
		t.Fatalf("expired cached session loaded: %+v, %v", got, err)
	}
}
