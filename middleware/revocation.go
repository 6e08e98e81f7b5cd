package middleware

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/portcullis-go/portcullis/session"
)

// RevocationStore keeps the list of sessions that ended before their
// cookies expired: local logouts, back-channel logouts and
// [Auth.EndSessions]. [Auth.Require] asks it about every request, so
// Revoked must be cheap.
//
// Add records r until r.Expires. Revoked reports whether any recorded
// entry matches s (see session.Revocation.Matches); an error is a system
// failure, and the request is refused. Implementations must be safe for
// concurrent use. The default keeps the list in memory, which serves one
// instance; a deployment of several instances needs a shared store.
type RevocationStore interface {
	Add(ctx context.Context, r session.Revocation) error
	Revoked(ctx context.Context, s *session.Session) (bool, error)
}

// maxRevocations bounds the in-memory list. Past it, Add fails and the
// logout that needed it still clears the browser's cookies.
const maxRevocations = 1 << 20

var errRevocationsFull = errors.New("middleware: revocation list full")

// memoryRevocations is the default RevocationStore: three maps, so a check
// is three lookups under a read lock.
type memoryRevocations struct {
	mu      sync.RWMutex
	ids     map[string]time.Time        // session ID → expires
	sids    map[[2]string]time.Time     // (provider, sid) → expires
	subs    map[[2]string]subRevocation // (provider, sub) → latest
	n       int
	now     func() time.Time
	lastGC  time.Time
	gcEvery time.Duration
}

type subRevocation struct {
	before, expires time.Time
}

func newMemoryRevocations(now func() time.Time) *memoryRevocations {
	return &memoryRevocations{
		ids:     map[string]time.Time{},
		sids:    map[[2]string]time.Time{},
		subs:    map[[2]string]subRevocation{},
		now:     now,
		gcEvery: time.Minute,
	}
}

func (m *memoryRevocations) Add(ctx context.Context, r session.Revocation) error {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if now.Sub(m.lastGC) > m.gcEvery {
		m.gc(now)
	}
	if m.n >= maxRevocations {
		m.gc(now)
		if m.n >= maxRevocations {
			return errRevocationsFull
		}
	}
	switch {
	case r.ID != "":
		if _, ok := m.ids[r.ID]; !ok {
			m.n++
		}
		m.ids[r.ID] = latest(m.ids[r.ID], r.Expires)
	case r.SID != "":
		k := [2]string{r.Provider, r.SID}
		if _, ok := m.sids[k]; !ok {
			m.n++
		}
		m.sids[k] = latest(m.sids[k], r.Expires)
	case r.Subject != "":
		k := [2]string{r.Provider, r.Subject}
		old, ok := m.subs[k]
		if !ok {
			m.n++
		}
		if r.Before.After(old.before) {
			old.before = r.Before
		}
		old.expires = latest(old.expires, r.Expires)
		m.subs[k] = old
	default:
		return errors.New("middleware: empty revocation")
	}
	return nil
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (m *memoryRevocations) Revoked(ctx context.Context, s *session.Session) (bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.n == 0 {
		return false, nil
	}
	if _, ok := m.ids[s.ID]; ok {
		return true, nil
	}
	if s.SID != "" {
		if _, ok := m.sids[[2]string{s.User.Provider, s.SID}]; ok {
			return true, nil
		}
	}
	if e, ok := m.subs[[2]string{s.User.Provider, s.User.Subject}]; ok && s.Created.Before(e.before) {
		return true, nil
	}
	return false, nil
}

// gc drops expired entries; m.mu is held.
func (m *memoryRevocations) gc(now time.Time) {
	m.lastGC = now
	for k, exp := range m.ids {
		if now.After(exp) {
			delete(m.ids, k)
			m.n--
		}
	}
	for k, exp := range m.sids {
		if now.After(exp) {
			delete(m.sids, k)
			m.n--
		}
	}
	for k, e := range m.subs {
		if now.After(e.expires) {
			delete(m.subs, k)
			m.n--
		}
	}
}
