package bounded

import (
	"container/heap"
	"errors"
	"sync"
	"time"
)

// Policy says what [Map.Put] does when the map holds Max live entries.
type Policy int

const (
	// EvictSoonest evicts the unpinned entry that expires first; when
	// every entry is pinned the insert fails with ErrFull.
	EvictSoonest Policy = iota
	// Refuse fails the insert with ErrFull.
	Refuse
)

// ErrFull is returned when an insert does not fit: the map holds Max live
// entries and its policy (or their pins) allows no eviction.
var ErrFull = errors.New("bounded: map is full")

// Map is a concurrency-safe map from K to V whose entries expire, holding at
// most Max live entries. Reads never see an expired entry. The zero value
// is not usable; call [New].
type Map[K comparable, V any] struct {
	mu      sync.RWMutex
	m       map[K]*entry[K, V]
	h       entryHeap[K, V]
	max     int
	policy  Policy
	now     func() time.Time
	evicted uint64
	// lastExpire is the time of the last write's collection.
	lastExpire time.Time
}

type entry[K comparable, V any] struct {
	key     K
	val     V
	expires time.Time
	pinned  bool
	index   int // in the heap
}

// New returns a Map holding at most max entries (max ≥ 1), with the given
// policy when full, reading the time from now (time.Now if nil).
func New[K comparable, V any](max int, policy Policy, now func() time.Time) *Map[K, V] {
	if max < 1 {
		panic("bounded: New with max < 1")
	}
	if now == nil {
		now = time.Now
	}
	return &Map[K, V]{m: make(map[K]*entry[K, V]), max: max, policy: policy, now: now}
}

// Get returns the value of k if it has a live entry.
func (m *Map[K, V]) Get(k K) (V, bool) {
	return m.GetAt(k, m.now())
}

// GetAt is Get at the time now, read by the caller (the request's one
// clock reading), instead of the map's clock.
func (m *Map[K, V]) GetAt(k K, now time.Time) (V, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if e, ok := m.m[k]; ok && now.Before(e.expires) {
		return e.val, true
	}
	var zero V
	return zero, false
}

// Put sets k to v until expires, replacing any entry of k (and its pin).
// evicted reports that a live entry of another key was evicted to make
// room (EvictSoonest only); err is ErrFull when nothing could be.
func (m *Map[K, V]) Put(k K, v V, expires time.Time) (evicted bool, err error) {
	return m.put(k, v, expires, false)
}

// PutPinned is Put for an entry that is never evicted to make room for
// another: it leaves only by expiring, by Delete or by a later Put.
func (m *Map[K, V]) PutPinned(k K, v V, expires time.Time) (evicted bool, err error) {
	return m.put(k, v, expires, true)
}

func (m *Map[K, V]) put(k K, v V, expires time.Time, pinned bool) (bool, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.expire(now)
	if e, ok := m.m[k]; ok {
		e.val, e.expires, e.pinned = v, expires, pinned
		heap.Fix(&m.h, e.index)
		return false, nil
	}
	evicted, err := m.makeRoom()
	if err != nil {
		return false, err
	}
	m.insert(k, v, expires, pinned)
	return evicted, nil
}

// Add inserts k with v until expires only if k has no live entry: a
// check-and-insert in one step. added is false when k was already there.
func (m *Map[K, V]) Add(k K, v V, expires time.Time) (added bool, err error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.expire(now)
	if _, ok := m.m[k]; ok {
		return false, nil
	}
	if _, err := m.makeRoom(); err != nil {
		return false, err
	}
	m.insert(k, v, expires, false)
	return true, nil
}

// Update replaces k's entry with what f returns for its current value (ok
// is false when k has no live entry): the new value and expiry, or keep
// false to delete the entry. f runs under the map's lock and must not call
// the map. A new entry that does not fit returns ErrFull and leaves the map
// unchanged.
func (m *Map[K, V]) Update(k K, f func(v V, ok bool) (nv V, expires time.Time, keep bool)) (evicted bool, err error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.expire(now)
	e, ok := m.m[k]
	var cur V
	if ok {
		cur = e.val
	}
	nv, exp, keep := f(cur, ok)
	switch {
	case !keep && ok:
		m.remove(e)
	case keep && ok:
		e.val, e.expires = nv, exp
		heap.Fix(&m.h, e.index)
	case keep:
		evicted, err := m.makeRoom()
		if err != nil {
			return false, err
		}
		m.insert(k, nv, exp, false)
		return evicted, nil
	}
	return false, nil
}

// Delete removes k's entry, if any.
func (m *Map[K, V]) Delete(k K) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.m[k]; ok {
		m.remove(e)
	}
}

// Len returns the number of entries, counting expired ones not yet
// collected (each write collects a few).
func (m *Map[K, V]) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.m)
}

// Full reports whether an insert of a new key would need an eviction: the
// map holds Max live entries. Expired entries are collected first, only as
// many as needed to fall below Max.
func (m *Map[K, V]) Full() bool {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.expire(now)
	for len(m.m) >= m.max && len(m.h) > 0 && !now.Before(m.h[0].expires) {
		m.remove(m.h[0])
	}
	return len(m.m) >= m.max
}

// Evictions returns how many live entries were evicted so far.
func (m *Map[K, V]) Evictions() uint64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.evicted
}

// expireBatch bounds the expired entries one write collects: entries made
// together expire together, and collecting a hundred thousand of them at
// once would hold the lock every reader waits on for a noticeable time.
const expireBatch = 64

// expire removes up to expireBatch expired entries, soonest first; m.mu
// is held. Each removal is O(log n), and only expired entries are visited.
func (m *Map[K, V]) expire(now time.Time) {
	for i := 0; i < expireBatch && len(m.h) > 0 && !now.Before(m.h[0].expires); i++ {
		m.remove(m.h[0])
	}
	m.lastExpire = now
}

// makeRoom frees a slot when the map is full; m.mu is held. It first
// removes expired entries, one at a time, only as many as it needs.
func (m *Map[K, V]) makeRoom() (bool, error) {
	for len(m.m) >= m.max && len(m.h) > 0 && !m.lastExpire.Before(m.h[0].expires) {
		m.remove(m.h[0])
	}
	if len(m.m) < m.max {
		return false, nil
	}
	if m.policy == Refuse {
		return false, ErrFull
	}
	// The heap's root is the soonest to expire; when it is pinned, look
	// for the soonest unpinned entry. A map full of pinned entries is the
	// rare case, and the scan is bounded by max.
	var victim *entry[K, V]
	if !m.h[0].pinned {
		victim = m.h[0]
	} else {
		for _, e := range m.h {
			if !e.pinned && (victim == nil || e.expires.Before(victim.expires)) {
				victim = e
			}
		}
	}
	if victim == nil {
		return false, ErrFull
	}
	m.remove(victim)
	m.evicted++
	return true, nil
}

func (m *Map[K, V]) insert(k K, v V, expires time.Time, pinned bool) {
	e := &entry[K, V]{key: k, val: v, expires: expires, pinned: pinned}
	m.m[k] = e
	heap.Push(&m.h, e)
}

func (m *Map[K, V]) remove(e *entry[K, V]) {
	heap.Remove(&m.h, e.index)
	delete(m.m, e.key)
}

// entryHeap orders entries by expiry; it implements heap.Interface.
type entryHeap[K comparable, V any] []*entry[K, V]

func (h entryHeap[K, V]) Len() int           { return len(h) }
func (h entryHeap[K, V]) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h entryHeap[K, V]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *entryHeap[K, V]) Push(x any) {
	e := x.(*entry[K, V])
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *entryHeap[K, V]) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
