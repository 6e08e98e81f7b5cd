package middleware

import (
	"errors"
	"hash/maphash"
	"net/http"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"
)

// rateLimitBuckets is the fixed number of buckets of a rateLimiter (a power
// of two). Each is one int64, so a limiter holds 512 KiB whatever the
// number of clients.
const rateLimitBuckets = 1 << 16

// maxRateLimitWindow bounds burst×every, the time a bucket takes to refill
// from empty, which keeps the arithmetic far from overflow.
const maxRateLimitWindow = 365 * 24 * time.Hour

// rateLimitHorizon (about 146 years) clamps the clock as the limiter reads
// it, in nanoseconds since its construction.
const rateLimitHorizon = 1 << 62

// rateLimit is a token bucket's shape: it holds at most burst tokens and
// gains one every every. The zero value is not a valid limit.
type rateLimit struct {
	burst int
	every time.Duration
}

// check reports whether l can be used by newRateLimiter; Config validation
// calls it so that a bad limit is an error from New, not a panic.
func (l rateLimit) check() error {
	switch {
	case l.burst < 1:
		return errors.New("burst must be at least 1")
	case l.every <= 0:
		return errors.New("refill interval must be positive")
	case l.every > maxRateLimitWindow/time.Duration(l.burst):
		return errors.New("burst × refill interval must be at most a year")
	}
	return nil
}

// rateLimiter is a token bucket per client address, in bounded memory:
// a fixed array of rateLimitBuckets buckets indexed by a keyed hash of the
// address, with IPv4-mapped addresses unmapped and IPv6 grouped by /64
// (one host is handed a /64, so counting its addresses one by one would
// give it 2^64 buckets). The zero Addr (an unknown client, see clientIP)
// is one more key, shared by every such request.
//
// Full-policy: there is no point at which it is full, and it never forgets.
// Past rateLimitBuckets clients, or by chance before, two keys share a
// bucket and with it their tokens: a collision only ever makes a limit
// stricter, never looser, and no bucket is evicted or reset, so a client
// cannot win back its tokens by flooding the limiter with other keys. That
// is why it is not an internal/bounded.Map: EvictSoonest would hand a
// flooder back fresh buckets, and Refuse would lock out every new client. The hash (hash/maphash, seeded at
// random per limiter) keeps attackers from choosing addresses that land on
// a given victim's bucket; what it cannot prevent is spraying: an attacker
// holding k distinct keys (IPv4 addresses, IPv6 /64s) and keeping all of
// them drained starves about 1−e^(−k/65536) of other clients too, at a cost
// of k requests per refill interval.
//
// Each bucket is one atomic int64 updated by compare-and-swap (the generic
// cell rate algorithm, equivalent to a token bucket): no lock, and
// contention only between clients on the same bucket. Time comes from now
// alone.
//
// It does not decide which address a request comes from (clientIP does),
// nor answer a refused request (wrap's caller does).
type rateLimiter struct {
	every     int64 // ns: the cost of one token
	tolerance int64 // ns: (burst-1)×every, how far ahead of now a bucket may run
	window    int64 // ns: burst×every, refill from empty
	seed      maphash.Seed
	now       func() time.Time
	epoch     time.Time
	// buckets hold, per bucket, the time (ns since epoch) at which the
	// bucket will be full again; a bucket whose time is past is full.
	buckets [rateLimitBuckets]atomic.Int64
}

// newRateLimiter returns a limiter of shape l that reads the time from now
// (time.Now if nil). It panics if l fails check: Config validation must
// have refused it first.
func newRateLimiter(l rateLimit, now func() time.Time) *rateLimiter {
	if err := l.check(); err != nil {
		panic("middleware: newRateLimiter: " + err.Error())
	}
	if now == nil {
		now = time.Now
	}
	return &rateLimiter{
		every:     int64(l.every),
		tolerance: int64(l.burst-1) * int64(l.every),
		window:    int64(l.burst) * int64(l.every),
		seed:      maphash.MakeSeed(),
		now:       now,
		epoch:     now(),
	}
}

// allow takes a token for addr; when none is left it returns false and how
// long until one is. A refused call takes nothing, so a client that keeps
// knocking is not kept out longer than one that waits.
func (l *rateLimiter) allow(addr netip.Addr) (ok bool, retryAfter time.Duration) {
	b := &l.buckets[l.index(addr)]
	// A clock read as centuries from the epoch would overflow below.
	now := min(max(int64(l.now().Sub(l.epoch)), -rateLimitHorizon), rateLimitHorizon)
	for {
		old := b.Load()
		// Under a monotonic clock a bucket runs at most window ahead of
		// now; one set back must not keep a client out for the difference,
		// so such a bucket is brought back to empty-as-of-now.
		full := min(max(old, now), now+l.window)
		if wait := full - now - l.tolerance; wait > 0 {
			if full == old || b.CompareAndSwap(old, full) {
				return false, time.Duration(wait)
			}
			continue
		}
		if b.CompareAndSwap(old, full+l.every) {
			return true, 0
		}
	}
}

// index returns the bucket of addr.
func (l *rateLimiter) index(addr netip.Addr) uint32 {
	var key [9]byte // family, then 4 bytes of IPv4 or the 8 of an IPv6 /64
	n := 1
	switch addr = addr.Unmap(); {
	case addr.Is4():
		key[0] = 4
		a := addr.As4()
		n += copy(key[1:], a[:])
	case addr.Is6():
		key[0] = 6
		a := addr.As16()
		n += copy(key[1:], a[:8])
	}
	return uint32(maphash.Bytes(l.seed, key[:n])) & (rateLimitBuckets - 1)
}

// wrap returns a handler that takes a token for key(r) before serving next,
// and calls refuse with the time until the next token when there is none
// (refuse answers 429 with retryAfterValue in Retry-After). It panics if an
// argument is nil.
func (l *rateLimiter) wrap(next http.Handler, key func(*http.Request) netip.Addr, refuse func(w http.ResponseWriter, r *http.Request, retryAfter time.Duration)) http.Handler {
	if next == nil || key == nil || refuse == nil {
		panic("middleware: rateLimiter.wrap with a nil argument")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := l.allow(key(r)); !ok {
			refuse(w, r, wait)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// retryAfterValue formats d as a Retry-After value (RFC 9110 §10.2.3):
// whole seconds, rounded up, at least 1.
func retryAfterValue(d time.Duration) string {
	s := d / time.Second
	if d%time.Second != 0 {
		s++
	}
	return strconv.FormatInt(int64(max(s, 1)), 10)
}
