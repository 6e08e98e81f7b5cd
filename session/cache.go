package session

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/portcullis-go/portcullis/internal/bounded"
)

// decodedCache remembers decoded sessions by the exact authenticated cookie
// value they came from, so that the repeat requests of a session skip the
// decryption, MAC check and decoding (about 10 µs and 30 allocations for a
// typical session). Only values that passed authentication are stored, and
// only an identical value finds them: a changed byte is a miss and goes
// through full verification. Expiry is still checked on every hit.
//
// It is a bounded.Map with policy EvictSoonest, bounded at max entries:
// when full, the entry whose session expires first makes room. It is a
// pure cache, so an eviction costs only a decode at that session's next
// request. An entry leaves when its session's Expires passes (by the wall
// clock; the store still checks Expires with its own clock on every hit).
// It holds tokens, so it lives in memory only.
type decodedCache struct {
	m *bounded.Map[string, *Session] // nil: the cache is off
}

// cacheEntries bounds the cache: with sessions of 2 to 4 KB it holds at
// most a few MB.
const cacheEntries = 1024

// newDecodedCache returns a cache of max entries; max ≤ 0 turns it off.
func newDecodedCache(max int) *decodedCache {
	return newDecodedCacheAt(max, time.Now)
}

func newDecodedCacheAt(max int, now func() time.Time) *decodedCache {
	if max <= 0 {
		return &decodedCache{}
	}
	return &decodedCache{m: bounded.New[string, *Session](max, bounded.EvictSoonest, now)}
}

// get returns a copy of the session decoded from value, if remembered.
func (c *decodedCache) get(value string) (*Session, bool) {
	if c.m == nil {
		return nil, false
	}
	s, ok := c.m.Get(value)
	if !ok {
		return nil, false
	}
	return s.clone(), true
}

// put remembers s (which the cache then owns) as decoded from value, until
// s.Expires.
func (c *decodedCache) put(value string, s *Session) {
	if c.m == nil {
		return
	}
	// An error means nothing could be evicted, which EvictSoonest without
	// pins never reports; the value is then simply not cached.
	c.m.Add(value, s, s.Expires)
}

// len returns the number of entries, counting expired ones not yet
// collected.
func (c *decodedCache) len() int {
	if c.m == nil {
		return 0
	}
	return c.m.Len()
}

// clone returns a copy of s that shares nothing mutable with it.
func (s *Session) clone() *Session {
	cp := *s
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
	return &cp
}
