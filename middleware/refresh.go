package middleware

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/session"
)

// Refresh never logs anyone out by itself. Three mechanisms make sure a
// refresh token is redeemed once, even when a rotating provider (one that
// revokes the whole grant when a spent refresh token is replayed) meets
// many parallel requests:
//
//   - single-flight: concurrent requests carrying the same refresh token
//     wait for one token-endpoint call and share its result;
//   - grace memo: for refreshGrace after a refresh, a request still
//     carrying the old refresh token (a stale cookie from a request that
//     started earlier) gets the already-rotated tokens, and a definitive
//     refusal is remembered the same way;
//   - backoff: after a transient failure (timeout, 5xx, network), the
//     token endpoint is not called again for that token until the backoff
//     elapses, doubling up to maxBackoff.
//
// Entries are keyed by SHA-256 of the refresh token, hold tokens, live in
// memory only and are never logged; the memo is bounded in size and time.
// (The key also holds the provider name, so equal strings at two providers
// never share an entry.)
const (
	defaultRefreshBefore  = time.Minute
	defaultRefreshTimeout = 10 * time.Second
	refreshGrace          = 30 * time.Second
	minBackoff            = time.Second
	maxBackoff            = time.Minute
	maxMemo               = 10000
)

type refreshKey [sha256.Size]byte

type refreshCall struct {
	done   chan struct{}
	tokens *session.Tokens
	err    error
}

type memoEntry struct {
	tokens *session.Tokens // nil when denied
	err    error
	until  time.Time
}

type backoffEntry struct {
	next  time.Time
	delay time.Duration
}

type refresher struct {
	mu       sync.Mutex
	inflight map[refreshKey]*refreshCall
	memo     map[refreshKey]memoEntry
	backoff  map[refreshKey]backoffEntry
	timeout  time.Duration
	now      func() time.Time // the Auth's clock
	calls    int              // token-endpoint calls made, for tests
}

func newRefresher(timeout time.Duration, now func() time.Time) *refresher {
	return &refresher{
		inflight: map[refreshKey]*refreshCall{},
		memo:     map[refreshKey]memoEntry{},
		backoff:  map[refreshKey]backoffEntry{},
		timeout:  timeout,
		now:      now,
	}
}

// callCount returns how many token-endpoint calls were made.
func (rf *refresher) callCount() int {
	rf.mu.Lock()
	defer rf.mu.Unlock()
	return rf.calls
}

// keep extends the memo entry of a successful refresh of refreshToken
// until the given time. It is for rotations whose result could not reach
// the browser (the response had started, or the session did not fit):
// until the browser gets the new cookie it keeps presenting the old
// refresh token, which must be answered from the memo, never replayed.
func (rf *refresher) keep(p *providers.Provider, refreshToken string, until time.Time) {
	key := refreshKey(sha256.Sum256([]byte(p.Name() + "\x00" + refreshToken)))
	rf.mu.Lock()
	defer rf.mu.Unlock()
	if m, ok := rf.memo[key]; ok && m.err == nil && until.After(m.until) {
		m.until = until
		rf.memo[key] = m
	}
}

// errBackoff means the token endpoint was not called because an earlier
// attempt failed transiently moments ago.
var errBackoff = errors.New("middleware: refresh backing off after a transient failure")

// refresh returns new tokens for s, calling the provider at most once per
// refresh token however many requests ask at the same time.
func (rf *refresher) refresh(ctx context.Context, p *providers.Provider, s *session.Session) (*session.Tokens, error) {
	key := refreshKey(sha256.Sum256([]byte(p.Name() + "\x00" + s.Tokens.RefreshToken)))
	now := rf.now()
	rf.mu.Lock()
	if m, ok := rf.memo[key]; ok && now.Before(m.until) {
		rf.mu.Unlock()
		return m.tokens, m.err
	}
	if b, ok := rf.backoff[key]; ok && now.Before(b.next) {
		rf.mu.Unlock()
		return nil, errBackoff
	}
	c, ok := rf.inflight[key]
	if !ok {
		c = &refreshCall{done: make(chan struct{})}
		rf.inflight[key] = c
		rf.calls++
		rf.mu.Unlock()
		rf.do(ctx, p, s, key, c)
	} else {
		rf.mu.Unlock()
	}
	select {
	case <-c.done:
		return c.tokens, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// do makes the token-endpoint call for c and records the outcome. The call
// is detached from the request that started it: one client going away
// must not fail the others waiting on the same refresh.
func (rf *refresher) do(ctx context.Context, p *providers.Provider, s *session.Session, key refreshKey, c *refreshCall) {
	callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rf.timeout)
	defer cancel()
	c.tokens, c.err = p.Refresh(callCtx, s)
	now := rf.now()
	rf.mu.Lock()
	defer rf.mu.Unlock()
	delete(rf.inflight, key)
	switch {
	case c.err == nil, errors.Is(c.err, providers.ErrRefreshDenied):
		delete(rf.backoff, key)
		rf.remember(key, memoEntry{tokens: c.tokens, err: c.err, until: now.Add(refreshGrace)}, now)
	default:
		b := rf.backoff[key]
		b.delay = min(max(2*b.delay, minBackoff), maxBackoff)
		b.next = now.Add(b.delay)
		if len(rf.backoff) >= maxMemo {
			rf.pruneBackoff(now)
		}
		rf.backoff[key] = b
	}
	close(c.done)
}

// remember stores a memo entry, first dropping expired entries when the
// memo is full, and any entry when it is still full.
func (rf *refresher) remember(key refreshKey, e memoEntry, now time.Time) {
	if len(rf.memo) >= maxMemo {
		for k, m := range rf.memo {
			if !now.Before(m.until) {
				delete(rf.memo, k)
			}
		}
		for k := range rf.memo {
			if len(rf.memo) < maxMemo {
				break
			}
			delete(rf.memo, k)
		}
	}
	rf.memo[key] = e
}

// pruneBackoff drops backoff entries that have run out, and any entries
// while the map is still full; rf.mu is held.
func (rf *refresher) pruneBackoff(now time.Time) {
	for k, b := range rf.backoff {
		if now.After(b.next) {
			delete(rf.backoff, k)
		}
	}
	for k := range rf.backoff {
		if len(rf.backoff) < maxMemo {
			break
		}
		delete(rf.backoff, k)
	}
}

// needsRefresh reports whether s's access token expires within
// RefreshBefore and s can be refreshed.
func (a *Auth) needsRefresh(s *session.Session, now time.Time) bool {
	return s.Tokens.RefreshToken != "" && !s.Tokens.Expiry.IsZero() && !now.Add(a.s.RefreshBefore).Before(s.Tokens.Expiry)
}

// tokenExpired reports whether s's access token has expired.
func tokenExpired(s *session.Session, now time.Time) bool {
	return !s.Tokens.Expiry.IsZero() && !now.Before(s.Tokens.Expiry)
}

// refreshSession refreshes s when due and returns the session the request
// should use: a new one with the new tokens (already saved when w is not
// nil), or s itself when a transient failure leaves its token valid. A
// definitive refusal clears the session and returns ErrUnauthenticated; a
// transient failure with an expired token returns ErrProviderUnavailable
// and keeps the session for a later attempt.
func (a *Auth) refreshSession(w http.ResponseWriter, r *http.Request, s *session.Session) (*session.Session, error) {
	p := a.s.providers[s.User.Provider]
	now := a.now()
	tokens, err := a.refresher.refresh(r.Context(), p, s)
	ctx := r.Context()
	switch {
	case err == nil:
		ns := *s
		ns.Tokens = *tokens
		ns.LastSeen = now
		if a.s.OnRefresh != nil {
			if err := a.s.OnRefresh(ctx, &ns); err != nil {
				a.endSession(w, r, s, "on_refresh_refused")
				return nil, fail(ErrUnauthenticated, "on_refresh_refused", err)
			}
		}
		if w != nil {
			if err := a.s.Sessions.Save(w, r, &ns); err != nil {
				a.log.LogAttrs(ctx, levelError, "portcullis: refreshed session could not be saved", providerAttr(p.Name()), reasonAttr("session_save"))
				a.refresher.keep(p, s.Tokens.RefreshToken, s.Expires)
			}
		}
		a.log.LogAttrs(ctx, levelInfo, "portcullis: refresh succeeded", providerAttr(p.Name()), userAttr(&s.User))
		return &ns, nil
	case errors.Is(err, providers.ErrRefreshDenied):
		a.endSession(w, r, s, "refresh_denied")
		return nil, fail(ErrUnauthenticated, "refresh_denied", err)
	}
	reason := "refresh_unavailable"
	if errors.Is(err, errBackoff) {
		reason = "refresh_backoff"
	}
	a.log.LogAttrs(ctx, levelWarn, "portcullis: refresh failed", providerAttr(p.Name()), userAttr(&s.User), reasonAttr(reason))
	if !tokenExpired(s, now) {
		return s, nil
	}
	return nil, fail(ErrProviderUnavailable, reason, err)
}

// endSession clears the session after the provider or a hook ended it.
func (a *Auth) endSession(w http.ResponseWriter, r *http.Request, s *session.Session, reason string) {
	a.log.LogAttrs(r.Context(), levelWarn, "portcullis: session ended", providerAttr(s.User.Provider), userAttr(&s.User), reasonAttr(reason))
	if w != nil {
		a.s.Sessions.Clear(w, r)
	}
}
