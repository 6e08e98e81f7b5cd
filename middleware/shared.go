package middleware

import (
	"context"
	"time"
)

// SharedState is storage that every instance of one application shares:
// with it, instances behind one load balancer act as one. Set it in
// [Config.Shared]; package session/redisstore provides one on Redis
// (redisstore.NewShared). Through it:
//
//   - each refresh token is redeemed once, whichever instances its
//     requests reach: one instance holds a lock for the token while it
//     calls the provider and leaves the answer (sealed) for the others,
//     which wait for it instead of calling too;
//   - each login's callback works once, and each back-channel logout
//     token (its jti);
//   - a logout recorded by one instance ends the session on all of them
//     (the revocation list is a shared log that each instance mirrors and
//     re-reads at most [Config.SharedStaleness] after the last read).
//
// Values are opaque bytes. Those that hold tokens are sealed by portcullis
// (AES-256-GCM with a key derived from [Config.Keys], bound to the key
// they are stored under) before they reach the store, and keys are
// derived from secrets with HMAC, never the secrets themselves: a reader
// of the store learns neither tokens nor which token a key is for. Keys
// are at most 200 bytes of printable ASCII without spaces; implementations
// may prefix them.
//
// Every method returns an error when the store cannot answer (unreachable,
// timed out, full): portcullis then fails closed — a callback, a logout or
// a refresh that cannot be coordinated is refused with
// [ErrStoreUnavailable] (503), a refresh token is never redeemed without
// the lock, and a request whose revocation check cannot be made is
// refused — and everything works again when the store answers. An
// implementation must never drop a live entry to make room: it refuses
// instead. Implementations must be safe for concurrent use.
type SharedState interface {
	// Claim stores value under key until expires unless key holds a
	// value that has not expired, and reports whether it stored it (a
	// Redis SET NX with an expiry).
	Claim(ctx context.Context, key string, value []byte, expires time.Time) (claimed bool, err error)
	// Set stores value under key until expires, replacing any value.
	Set(ctx context.Context, key string, value []byte, expires time.Time) error
	// Get returns the value under key; found is false when there is none
	// or it has expired.
	Get(ctx context.Context, key string) (value []byte, found bool, err error)
	// Release deletes key if, and only if, it holds value (compare and
	// delete, atomically): a lock is released by its holder only.
	Release(ctx context.Context, key string, value []byte) error
	// Append adds entry to the shared log, kept until expires, and
	// returns its sequence number: greater than that of every entry
	// appended before it.
	Append(ctx context.Context, entry []byte, expires time.Time) (seq int64, err error)
	// Since returns, in sequence order, the entries with a sequence
	// number greater than after that have not expired, and last, the
	// greatest sequence number the log has given out (0 when none).
	// A log that lost its entries (a restarted Redis without
	// persistence) starts again from 0, so last < after tells the caller
	// to read everything again.
	Since(ctx context.Context, after int64) (entries [][]byte, last int64, err error)
}
