package middleware

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
// they are stored under) before they reach the store, and keys hold a
// SHA-256 of the secret they are about (a refresh token, a state), never
// the secret itself: a reader of the store learns no token. Keys
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
	// appended before it, and never given out twice, even by a log that
	// lost its entries (a Redis restarted without persistence must go on
	// from numbers above the ones it gave out before, for example from
	// the current time in microseconds).
	Append(ctx context.Context, entry []byte, expires time.Time) (seq int64, err error)
	// Since returns, in sequence order, the entries with a sequence
	// number greater than after that have not expired, and last, the
	// greatest sequence number the log has given out (0 when none): an
	// entry appended while Since runs is either returned or has a number
	// above last. A last below after (a log restored from an old copy)
	// makes the caller read everything again.
	Since(ctx context.Context, after int64) (entries [][]byte, last int64, err error)
}

// sharedName is the key under which a shared entry about secret is kept:
// the purpose, then hex(SHA-256(purpose, provider, secret)). Plain SHA-256
// rather than a keyed hash: the secrets are random values of 256 bits or
// refresh tokens (too long to guess, so the hash reveals nothing), and
// instances whose key lists differ for a while (a rolling deploy that
// rotates Keys) still agree on every name.
func sharedName(purpose, provider, secret string) string {
	h := sha256.Sum256([]byte(purpose + "\x00" + provider + "\x00" + secret))
	return purpose + ":" + hex.EncodeToString(h[:])
}

// errUnsealable: a shared value that no configured key opens (written by
// an instance with another key, or altered in the store).
var errUnsealable = errors.New("middleware: shared value does not open with any key")

// sealer seals the shared values that hold tokens: AES-256-GCM with a
// key per configured key (newest first) derived with HKDF, the entry's
// name as additional data (a value moved to another name does not open),
// a random 96-bit nonce and a version byte.
type sealer struct {
	aeads []cipher.AEAD
}

const sealVersion = 1

func newSealer(keys [][]byte) (*sealer, error) {
	sl := &sealer{}
	for _, k := range keys {
		key, err := hkdf.Key(sha256.New, k, nil, "portcullis/shared/aes-256-gcm", 32)
		if err != nil {
			return nil, err
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		sl.aeads = append(sl.aeads, aead)
	}
	return sl, nil
}

func (sl *sealer) seal(name string, plain []byte) []byte {
	aead := sl.aeads[0]
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plain)+aead.Overhead())
	out[0] = sealVersion
	rand.Read(out[1:]) // never returns an error; see crypto/rand.Read
	return aead.Seal(out, out[1:1+aead.NonceSize()], plain, []byte(name))
}

func (sl *sealer) open(name string, sealed []byte) ([]byte, error) {
	for _, aead := range sl.aeads {
		n := aead.NonceSize()
		if len(sealed) < 1+n+aead.Overhead() || sealed[0] != sealVersion {
			return nil, errUnsealable
		}
		if plain, err := aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(name)); err == nil {
			return plain, nil
		}
	}
	return nil, errUnsealable
}

// sharedFailure wraps an error of the shared store: the request that
// needed it fails closed with ErrStoreUnavailable (503).
func sharedFailure(reason string, err error) error {
	return fail(ErrStoreUnavailable, reason, err)
}
