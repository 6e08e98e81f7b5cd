package session

import (
	"bytes"
	"container/heap"
	"encoding/binary"
	"encoding/json"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// decodedCache remembers decoded sessions by the exact authenticated cookie
// value they came from, so that the repeat requests of a session skip the
// decoding, decryption and authentication (about 10 µs and 30 allocations
// for a typical session). Only values that passed authentication are
// stored, and only a byte-identical value finds them: a changed byte is a
// miss and goes through full verification. Expiry is still checked on
// every hit.
//
// The map key is cheap, not unforgeable: the value's length and its last
// 24 bytes (for a sealed value, its GCM tag). An entry holds the whole
// value, and a lookup returns its session only when the request's value
// equals it byte for byte (compared in constant time), so two values with
// the same key can only make each other miss. The lookup reads the time
// its caller read: the cache reads no clock.
//
// It holds at most max entries: when full, expired entries leave first,
// then the entry whose session expires first makes room. It is a pure
// cache, so an eviction costs only a decode at that session's next
// request. It holds tokens, so it lives in memory only.
type decodedCache struct {
	mu  sync.RWMutex
	m   map[cacheKey]*cacheEntry // nil: the cache is off
	h   cacheHeap
	max int
}

// cacheKey is the length of a value and its last bytes.
type cacheKey struct {
	n    int
	tail [24]byte
}

type cacheEntry struct {
	key     cacheKey
	value   string  // the value as the browser sends it, chunks joined
	s       Session // owned by the cache, never handed out
	expires time.Time
	index   int // in the heap
}

// cacheEntries bounds the cache: with sessions of 2 to 4 KB it holds at
// most a few MB.
const cacheEntries = 1024

// newDecodedCache returns a cache of max entries; max ≤ 0 turns it off.
func newDecodedCache(max int) *decodedCache {
	if max <= 0 {
		return &decodedCache{}
	}
	return &decodedCache{m: make(map[cacheKey]*cacheEntry), max: max}
}

// keyOf returns the key of the value made of parts, joined.
func keyOf(parts []string) cacheKey {
	var k cacheKey
	i := len(k.tail)
	for p := len(parts) - 1; p >= 0 && i > 0; p-- {
		part := parts[p]
		m := min(i, len(part))
		i -= m
		copy(k.tail[i:], part[len(part)-m:])
	}
	for _, part := range parts {
		k.n += len(part)
	}
	return k
}

// get returns a copy of the session decoded from the value made of parts,
// joined, if remembered and not expired at now.
func (c *decodedCache) get(parts []string, now time.Time) (*Session, bool) {
	if c.m == nil {
		return nil, false
	}
	k := keyOf(parts)
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || !now.Before(e.expires) || !equalParts(e.value, parts) {
		return nil, false
	}
	return e.s.clone(), true
}

// equalParts reports whether value is the concatenation of parts, in time
// that depends on the lengths only: a request's timing says nothing of how
// much of its value matched a cached one.
func equalParts(value string, parts []string) bool {
	var diff uint64
	off := 0
	for _, p := range parts {
		if len(p) > len(value)-off {
			return false
		}
		diff |= xorWords(value[off:off+len(p)], p)
		off += len(p)
	}
	return off == len(value) && diff == 0
}

// xorWords returns the OR of a[i]^b[i] over len(a) == len(b) bytes, eight
// at a time.
func xorWords(a, b string) uint64 {
	x := unsafe.Slice(unsafe.StringData(a), len(a))
	y := unsafe.Slice(unsafe.StringData(b), len(b))
	var diff uint64
	for len(x) >= 8 {
		diff |= binary.LittleEndian.Uint64(x) ^ binary.LittleEndian.Uint64(y)
		x, y = x[8:], y[8:]
	}
	for i := range x {
		diff |= uint64(x[i] ^ y[i])
	}
	return diff
}

// put remembers a copy of s as decoded from the value made of parts, until
// s.Expires; now is the caller's time. The copy lives in the entry: one
// allocation for both.
func (c *decodedCache) put(parts []string, s *Session, now time.Time) {
	if c.m == nil {
		return
	}
	// One part is kept as it is, a view of the request's Cookie header
	// line (which it then keeps alive): no copy on the path of a first
	// request. Several are joined.
	value := parts[0]
	if len(parts) > 1 {
		value = strings.Join(parts, "")
	}
	e := &cacheEntry{key: keyOf(parts), value: value, expires: s.Expires}
	s.cloneInto(&e.s)
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[e.key]; ok {
		heap.Remove(&c.h, old.index)
		delete(c.m, e.key)
	}
	for len(c.h) > 0 && (len(c.h) >= c.max || !now.Before(c.h[0].expires)) {
		delete(c.m, heap.Pop(&c.h).(*cacheEntry).key)
	}
	c.m[e.key] = e
	heap.Push(&c.h, e)
}

// len returns the number of entries, counting expired ones not yet
// collected.
func (c *decodedCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// cacheHeap orders entries by expiry, soonest first.
type cacheHeap []*cacheEntry

func (h cacheHeap) Len() int           { return len(h) }
func (h cacheHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h cacheHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *cacheHeap) Push(x any) {
	e := x.(*cacheEntry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *cacheHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

// clone returns a copy of s that shares nothing mutable with it.
func (s *Session) clone() *Session {
	cp := new(Session)
	s.cloneInto(cp)
	return cp
}

// cloneInto sets *cp to a copy of s that shares nothing mutable with it.
func (s *Session) cloneInto(cp *Session) {
	*cp = *s
	if s.User.Groups != nil {
		cp.User.Groups = append([]string(nil), s.User.Groups...)
	}
	if s.AMR != nil {
		cp.AMR = append([]string(nil), s.AMR...)
	}
	if s.User.Claims != nil {
		cp.User.Claims = make(map[string]json.RawMessage, len(s.User.Claims))
		for k, v := range s.User.Claims {
			cp.User.Claims[k] = bytes.Clone(v)
		}
	}
}
