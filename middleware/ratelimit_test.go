package middleware

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// rlClock is the rate limiter tests' clock: it moves only when told to.
type rlClock struct {
	mu sync.Mutex
	t  time.Time
}

func newRLClock() *rlClock { return &rlClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *rlClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *rlClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// rlOtherBucket returns the first of candidates whose bucket is not a's,
// so that a test of separate clients is not undone by a hash collision.
func rlOtherBucket(t *testing.T, l *rateLimiter, a netip.Addr, candidates ...string) netip.Addr {
	t.Helper()
	for _, c := range candidates {
		if b := netip.MustParseAddr(c); l.index(b) != l.index(a) {
			return b
		}
	}
	t.Fatalf("every candidate shares %v's bucket", a)
	return netip.Addr{}
}

// rlDrain takes n tokens for a, failing if any is refused.
func rlDrain(t *testing.T, l *rateLimiter, a netip.Addr, n int) {
	t.Helper()
	for i := range n {
		if ok, _ := l.allow(a); !ok {
			t.Fatalf("%v: request %d of %d refused", a, i+1, n)
		}
	}
}

// rlRefused checks that a has no token left, and comes back after want.
func rlRefused(t *testing.T, l *rateLimiter, a netip.Addr, want time.Duration) {
	t.Helper()
	if ok, wait := l.allow(a); ok || wait != want {
		t.Fatalf("%v: allow = %v, %v; want false, %v", a, ok, wait, want)
	}
}

// rlRefuse is the test's refuse: the lead's writes Retry-After and 429
// through the error handler.
func rlRefuse(w http.ResponseWriter, r *http.Request, retryAfter time.Duration) {
	w.Header().Set("Retry-After", retryAfterValue(retryAfter))
	http.Error(w, http.StatusText(http.StatusTooManyRequests), http.StatusTooManyRequests)
}

func newRLServer(t *testing.T, l *rateLimiter, key func(*http.Request) netip.Addr) *httptest.Server {
	t.Helper()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	srv := httptest.NewTLSServer(l.wrap(ok, key, rlRefuse))
	t.Cleanup(srv.Close)
	return srv
}

func rlGet(t *testing.T, srv *httptest.Server, xff string) (status int, retryAfter string) {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+"/auth/login", nil)
	if err != nil {
		t.Fatal(err)
	}
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// TestRateLimitBurstOverHTTP sends a burst from loopback through a real
// server: ten pass, the eleventh is told when to come back, and after one
// refill interval exactly one more passes.
func TestRateLimitBurstOverHTTP(t *testing.T) {
	clock := newRLClock()
	l := newRateLimiter(rateLimit{burst: 10, every: time.Minute}, clock.now)
	srv := newRLServer(t, l, func(r *http.Request) netip.Addr { return clientIP(r, nil) })

	passed := 0
	for i := range 10 {
		if status, _ := rlGet(t, srv, ""); status != http.StatusNoContent {
			t.Fatalf("request %d: status %d, want %d", i+1, status, http.StatusNoContent)
		}
		passed++
	}
	steps := []struct {
		advance    time.Duration
		status     int
		retryAfter string
	}{
		{0, http.StatusTooManyRequests, "60"},
		{0, http.StatusTooManyRequests, "60"}, // refused requests take nothing
		{30*time.Second - time.Millisecond, http.StatusTooManyRequests, "31"},
		{time.Millisecond, http.StatusTooManyRequests, "30"},
		{30 * time.Second, http.StatusNoContent, ""},
		{0, http.StatusTooManyRequests, "60"},
	}
	for i, s := range steps {
		clock.advance(s.advance)
		status, retryAfter := rlGet(t, srv, "")
		if status != s.status || retryAfter != s.retryAfter {
			t.Fatalf("step %d (+%v): status %d, Retry-After %q; want %d, %q", i, s.advance, status, retryAfter, s.status, s.retryAfter)
		}
	}
	t.Logf("burst answered: %d of 11 passed, the 11th got 429 with Retry-After 60", passed)
}

// TestRateLimitClientsOverHTTP keys the limiter by clientIP behind a
// trusted loopback proxy: a drained client does not hold up another.
func TestRateLimitClientsOverHTTP(t *testing.T) {
	clock := newRLClock()
	l := newRateLimiter(rateLimit{burst: 3, every: time.Minute}, clock.now)
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	srv := newRLServer(t, l, func(r *http.Request) netip.Addr { return clientIP(r, loopback) })

	a := netip.MustParseAddr("198.51.100.1")
	b := rlOtherBucket(t, l, a, "198.51.100.2", "198.51.100.3", "198.51.100.4")
	for i := range 3 {
		if status, _ := rlGet(t, srv, "1.1.1.1, "+a.String()); status != http.StatusNoContent {
			t.Fatalf("client a, request %d: status %d", i+1, status)
		}
	}
	if status, _ := rlGet(t, srv, b.String()+", "+a.String()); status != http.StatusTooManyRequests {
		t.Fatalf("client a naming b to the left: status %d, want 429", status)
	}
	for i := range 3 {
		if status, _ := rlGet(t, srv, b.String()); status != http.StatusNoContent {
			t.Fatalf("client b, request %d: status %d", i+1, status)
		}
	}
}

func TestRateLimitAllow(t *testing.T) {
	clock := newRLClock()
	l := newRateLimiter(rateLimit{burst: 3, every: 10 * time.Second}, clock.now)
	a := netip.MustParseAddr("203.0.113.5")

	rlDrain(t, l, a, 3)
	rlRefused(t, l, a, 10*time.Second)
	clock.advance(4 * time.Second)
	rlRefused(t, l, a, 6*time.Second)
	clock.advance(6 * time.Second)
	rlDrain(t, l, a, 1)
	rlRefused(t, l, a, 10*time.Second) // one token per interval

	// A long wait refills to burst, never beyond.
	clock.advance(24 * time.Hour)
	rlDrain(t, l, a, 3)
	rlRefused(t, l, a, 10*time.Second)

	// Tokens come back one per interval, whatever the order of calls.
	clock.advance(25 * time.Second)
	rlDrain(t, l, a, 2)
	rlRefused(t, l, a, 5*time.Second)
}

func TestRateLimitBurstOfOne(t *testing.T) {
	clock := newRLClock()
	l := newRateLimiter(rateLimit{burst: 1, every: time.Second}, clock.now)
	a := netip.MustParseAddr("203.0.113.5")
	rlDrain(t, l, a, 1)
	rlRefused(t, l, a, time.Second)
	clock.advance(time.Second)
	rlDrain(t, l, a, 1)
}

// TestRateLimitClockSetBack: a clock moved back does not keep a client out
// for longer than one interval.
func TestRateLimitClockSetBack(t *testing.T) {
	clock := newRLClock()
	l := newRateLimiter(rateLimit{burst: 2, every: time.Minute}, clock.now)
	a := netip.MustParseAddr("203.0.113.5")
	rlDrain(t, l, a, 2)
	clock.advance(-24 * time.Hour)
	rlRefused(t, l, a, time.Minute) // not a day and a minute
	clock.advance(time.Minute)
	rlDrain(t, l, a, 1)

	// And a clock read centuries away does not overflow.
	clock.advance(250 * 365 * 24 * time.Hour)
	rlDrain(t, l, a, 2)
	rlRefused(t, l, a, time.Minute)
}

func TestRateLimitSeparateClients(t *testing.T) {
	clock := newRLClock()
	l := newRateLimiter(rateLimit{burst: 2, every: time.Hour}, clock.now)
	a := netip.MustParseAddr("192.0.2.1")
	b := rlOtherBucket(t, l, a, "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5")
	rlDrain(t, l, a, 2)
	rlRefused(t, l, a, time.Hour)
	rlDrain(t, l, b, 2)
}

// TestRateLimitIPv6Per64: a host holds a /64, so addresses within one share
// a bucket; another /64 is another client.
func TestRateLimitIPv6Per64(t *testing.T) {
	clock := newRLClock()
	l := newRateLimiter(rateLimit{burst: 2, every: time.Hour}, clock.now)
	a := netip.MustParseAddr("2001:db8:1:2::1")
	for _, same := range []string{"2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::1%eth0"} {
		if l.index(netip.MustParseAddr(same)) != l.index(a) {
			t.Errorf("%s is not in %v's bucket", same, a)
		}
	}
	rlDrain(t, l, a, 1)
	rlDrain(t, l, netip.MustParseAddr("2001:db8:1:2::9"), 1)
	rlRefused(t, l, netip.MustParseAddr("2001:db8:1:2:abcd::1"), time.Hour)
	other := rlOtherBucket(t, l, a, "2001:db8:1:3::1", "2001:db8:1:4::1", "2001:db8:1:5::1")
	rlDrain(t, l, other, 2)
}

// TestRateLimitSharedKeys: a mapped address is its IPv4 address, and
// every unknown client (the zero Addr) is one.
func TestRateLimitSharedKeys(t *testing.T) {
	clock := newRLClock()
	l := newRateLimiter(rateLimit{burst: 2, every: time.Hour}, clock.now)
	v4 := netip.MustParseAddr("192.0.2.1")
	rlDrain(t, l, netip.MustParseAddr("::ffff:192.0.2.1"), 2)
	rlRefused(t, l, v4, time.Hour) // the mapped form is the same client
	rlDrain(t, l, netip.Addr{}, 2)
	rlRefused(t, l, netip.Addr{}, time.Hour) // unknown clients are one
}

// TestRateLimitConcurrent takes tokens for one client from many goroutines
// at one instant: exactly burst succeed. Run with -race.
func TestRateLimitConcurrent(t *testing.T) {
	const burst, workers, calls = 500, 32, 100
	clock := newRLClock()
	l := newRateLimiter(rateLimit{burst: burst, every: time.Second}, clock.now)
	hot := netip.MustParseAddr("203.0.113.9")
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		// Each worker also has a client of its own, never on hot's bucket.
		own := netip.AddrFrom4([4]byte{10, 1, byte(w), 0})
		for l.index(own) == l.index(hot) {
			own = own.Next()
		}
		wg.Go(func() {
			for range calls {
				if ok, _ := l.allow(hot); ok {
					allowed.Add(1)
				}
				l.allow(own)
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != burst {
		t.Fatalf("%d of %d concurrent calls allowed, want exactly %d", got, workers*calls, burst)
	}
}

// TestRateLimitMemoryBounded inserts 100,000 distinct client keys: the
// limiter's heap is its fixed array, and allow allocates nothing.
func TestRateLimitMemoryBounded(t *testing.T) {
	const keys = 100_000
	var before, built, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l := newRateLimiter(rateLimit{burst: 5, every: time.Second}, newRLClock().now)
	runtime.GC()
	runtime.ReadMemStats(&built)
	for i := range keys / 2 {
		l.allow(netip.AddrFrom4([4]byte{100, byte(i >> 16), byte(i >> 8), byte(i)}))
		l.allow(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, byte(i >> 16), byte(i >> 8), byte(i), 15: 1}))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(l)

	const (
		size  = int64(unsafe.Sizeof(rateLimiter{}))
		slack = 64 << 10                           // the runtime's and the test harness's own
		bound = rateLimitBuckets*8 + 1<<10 + slack // the buckets, the other fields, slack
	)
	total := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	inserts := int64(after.HeapAlloc) - int64(built.HeapAlloc)
	t.Logf("limiter %d bytes; heap growth: %d bytes in all, %d while inserting %d keys (bounds %d, %d)", size, total, inserts, keys, bound, slack)
	if total > bound {
		t.Errorf("heap grew by %d bytes for a limiter and %d keys, want at most %d", total, keys, bound)
	}
	if inserts > slack {
		t.Errorf("heap grew by %d bytes while inserting %d keys, want at most %d", inserts, keys, slack)
	}
	a := netip.MustParseAddr("2001:db8::1")
	if n := testing.AllocsPerRun(1000, func() { l.allow(a) }); n != 0 {
		t.Errorf("allow allocates %v times a call, want 0", n)
	}
}

// TestRateLimitWiringMistakes: a bad limit is an error from check (for
// Config validation) and a panic from newRateLimiter, as is a nil argument
// to wrap.
func TestRateLimitWiringMistakes(t *testing.T) {
	panics := func(what string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", what)
			}
		}()
		f()
	}
	for _, bad := range []rateLimit{
		{},
		{burst: 0, every: time.Second},
		{burst: -1, every: time.Second},
		{burst: 1, every: 0},
		{burst: 1, every: -time.Second},
		{burst: 2, every: maxRateLimitWindow},
		{burst: 1 << 62, every: time.Second},
	} {
		if bad.check() == nil {
			t.Errorf("%+v: check passed", bad)
		}
		panics(fmt.Sprintf("newRateLimiter(%+v)", bad), func() { newRateLimiter(bad, nil) })
	}
	for _, good := range []rateLimit{{burst: 1, every: time.Nanosecond}, {burst: 10, every: time.Minute}, {burst: 1, every: maxRateLimitWindow}} {
		if err := good.check(); err != nil {
			t.Errorf("%+v: %v", good, err)
		}
	}
	l := newRateLimiter(rateLimit{burst: 1, every: time.Second}, nil)
	ok := http.NotFoundHandler()
	key := func(*http.Request) netip.Addr { return netip.Addr{} }
	panics("wrap with a nil next", func() { l.wrap(nil, key, rlRefuse) })
	panics("wrap with a nil key", func() { l.wrap(ok, nil, rlRefuse) })
	panics("wrap with a nil refuse", func() { l.wrap(ok, key, nil) })
}

func TestRateLimitRetryAfterValue(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "1"},
		{-time.Second, "1"},
		{time.Nanosecond, "1"},
		{time.Second, "1"},
		{time.Second + time.Nanosecond, "2"},
		{59*time.Second + 999*time.Millisecond, "60"},
		{time.Hour, "3600"},
	} {
		if got := retryAfterValue(tc.d); got != tc.want {
			t.Errorf("retryAfterValue(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// BenchmarkRateLimiterAllow takes tokens in parallel: for distinct
// clients (no two goroutines on one bucket but by chance) and for one hot
// client every goroutine contends for, reading time.Now; and for distinct
// clients under a constant clock, the limiter's own cost.
func BenchmarkRateLimiterAllow(b *testing.B) {
	t0 := time.Now()
	fixed := func() time.Time { return t0 }
	distinct := func(now func() time.Time) func(b *testing.B) {
		return func(b *testing.B) {
			l := newRateLimiter(rateLimit{burst: 100, every: time.Millisecond}, now)
			var next atomic.Uint32
			b.RunParallel(func(pb *testing.PB) {
				base := next.Add(1) << 20
				for i := uint32(0); pb.Next(); i++ {
					v := base | i&0xfffff
					l.allow(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}))
				}
			})
		}
	}
	b.Run("distinct", distinct(time.Now))
	b.Run("distinct-fixed-clock", distinct(fixed))
	b.Run("hot", func(b *testing.B) {
		l := newRateLimiter(rateLimit{burst: 100, every: time.Millisecond}, nil)
		a := netip.MustParseAddr("203.0.113.9")
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l.allow(a)
			}
		})
	})
}
