package bounded

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newClock() *clock { return &clock{t: time.Unix(1_700_000_000, 0)} }

func TestMapGetNeverSeesExpired(t *testing.T) {
	c := newClock()
	m := New[string, int](4, EvictSoonest, c.now)
	m.Put("a", 1, c.t.Add(time.Second))
	if v, ok := m.Get("a"); !ok || v != 1 {
		t.Fatalf("Get = %v, %v; want 1, true", v, ok)
	}
	c.advance(time.Second)
	if _, ok := m.Get("a"); ok {
		t.Fatal("Get returned an entry at its expiry")
	}
	m.Put("b", 2, c.t.Add(time.Second))
	if n := m.Len(); n != 1 {
		t.Fatalf("Len = %d after a write past a's expiry; want 1 (a collected)", n)
	}
}

func TestMapEvictSoonest(t *testing.T) {
	c := newClock()
	m := New[string, int](3, EvictSoonest, c.now)
	m.Put("late", 1, c.t.Add(3*time.Minute))
	m.Put("soon", 2, c.t.Add(1*time.Minute))
	m.Put("mid", 3, c.t.Add(2*time.Minute))
	evicted, err := m.Put("new", 4, c.t.Add(time.Hour))
	if err != nil || !evicted {
		t.Fatalf("Put when full = %v, %v; want an eviction", evicted, err)
	}
	if _, ok := m.Get("soon"); ok {
		t.Error("the soonest-expiring entry survived")
	}
	for _, k := range []string{"late", "mid", "new"} {
		if _, ok := m.Get(k); !ok {
			t.Errorf("%s was evicted", k)
		}
	}
	if m.Evictions() != 1 {
		t.Errorf("Evictions = %d, want 1", m.Evictions())
	}
}

func TestMapPinnedNeverEvicted(t *testing.T) {
	c := newClock()
	m := New[string, int](2, EvictSoonest, c.now)
	m.PutPinned("keep", 1, c.t.Add(time.Minute)) // soonest, but pinned
	m.Put("grace", 2, c.t.Add(time.Hour))
	if _, err := m.Put("x", 3, c.t.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Get("keep"); !ok {
		t.Fatal("a pinned entry was evicted")
	}
	if _, ok := m.Get("grace"); ok {
		t.Fatal("the unpinned entry should have made room")
	}
	m.PutPinned("x", 3, c.t.Add(time.Hour))
	if _, err := m.Put("y", 4, c.t.Add(time.Hour)); !errors.Is(err, ErrFull) {
		t.Fatalf("Put into a map of pinned entries = %v, want ErrFull", err)
	}
	c.advance(time.Minute)
	if _, err := m.Put("y", 4, c.t.Add(time.Hour)); err != nil {
		t.Fatalf("Put after a pinned entry expired = %v", err)
	}
}

func TestMapRefuse(t *testing.T) {
	c := newClock()
	m := New[int, bool](2, Refuse, c.now)
	for i := range 2 {
		if added, err := m.Add(i, true, c.t.Add(time.Minute)); !added || err != nil {
			t.Fatalf("Add(%d) = %v, %v", i, added, err)
		}
	}
	if added, err := m.Add(0, true, c.t.Add(time.Minute)); added || err != nil {
		t.Fatalf("Add of a live key = %v, %v; want false, nil", added, err)
	}
	if added, err := m.Add(9, true, c.t.Add(time.Minute)); added || !errors.Is(err, ErrFull) {
		t.Fatalf("Add when full = %v, %v; want ErrFull", added, err)
	}
	if !m.Full() {
		t.Error("Full = false")
	}
	if _, ok := m.Get(0); !ok {
		t.Error("Refuse evicted an entry")
	}
	c.advance(time.Minute)
	if added, err := m.Add(9, true, c.t.Add(time.Minute)); !added || err != nil {
		t.Fatalf("Add after expiry = %v, %v", added, err)
	}
}

func TestMapUpdate(t *testing.T) {
	c := newClock()
	m := New[string, int](1, Refuse, c.now)
	inc := func(v int, ok bool) (int, time.Time, bool) { return v + 1, c.t.Add(time.Minute), true }
	m.Update("a", inc)
	m.Update("a", inc)
	if v, _ := m.Get("a"); v != 2 {
		t.Fatalf("after two increments a = %d", v)
	}
	if _, err := m.Update("b", inc); !errors.Is(err, ErrFull) {
		t.Fatalf("Update inserting into a full map = %v", err)
	}
	m.Update("a", func(int, bool) (int, time.Time, bool) { return 0, time.Time{}, false })
	if m.Len() != 0 {
		t.Fatal("Update with keep=false did not delete")
	}
}

// TestMapExpiryOrder checks the heap against many entries with distinct
// expiries: after advancing the clock, exactly the expired ones are gone.
func TestMapExpiryOrder(t *testing.T) {
	c := newClock()
	m := New[string, int](1000, Refuse, c.now)
	for i := range 1000 {
		m.Put(fmt.Sprint(i), i, c.t.Add(time.Duration((i*7919)%1000+1)*time.Second))
	}
	m.Delete("500")
	c.advance(500 * time.Second)
	m.Put("probe", 0, c.t.Add(time.Hour))
	live := 0
	for i := range 1000 {
		exp := time.Duration((i*7919)%1000+1) * time.Second
		_, ok := m.Get(fmt.Sprint(i))
		want := exp > 500*time.Second && i != 500
		if ok != want {
			t.Fatalf("entry %d (expires +%v): present %v, want %v", i, exp, ok, want)
		}
		if ok {
			live++
		}
	}
	if m.Len() < live+1 || m.Len() > live+1+(1000-live) {
		t.Fatalf("Len = %d with %d live entries + probe", m.Len(), live)
	}
}

// TestMapCollectsInBatches: a write collects at most expireBatch expired
// entries (a generation of entries expiring together never stalls readers
// for one long pass), a full map collects just what it needs, and reads
// never see what is left.
func TestMapCollectsInBatches(t *testing.T) {
	c := newClock()
	m := New[int, int](1000, Refuse, c.now)
	for i := range 1000 {
		m.Put(i, i, c.t.Add(time.Minute))
	}
	c.advance(time.Minute)
	if m.Full() {
		t.Fatal("a map of expired entries reports full")
	}
	before := m.Len()
	if before < 1000-expireBatch-1 {
		t.Fatalf("Full collected %d entries, more than a batch and the one it needed", 1000-before)
	}
	m.Put(-1, 0, c.t.Add(time.Hour))
	if n := m.Len(); n < before-expireBatch {
		t.Fatalf("one write collected %d entries, more than %d", 1000-n, expireBatch)
	}
	for i := range 1000 {
		if _, ok := m.Get(i); ok {
			t.Fatalf("expired entry %d still readable", i)
		}
	}
	for range 1000 / expireBatch {
		m.Put(-1, 0, c.t.Add(time.Hour))
	}
	if m.Len() != 1 {
		t.Fatalf("Len = %d after enough writes, want 1", m.Len())
	}
}
