package middleware

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/session"
)

// sharedRefresh makes each refresh token redeemed once across the
// instances that share Config.Shared, under this instance's memo and
// single-flight (which make the calls here one per token):
//
//   - the answer: an instance that refreshed a token leaves the outcome
//     under "refresh-memo:"+hex(key) for refreshGrace — the new tokens,
//     sealed (see sealer), or the refusal —, and a transient failure
//     until the token endpoint may be called again. Any instance that
//     meets the token in that time answers from it;
//   - the lock: before calling the provider an instance claims
//     "refresh-lock:"+hex(key) with a random value. Only its holder calls
//     the provider; an instance that finds the lock held polls for the
//     answer — never for the lock: a lock that goes away without an
//     answer may have been spent — for RefreshTimeout and
//     sharedLockMargin, and then gives up (a transient failure, which
//     keeps a session whose token is still valid). The lock lives
//     refreshGrace longer than that patience. The holder writes the
//     answer before releasing the lock, and releases only its own lock
//     (compare and delete), so a lock that expired and was claimed by
//     another instance is not released by a late holder;
//   - the store unreachable: nothing is called — a token is never redeemed
//     without the lock —, and the request fails closed
//     (ErrStoreUnavailable) unless its token is still valid. When the
//     holder cannot write the answer (the store failed after the call),
//     the request goes on with the new tokens, and the holder keeps the
//     lock and retries the write in the background (republish) until the
//     store takes it, then releases the lock: no instance redeems the
//     spent token meanwhile. Only an outage longer than the lock's life
//     (RefreshTimeout + 35 s by default) followed by a request with the
//     old token, or a holder that crashed mid-call, can still lead to a
//     second redemption.
//
// key is already SHA-256 of the provider name and the refresh token.
type sharedRefresh struct {
	sh      SharedState
	seal    *sealer
	timeout time.Duration
	// margin is added to timeout for the lock's life and the waiters'
	// patience (sharedLockMargin).
	margin time.Duration
	now    func() time.Time
	poll   time.Duration
	// onUnrecorded is told when a refresh's answer could not be written.
	onUnrecorded func(error)
}

const (
	sharedLockMargin  = 5 * time.Second
	sharedPollEvery   = 20 * time.Millisecond
	sharedAnswerV     = 1
	sharedLockValueSz = 16
)

// errSharedWait: another instance held the refresh lock until it expired,
// without leaving an answer.
var errSharedWait = errors.New("middleware: refresh held by another instance past its timeout")

// sharedAnswer is the sealed outcome of a refresh.
type sharedAnswer struct {
	V       int             `json:"v"`
	Tokens  *session.Tokens `json:"t,omitempty"`
	Denied  bool            `json:"d,omitempty"`
	RetryAt time.Time       `json:"r,omitzero"`
}

func refreshNames(key refreshKey) (memo, lock string) {
	h := hex.EncodeToString(key[:])
	return "refresh-memo:" + h, "refresh-lock:" + h
}

// do returns the outcome for key: another instance's answer (remote), or
// the result of call, made while holding the lock. An answer that is the
// tokens have (non-nil for a forced refresh: the tokens its session
// already carries) does not count as one.
func (sr *sharedRefresh) do(ctx context.Context, key refreshKey, have *session.Tokens, call func(context.Context) (*session.Tokens, error)) (tokens *session.Tokens, remote bool, err error) {
	memo, lock := refreshNames(key)
	answer := func() (*session.Tokens, bool, error) {
		tokens, found, err := sr.answer(ctx, memo)
		if found && err == nil && sameTokens(tokens, have) {
			return nil, false, nil
		}
		return tokens, found, err
	}
	patience := sr.timeout + sr.margin
	deadline := sr.now().Add(patience)
	ctx, cancel := context.WithTimeout(ctx, patience)
	defer cancel()
	holder := []byte(randomString(sharedLockValueSz))
	// held: this wait has seen another instance hold the lock. From then
	// on it only waits for the answer: a lock that goes away without one
	// belonged to a holder that crashed or could not write it, and the
	// token may be spent.
	held := false
	for {
		tokens, found, err := answer()
		if found || err != nil {
			if ctx.Err() != nil {
				return nil, false, errSharedWait // this wait's own deadline
			}
			return tokens, found, err
		}
		if !held {
			claimed, err := sr.sh.Claim(ctx, lock, holder, sr.now().Add(patience+refreshGrace))
			if err != nil {
				if ctx.Err() != nil {
					return nil, false, errSharedWait
				}
				return nil, false, sharedFailure("refresh_shared_unavailable", err)
			}
			if claimed {
				break
			}
			held = true
		}
		if !sr.now().Before(deadline) {
			return nil, false, errSharedWait
		}
		t := time.NewTimer(sr.poll)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, false, errSharedWait
		}
	}
	// An answer written between the read above and the claim.
	if tokens, found, err := answer(); found || err != nil {
		sr.release(ctx, lock, holder)
		return tokens, found, err
	}
	tokens, err = call(ctx)
	now := sr.now()
	ans := sharedAnswer{V: sharedAnswerV, Tokens: tokens}
	until := now.Add(refreshGrace)
	switch {
	case err == nil:
	case errors.Is(err, providers.ErrDenied):
		ans.Tokens, ans.Denied = nil, true
	default:
		// A transient failure: the others wait as this instance does.
		delay := minBackoff
		var pe *providers.Error
		if errors.As(err, &pe) {
			delay = min(max(delay, pe.RetryAfter), maxBackoff)
		}
		ans.Tokens, ans.RetryAt, until = nil, now.Add(delay), now.Add(delay)
	}
	plain, merr := json.Marshal(ans)
	if merr != nil {
		return tokens, false, err // not reached: the answer is plain data
	}
	sealed := sr.seal.seal(memo, plain)
	if merr = sr.sh.Set(ctx, memo, sealed, until); merr != nil {
		if sr.onUnrecorded != nil {
			sr.onUnrecorded(merr)
		}
		// The request goes on with the outcome; the answer is written
		// as soon as the store takes it, and the lock, which outlives
		// every waiter's patience by refreshGrace, released then.
		go sr.republish(memo, lock, holder, sealed, until)
		return tokens, false, err
	}
	sr.release(ctx, lock, holder)
	return tokens, false, err
}

// republish retries writing an answer the store refused, until it takes
// it or the answer is no longer needed (until: its own end), then
// releases the lock. Until then the lock keeps every instance from
// redeeming the token; waiters that saw it give up rather than take it
// over. It runs for at most refreshGrace, one per refresh whose answer
// could not be written.
func (sr *sharedRefresh) republish(memo, lock string, holder, sealed []byte, until time.Time) {
	wait := sharedPollEvery
	for sr.now().Before(until) {
		time.Sleep(wait)
		wait = min(2*wait, time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), sr.timeout)
		err := sr.sh.Set(ctx, memo, sealed, until)
		if err == nil {
			sr.release(ctx, lock, holder)
			cancel()
			return
		}
		cancel()
	}
}

// answer reads another instance's answer from the memo.
func (sr *sharedRefresh) answer(ctx context.Context, memo string) (*session.Tokens, bool, error) {
	sealed, found, err := sr.sh.Get(ctx, memo)
	if err != nil {
		return nil, false, sharedFailure("refresh_shared_unavailable", err)
	}
	if !found {
		return nil, false, nil
	}
	plain, err := sr.seal.open(memo, sealed)
	var ans sharedAnswer
	if err == nil {
		err = json.Unmarshal(plain, &ans)
	}
	if err == nil && ans.V != sharedAnswerV {
		err = errUnsealable
	}
	if err != nil {
		// Sealed with a key this instance lacks (a key rotation not yet
		// deployed everywhere) or altered: the token is spent all the
		// same, so it is not redeemed here.
		return nil, false, sharedFailure("refresh_shared_unreadable", err)
	}
	switch {
	case ans.Denied:
		return nil, true, fmt.Errorf("%w (answered by another instance)", providers.ErrDenied)
	case ans.Tokens == nil:
		if sr.now().Before(ans.RetryAt) {
			return nil, true, errBackoff
		}
		return nil, false, nil
	}
	return ans.Tokens, true, nil
}

// pin keeps tokens as the answer for key until the given time (see
// refresher.pin), for every instance.
func (sr *sharedRefresh) pin(ctx context.Context, key refreshKey, tokens session.Tokens, until time.Time) error {
	memo, _ := refreshNames(key)
	plain, err := json.Marshal(sharedAnswer{V: sharedAnswerV, Tokens: &tokens})
	if err != nil {
		return err
	}
	return sr.sh.Set(ctx, memo, sr.seal.seal(memo, plain), until)
}

func (sr *sharedRefresh) release(ctx context.Context, lock string, holder []byte) {
	// An error leaves the lock to expire: the others wait a little longer.
	_ = sr.sh.Release(ctx, lock, holder)
}
