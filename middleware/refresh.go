package middleware

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync/atomic"
	"time"

	"github.com/portcullis-go/portcullis/internal/bounded"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/session"
)

// Refresh never logs anyone out by itself, and a refresh token is redeemed
// once, even when a rotating provider (one that revokes the whole grant
// when a spent refresh token is replayed) meets many parallel requests:
//
//   - single-flight: concurrent requests carrying the same refresh token
//     wait for one token-endpoint call and share its result;
//   - grace memo: for refreshGrace after a refresh, a request still
//     carrying the old refresh token (a stale cookie from a request that
//     started earlier) gets the already-rotated tokens, and a definitive
//     refusal is remembered the same way. A rotation whose cookie could
//     not reach the browser is pinned in the memo for the session's life;
//   - backoff: after a transient failure (timeout, 429, 5xx, network), the
//     token endpoint is not called again for that token until the backoff
//     elapses: doubling from minBackoff up to maxBackoff, and never sooner
//     than the provider's Retry-After.
//
// The memo holds at most maxMemo entries. A refresh first reserves its
// entry (pinned while the call runs); when the memo is full it evicts the
// grace entry closest to its end (logged), never a pinned one, and when
// every entry is pinned the refresh is not attempted: the request goes on
// with its current token while it is valid and gets 502 afterwards, rather
// than redeem a token whose answer could not be remembered. Backoff
// entries are a cache (evicting one costs one early retry).
//
// Entries are keyed by SHA-256 of the provider name and the refresh token,
// hold tokens, live in memory only and are never logged.
const (
	defaultRefreshBefore  = time.Minute
	defaultRefreshTimeout = 10 * time.Second
	refreshGrace          = 30 * time.Second
	minBackoff            = time.Second
	maxBackoff            = time.Minute
	maxMemo               = 10000
)

type refreshKey [sha256.Size]byte

func newRefreshKey(p *providers.Provider, refreshToken string) refreshKey {
	return refreshKey(sha256.Sum256([]byte(p.Name() + "\x00" + refreshToken)))
}

type memoEntry struct {
	tokens  *session.Tokens // nil when denied or pending
	err     error
	pending bool // reserved by a call in progress
}

type backoffEntry struct {
	next  time.Time
	delay time.Duration
}

// refresher makes sure each refresh token is redeemed once. It is the
// in-process implementation; every instance of a deployment behind one
// load balancer needs the same answers, which a shared store provides.
type refresher struct {
	// shared, when set, coordinates with the other instances (see
	// refresh_shared.go); the memo, backoff and flight above it stay, as
	// this instance's first answer.
	shared  *sharedRefresh
	flight  bounded.Group[refreshKey, refreshResult]
	memo    *bounded.Map[refreshKey, memoEntry]
	backoff *bounded.Map[refreshKey, backoffEntry]
	timeout time.Duration
	now     func() time.Time // the Auth's clock
	// onEvict is told when a live grace entry was evicted.
	onEvict func()
	calls   atomic.Int64 // token-endpoint calls made, for tests
}

func newRefresher(timeout time.Duration, now func() time.Time, onEvict func()) *refresher {
	return &refresher{
		memo:    bounded.New[refreshKey, memoEntry](maxMemo, bounded.EvictSoonest, now),
		backoff: bounded.New[refreshKey, backoffEntry](maxMemo, bounded.EvictSoonest, now),
		timeout: timeout,
		now:     now,
		onEvict: onEvict,
	}
}

// callCount returns how many token-endpoint calls were made.
func (rf *refresher) callCount() int { return int(rf.calls.Load()) }

// Errors of a refresh that was not attempted.
var (
	// errBackoff: an earlier attempt failed transiently moments ago.
	errBackoff = errors.New("middleware: refresh backing off after a transient failure")
	// errMemoFull: the memo is full of pinned entries, so the result of a
	// refresh could not be remembered.
	errMemoFull = errors.New("middleware: refresh memo full")
)

// maxRefreshChain bounds the refreshes of one request that follow a memo
// answer whose tokens are themselves due.
const maxRefreshChain = 3

// pin makes the memo answer refreshToken with tokens until the given time,
// never evicted. It is for rotations whose result could not reach the
// browser (the response had started, the connection was hijacked, the
// session did not fit): until the browser gets a new cookie it keeps
// presenting refreshToken, which must be answered from the memo, never
// redeemed again. It fails only when the memo is full of pinned entries.
//
// With a shared store the answer is left there too, for the other
// instances; an error doing so is returned after the local pin is made.
func (rf *refresher) pin(ctx context.Context, p *providers.Provider, refreshToken string, tokens session.Tokens, until time.Time) error {
	key := newRefreshKey(p, refreshToken)
	if _, err := rf.memo.PutPinned(key, memoEntry{tokens: &tokens}, until); err != nil {
		return err
	}
	if rf.shared != nil {
		return rf.shared.pin(ctx, key, tokens, until)
	}
	return nil
}

// refresh returns new tokens for s, calling the provider at most once per
// refresh token however many requests ask at the same time. It reports
// whether the answer came from the memo (an earlier call's, possibly long
// ago for a pinned rotation) rather than from a call just made, and
// whether it came from a call another request started (shared).
//
// forced (Auth.Refresh) never takes for an answer the tokens s already
// holds: the memo's answer to a refresh token the provider did not rotate,
// which s got from the refresh that answer records. It then calls the
// provider again, through the same single-flight, lock and memo.
func (rf *refresher) refresh(ctx context.Context, p *providers.Provider, s *session.Session, forced bool) (tokens *session.Tokens, remembered, shared bool, err error) {
	tokens, remembered, shared, err = rf.refreshOnce(ctx, p, s, forced)
	if forced && err == nil && holds(s, tokens) {
		// A forced refresh joined a single-flight whose first caller
		// took the memo's answer, which s already holds: once more.
		tokens, remembered, shared, err = rf.refreshOnce(ctx, p, s, forced)
	}
	return tokens, remembered, shared, err
}

func (rf *refresher) refreshOnce(ctx context.Context, p *providers.Provider, s *session.Session, forced bool) (tokens *session.Tokens, remembered, shared bool, err error) {
	key := newRefreshKey(p, s.Tokens.RefreshToken)
	// answered returns the memo's answer for key, unless a call is in
	// progress or a forced refresh would get the tokens s holds.
	answered := func() (memoEntry, bool) {
		m, ok := rf.memo.Get(key)
		return m, ok && !m.pending && !(forced && m.err == nil && holds(s, m.tokens))
	}
	if m, ok := answered(); ok {
		return m.tokens, true, false, m.err
	}
	if b, ok := rf.backoff.Get(key); ok && rf.now().Before(b.next) {
		return nil, false, false, errBackoff
	}
	res, err, shared := rf.flight.Do(ctx, key, func(ctx context.Context) (refreshResult, error) {
		if m, ok := answered(); ok {
			// A call that ended between the lookup above and the
			// single-flight has already recorded its answer.
			return refreshResult{tokens: m.tokens, remembered: true}, m.err
		}
		return rf.do(ctx, p, s, key, forced)
	})
	return res.tokens, res.remembered, shared || res.remote, err
}

// holds reports whether s already carries tokens (their access and
// refresh tokens).
func holds(s *session.Session, tokens *session.Tokens) bool {
	return sameTokens(&s.Tokens, tokens)
}

func sameTokens(a, b *session.Tokens) bool {
	return a != nil && b != nil && a.AccessToken == b.AccessToken && a.RefreshToken == b.RefreshToken
}

// refreshResult is what the single-flight shares: the tokens, and whether
// they are a remembered answer (this memo's or another instance's) rather
// than the result of a call just made.
type refreshResult struct {
	tokens     *session.Tokens
	remembered bool
	remote     bool // another instance's answer
}

// do makes the token-endpoint call and records the outcome; it runs once
// per key at a time (the single-flight), detached from the request.
func (rf *refresher) do(ctx context.Context, p *providers.Provider, s *session.Session, key refreshKey, forced bool) (refreshResult, error) {
	now := rf.now()
	evicted, err := rf.memo.PutPinned(key, memoEntry{pending: true}, now.Add(rf.timeout+refreshGrace))
	if err != nil {
		return refreshResult{}, errMemoFull
	}
	if evicted && rf.onEvict != nil {
		rf.onEvict()
	}
	var tokens *session.Tokens
	if rf.shared != nil {
		var remote bool
		var have *session.Tokens
		if forced {
			have = &s.Tokens
		}
		tokens, remote, err = rf.shared.do(ctx, key, have, func(ctx context.Context) (*session.Tokens, error) {
			return rf.call(ctx, p, s)
		})
		if remote || errors.Is(err, ErrStoreUnavailable) {
			// Another instance's answer (kept in this memo too, for
			// the requests still to come here), or no answer at all:
			// the shared store was unreachable and nothing was called.
			if remote && (err == nil || errors.Is(err, providers.ErrDenied)) {
				rf.memo.Put(key, memoEntry{tokens: tokens, err: err}, rf.now().Add(refreshGrace))
			} else {
				rf.memo.Delete(key) // the pending reservation
			}
			return refreshResult{tokens: tokens, remembered: remote, remote: remote}, err
		}
	} else {
		tokens, err = rf.call(ctx, p, s)
	}
	now = rf.now()
	if err == nil || errors.Is(err, providers.ErrDenied) {
		rf.backoff.Delete(key)
		rf.memo.Put(key, memoEntry{tokens: tokens, err: err}, now.Add(refreshGrace))
		return refreshResult{tokens: tokens}, err
	}
	rf.memo.Delete(key)
	rf.backoff.Update(key, func(b backoffEntry, _ bool) (backoffEntry, time.Time, bool) {
		b.delay = min(max(2*b.delay, minBackoff), maxBackoff)
		var pe *providers.Error
		if errors.As(err, &pe) {
			b.delay = max(b.delay, pe.RetryAfter)
		}
		b.next = now.Add(b.delay)
		// Remembered past next, so that the next failure doubles it.
		return b, b.next.Add(maxBackoff), true
	})
	return refreshResult{}, err
}

// call is the token-endpoint call itself, bounded by the timeout.
func (rf *refresher) call(ctx context.Context, p *providers.Provider, s *session.Session) (*session.Tokens, error) {
	rf.calls.Add(1)
	callCtx, cancel := context.WithTimeout(ctx, rf.timeout)
	defer cancel()
	return p.Refresh(callCtx, s)
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
