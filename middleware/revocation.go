package middleware

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/portcullis-go/portcullis/internal/bounded"
	"github.com/portcullis-go/portcullis/session"
)

// RevocationStore keeps the list of sessions that ended before their
// cookies expired: local logouts, back-channel logouts and
// [Auth.EndSessions], as the shapes of [session.Revocation].
// [Auth.Require] asks it about every request, so Revoked must be cheap.
//
// Add records r until r.Expires, or returns an error: it must never drop
// an entry, and a store that is full or cannot be reached says so (a
// logout that cannot be recorded answers 503 rather than pretend). It may
// fold entries into broader ones, which end more sessions, never fewer; it
// refuses a malformed r ([session.Revocation.WellFormed]). Revoked reports
// whether any recorded entry matches s ([session.Revocation.Matches]); an
// error is a system failure, and the request is refused. Implementations
// must be safe for concurrent use.
//
// The default keeps the list in memory, which serves one instance (a
// deployment of several needs a shared store). It holds up to 131,072
// accounts and provider sessions; past that bound it still records every
// logout but refuses new sign-ins (503) until entries expire, and only at
// twice the bound does Add fail. See memoryRevocations for the details.
type RevocationStore interface {
	Add(ctx context.Context, r session.Revocation) error
	Revoked(ctx context.Context, s *session.Session) (bool, error)
}

const (
	// maxRevocations is the bound of the in-memory list, counted in keys:
	// accounts and provider sessions named by a "sid" alone.
	maxRevocations = 1 << 17
	// maxSessionRevocations bounds the per-session entries of one account
	// (local logouts and back-channel logouts with a "sid" and a "sub").
	maxSessionRevocations = 8
)

var (
	errRevocationsFull     = errors.New("middleware: revocation list at twice its bound")
	errMalformedRevocation = errors.New("middleware: malformed revocation")
)

// memoryRevocations is the default RevocationStore: one bounded.Map of
// revocation records, keyed by account (provider, subject) or, for a
// back-channel logout that names only a "sid", by provider session
// (provider, sid). A check is a length and at most two lookups under the
// map's read lock, and a scan of at most maxSessionRevocations entries,
// whatever the size of the list. Records are never changed once stored
// (each Add stores a new one), so a reader needs no other lock. Expired
// records leave through the map's heap, never through a scan of the list.
//
// Per account: at most maxSessionRevocations per-session entries. The
// next one folds them all into the account's "every session created
// before T" entry, T the latest of their Before: just after the creation
// of the newest session logged out, or the arrival of the newest logout
// token. Every session they ended stays ended; the cost is over-revocation:
// the account's other sessions created before T end too (a phone signed
// in since the morning ends when the user signs in and out of a laptop a
// ninth time that day), and its user signs in again.
//
// At the bound (maxRevocations keys): fail closed, never drop. Add still
// records every entry; full reports true, and the callback refuses new
// sign-ins with ErrStoreUnavailable (503, reason "revocation_list_full")
// until entries expire (each lives at most a session lifetime). The
// overshoot is bounded because no new session can be created meanwhile:
// each live session can still be logged out once, into its account's
// record. Only at twice the bound (a flood of back-channel logouts with
// new "sid" values, or EndSessions for that many accounts) does Add fail
// with an error for a new key; a logout then answers 503, and the record
// of an account already on the list still takes every entry.
type memoryRevocations struct {
	list  *bounded.Map[revocationKey, *revocationRecord]
	bound int
	now   func() time.Time
}

// revocationKey is (provider, subject, "") for an account and (provider,
// "", sid) for a provider session named by a "sid" alone.
type revocationKey struct{ provider, subject, sid string }

// revocationRecord is what the list knows about one key. It is immutable
// once stored.
type revocationRecord struct {
	// before: every session of the key created before it ended.
	before time.Time
	// sessions are the account's per-session entries, at most
	// maxSessionRevocations, each created after before.
	sessions []sessionEntry
	// expires is the latest Expires of everything folded into the record.
	expires time.Time
}

// sessionEntry is a local logout (id set) or a back-channel logout with
// both a "sid" and a "sub" (sid set: the sessions of that provider session
// and those without a sid).
type sessionEntry struct {
	id, sid         string
	before, expires time.Time
}

func newMemoryRevocations(now func() time.Time) *memoryRevocations {
	return newMemoryRevocationsBound(now, maxRevocations)
}

// newMemoryRevocationsBound returns a list bounded at bound keys, which
// records up to twice as many.
func newMemoryRevocationsBound(now func() time.Time, bound int) *memoryRevocations {
	return &memoryRevocations{list: bounded.New[revocationKey, *revocationRecord](2*bound, bounded.Refuse, now), bound: bound, now: now}
}

func (m *memoryRevocations) Add(ctx context.Context, r session.Revocation) error {
	if !r.WellFormed() {
		return errMalformedRevocation
	}
	now := m.now()
	if !now.Before(r.Expires) {
		return nil // every session it could match has ended anyway
	}
	k := revocationKey{provider: r.Provider, subject: r.Subject}
	if r.Subject == "" {
		k.sid = r.SID
	}
	_, err := m.list.Update(k, func(cur *revocationRecord, _ bool) (*revocationRecord, time.Time, bool) {
		next := cur.with(&r, now)
		return next, next.expires, true
	})
	if errors.Is(err, bounded.ErrFull) {
		return fmt.Errorf("%w (%d keys)", errRevocationsFull, 2*m.bound)
	}
	return err
}

// with returns a new record: cur (nil for none) with r added. The
// per-session entries that expired or that before covers are dropped.
func (cur *revocationRecord) with(r *session.Revocation, now time.Time) *revocationRecord {
	next := &revocationRecord{expires: r.Expires}
	var sessions []sessionEntry
	if cur != nil {
		next.before, sessions = cur.before, cur.sessions
		next.expires = latest(cur.expires, r.Expires)
	}
	var add *sessionEntry
	switch {
	case r.ID != "":
		add = &sessionEntry{id: r.ID, before: r.Before, expires: r.Expires}
	case r.Subject != "" && r.SID != "":
		add = &sessionEntry{sid: r.SID, before: r.Before, expires: r.Expires}
	default: // an account, or a provider session named by a "sid" alone
		next.before = latest(next.before, r.Before)
	}
	next.sessions = make([]sessionEntry, 0, len(sessions)+1)
	for _, e := range sessions {
		if add != nil && e.id == add.id && e.sid == add.sid {
			add.before, add.expires = latest(add.before, e.before), latest(add.expires, e.expires)
			continue
		}
		next.keep(e, now)
	}
	if add != nil {
		next.keep(*add, now)
	}
	if len(next.sessions) > maxSessionRevocations {
		for _, e := range next.sessions {
			next.before = latest(next.before, e.before)
		}
		next.sessions = nil
	}
	return next
}

// keep appends e unless it has expired or next.before already ends every
// session e does.
func (next *revocationRecord) keep(e sessionEntry, now time.Time) {
	if now.Before(e.expires) && next.before.Before(e.before) {
		next.sessions = append(next.sessions, e)
	}
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (m *memoryRevocations) Revoked(ctx context.Context, s *session.Session) (bool, error) {
	if m.list.Len() == 0 {
		return false, nil // the usual case, without reading the clock
	}
	return m.revokedAt(ctx, s, m.now())
}

// revokedAt is Revoked at the time now, the request's one clock reading
// (Auth.session passes it): entries that expired by now are not seen.
func (m *memoryRevocations) revokedAt(_ context.Context, s *session.Session, now time.Time) (bool, error) {
	if m.list.Len() == 0 {
		return false, nil
	}
	if rec, ok := m.list.GetAt(revocationKey{provider: s.User.Provider, subject: s.User.Subject}, now); ok && rec.ends(s) {
		return true, nil
	}
	if s.SID != "" {
		if rec, ok := m.list.GetAt(revocationKey{provider: s.User.Provider, sid: s.SID}, now); ok && s.Created.Before(rec.before) {
			return true, nil
		}
	}
	return false, nil
}

// ends reports whether the record of s's account ends s.
func (rec *revocationRecord) ends(s *session.Session) bool {
	if s.Created.Before(rec.before) {
		return true
	}
	for i := range rec.sessions {
		e := &rec.sessions[i]
		var names bool
		if e.id != "" {
			names = e.id == s.ID
		} else {
			names = e.sid == s.SID || s.SID == ""
		}
		if names && s.Created.Before(e.before) {
			return true
		}
	}
	return false
}

// full reports whether the list holds its bound of live keys or more: new
// sign-ins are then refused (fail closed) while logouts are still
// recorded. bounded.Map.Full collects the expired entries first, so the
// list leaves this state as soon as enough entries expire, even with no
// other write.
func (m *memoryRevocations) full() bool {
	return m.list.Full() || m.list.Len() >= m.bound
}

// sessionRevocation is the revocation of one session: a local logout.
func sessionRevocation(s *session.Session) session.Revocation {
	return session.Revocation{
		ID: s.ID, Provider: s.User.Provider, Subject: s.User.Subject,
		Before: s.Created.Add(time.Nanosecond), Expires: s.Expires,
	}
}

// endedRevocation is the revocation of the sessions a back-channel
// logout token names (sub, sid or both) or that EndSessions ends (sub),
// all created before now and thus over by now+lifetime.
func endedRevocation(provider, subject, sid string, now time.Time, lifetime time.Duration) session.Revocation {
	return session.Revocation{Provider: provider, Subject: subject, SID: sid, Before: now, Expires: now.Add(lifetime)}
}
