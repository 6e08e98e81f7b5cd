// Package sharedmem is an in-memory implementation of the middleware's
// SharedState, for tests: several middleware instances in one process
// share one Store as they would share a Redis database, and a test can
// take it down (every call fails) and bring it back, or count calls. It is
// not public API and has no bound: tests only.
package sharedmem

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"
)

// ErrDown is returned by every method while the store is down.
var ErrDown = errors.New("sharedmem: store down")

// Store is an in-memory SharedState. The zero value is not usable; call New.
type Store struct {
	now func() time.Time

	mu    sync.Mutex
	down  bool
	kv    map[string]item
	log   []logEntry
	seq   int64
	calls int
}

type item struct {
	value   []byte
	expires time.Time
}

type logEntry struct {
	seq     int64
	entry   []byte
	expires time.Time
}

// New returns an empty store that reads the clock with now (time.Now when
// nil).
func New(now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{now: now, kv: make(map[string]item)}
}

// SetDown takes the store down (every call fails with ErrDown) or brings
// it back with its contents.
func (s *Store) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// Reset forgets everything, as a restarted Redis without persistence
// would. As the SharedState contract asks, the log's sequence numbers go
// on above the ones given out before (by a margin, as a store restarting
// from the clock would), never repeating one.
func (s *Store) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kv = make(map[string]item)
	s.log, s.seq = nil, s.seq+1000
}

// Rewind makes the log's last sequence number go back below the ones it
// gave out, as a store restored from an old copy would, keeping entries
// whose numbers are below it.
func (s *Store) Rewind(to int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.log[:0]
	for _, e := range s.log {
		if e.seq <= to {
			kept = append(kept, e)
		}
	}
	s.log, s.seq = kept, to
}

// Calls returns how many calls were made, failed ones included.
func (s *Store) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Keys returns the keys holding a live value.
func (s *Store) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var keys []string
	for k, it := range s.kv {
		if now.Before(it.expires) {
			keys = append(keys, k)
		}
	}
	return keys
}

func (s *Store) enter(ctx context.Context) error {
	s.calls++
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.down {
		return ErrDown
	}
	return nil
}

// ErrKey is returned for a key SharedState does not allow, so that the
// middleware's tests catch a key a Redis store would refuse.
var ErrKey = errors.New("sharedmem: key is not 1 to 200 bytes of printable ASCII without spaces")

// enterKey is enter for a method that takes a key, which it checks.
func (s *Store) enterKey(ctx context.Context, key string) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	if len(key) == 0 || len(key) > 200 {
		return ErrKey
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return ErrKey
		}
	}
	return nil
}

func (s *Store) live(key string) (item, bool) {
	it, ok := s.kv[key]
	if ok && !s.now().Before(it.expires) {
		delete(s.kv, key)
		return item{}, false
	}
	return it, ok
}

func (s *Store) Claim(ctx context.Context, key string, value []byte, expires time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enterKey(ctx, key); err != nil {
		return false, err
	}
	if _, ok := s.live(key); ok {
		return false, nil
	}
	if s.now().Before(expires) {
		s.kv[key] = item{value: bytes.Clone(value), expires: expires}
	}
	return true, nil
}

func (s *Store) Set(ctx context.Context, key string, value []byte, expires time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enterKey(ctx, key); err != nil {
		return err
	}
	if s.now().Before(expires) {
		s.kv[key] = item{value: bytes.Clone(value), expires: expires}
	} else {
		delete(s.kv, key)
	}
	return nil
}

func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enterKey(ctx, key); err != nil {
		return nil, false, err
	}
	it, ok := s.live(key)
	return bytes.Clone(it.value), ok, nil
}

func (s *Store) Release(ctx context.Context, key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enterKey(ctx, key); err != nil {
		return err
	}
	if it, ok := s.live(key); ok && bytes.Equal(it.value, value) {
		delete(s.kv, key)
	}
	return nil
}

func (s *Store) Append(ctx context.Context, entry []byte, expires time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	s.seq++
	s.log = append(s.log, logEntry{seq: s.seq, entry: bytes.Clone(entry), expires: expires})
	return s.seq, nil
}

func (s *Store) Since(ctx context.Context, after int64) ([][]byte, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enter(ctx); err != nil {
		return nil, 0, err
	}
	now := s.now()
	kept := s.log[:0]
	var out [][]byte
	for _, e := range s.log {
		if !now.Before(e.expires) {
			continue
		}
		kept = append(kept, e)
		if e.seq > after {
			out = append(out, bytes.Clone(e.entry))
		}
	}
	s.log = kept
	return out, s.seq, nil
}
