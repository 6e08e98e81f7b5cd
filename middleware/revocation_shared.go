package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/portcullis-go/portcullis/internal/bounded"
	"github.com/portcullis-go/portcullis/session"
)

// sharedRevocations is the revocation list of an application with several
// instances (Config.Shared without Config.Revocations): the entries live
// in the shared log, and each instance mirrors them in a memoryRevocations,
// so that Revoked answers from memory.
//
//   - Add appends the entry to the shared log first, then to the mirror: a
//     logout the log could not record fails (503) and is not pretended;
//   - Revoked re-reads the log when the mirror is older than staleness
//     (one Since call for the entries after the last sequence number it
//     read: nothing to transfer when nothing changed), then answers from
//     the mirror. Concurrent requests that find it stale share one read.
//     When the log cannot be read, Revoked fails and the request is refused
//     (503): an instance never answers from a copy it could not bring up to
//     date. A logout on one instance therefore reaches the others within
//     staleness (Config.SharedStaleness, one second by default);
//   - a log that lost its entries (a Redis restarted without persistence)
//     reports a last sequence number below the one read: the mirror then
//     reads the whole log again, and keeps what it had (folding entries in
//     ends more sessions, never fewer), so the logouts an instance has seen
//     stay enforced by it;
//   - the mirror has the memory list's bounds: past maxRevocations entries
//     it refuses new sign-ins, and at twice the bound a read that cannot
//     be folded in fails, so requests are refused rather than a logout
//     forgotten.
//
// Entries are JSON: a revocation names a provider, a subject, a provider
// session id or a session ID, none of them a credential (a session ID
// alone signs nobody in).
type sharedRevocations struct {
	sh        SharedState
	mirror    *memoryRevocations
	staleness time.Duration
	now       func() time.Time

	flight bounded.Group[struct{}, struct{}]

	// seq is the last sequence number folded into the mirror; only sync
	// touches it, and one sync runs at a time (the flight).
	seq int64
	// synced is when the mirror was last brought up to date (nil: never),
	// read by every request without a lock.
	synced atomic.Pointer[time.Time]
}

func newSharedRevocations(sh SharedState, staleness time.Duration, now func() time.Time) *sharedRevocations {
	return &sharedRevocations{sh: sh, mirror: newMemoryRevocations(now), staleness: staleness, now: now}
}

// revocationEntry is the shared log's encoding of a session.Revocation.
type revocationEntry struct {
	V        int       `json:"v"`
	ID       string    `json:"id,omitempty"`
	Provider string    `json:"p"`
	SID      string    `json:"sid,omitempty"`
	Subject  string    `json:"sub,omitempty"`
	Before   time.Time `json:"before"`
	Expires  time.Time `json:"exp"`
}

const revocationEntryVersion = 1

func (sr *sharedRevocations) Add(ctx context.Context, r session.Revocation) error {
	if !r.WellFormed() {
		return errMalformedRevocation
	}
	if !sr.now().Before(r.Expires) {
		return nil
	}
	entry, err := json.Marshal(revocationEntry{
		V: revocationEntryVersion, ID: r.ID, Provider: r.Provider, SID: r.SID,
		Subject: r.Subject, Before: r.Before, Expires: r.Expires,
	})
	if err != nil {
		return err
	}
	if _, err := sr.sh.Append(ctx, entry, r.Expires); err != nil {
		return fmt.Errorf("middleware: shared revocation list: %w", err)
	}
	// The mirror takes it at once, so that this instance refuses the
	// session from the next request on; the others read it from the log.
	return sr.mirror.Add(ctx, r)
}

func (sr *sharedRevocations) Revoked(ctx context.Context, s *session.Session) (bool, error) {
	now := sr.now()
	if synced := sr.synced.Load(); synced == nil || now.Sub(*synced) >= sr.staleness || now.Before(*synced) {
		if _, err, _ := sr.flight.Do(ctx, struct{}{}, sr.sync); err != nil {
			return false, err
		}
	}
	return sr.mirror.Revoked(ctx, s)
}

// full reports whether the mirror is over its bound: new sign-ins are then
// refused (see memoryRevocations.full).
func (sr *sharedRevocations) full() bool { return sr.mirror.full() }

// errRevocationEntry: the shared log holds an entry this version cannot
// read, a logout it cannot honour: requests are refused (503) until the
// entry expires or is removed, rather than the logout ignored. Versions
// of portcullis that share a log must write entries the others read.
var errRevocationEntry = errors.New("middleware: shared revocation list: unreadable entry")

// sync folds the log entries written since the last read into the mirror.
func (sr *sharedRevocations) sync(ctx context.Context) (struct{}, error) {
	start := sr.now()
	after := sr.seq
	entries, last, err := sr.sh.Since(ctx, after)
	if err == nil && last < after {
		// The log lost its entries: read it all again.
		entries, last, err = sr.sh.Since(ctx, 0)
	}
	if err != nil {
		return struct{}{}, fmt.Errorf("middleware: shared revocation list: %w", err)
	}
	for _, raw := range entries {
		var e revocationEntry
		if err := json.Unmarshal(raw, &e); err != nil || e.V != revocationEntryVersion {
			// Not an entry of this format (another version of portcullis
			// writing to the same Prefix): a logout this instance cannot
			// honour. Refuse requests rather than ignore it.
			return struct{}{}, errRevocationEntry
		}
		r := session.Revocation{ID: e.ID, Provider: e.Provider, SID: e.SID, Subject: e.Subject, Before: e.Before, Expires: e.Expires}
		if err := sr.mirror.Add(ctx, r); err != nil {
			return struct{}{}, fmt.Errorf("middleware: shared revocation list: %w", err)
		}
	}
	sr.seq = last
	sr.synced.Store(&start)
	return struct{}{}, nil
}
