package redisstore

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/clustertest"
	"github.com/portcullis-go/portcullis/middleware"
	"github.com/redis/go-redis/v9"
)

// cutProxy is a TCP proxy in front of Redis that a test can cut — every
// connection closed, new ones accepted and closed at once, as a Redis that
// stopped or a network that dropped would look — and restore.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
	// cutOn, when set, is shown every chunk a client sends: when it
	// reports true the proxy is cut before the chunk is forwarded (a
	// failure in the middle of an operation).
	cutOn func([]byte) bool
}

func startProxy(t testing.TB, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func (p *cutProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		if !p.track(c) {
			c.Close()
			continue
		}
		u, err := net.DialTimeout("tcp", p.target, time.Second)
		if err != nil || !p.track(u) {
			c.Close()
			if u != nil {
				u.Close()
			}
			continue
		}
		p.wg.Add(2)
		go p.forward(u, c)
		go p.pipe(c, u)
	}
}

// track registers c, or reports false while the proxy is cut.
func (p *cutProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *cutProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// forward copies what the client sends to Redis, cutting the proxy
// instead when cutOn says so.
func (p *cutProxy) forward(dst, src net.Conn) {
	defer p.wg.Done()
	defer src.Close()
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			cutOn := p.cutOn
			p.mu.Unlock()
			if cutOn != nil && cutOn(buf[:n]) {
				p.setCut(true)
				return
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// cutWhen makes the proxy cut itself when a client sends a chunk for which
// match reports true (nil: never).
func (p *cutProxy) cutWhen(match func([]byte) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutOn = match
}

// setCut cuts the proxy (closing every connection) or restores it.
func (p *cutProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

func (p *cutProxy) close() {
	p.ln.Close()
	p.setCut(true)
	p.wg.Wait()
}

// proxiedClient is a go-redis client through p with short timeouts and one
// retry, as an application that wants to fail fast would configure it.
func proxiedClient(t testing.TB, p *cutProxy) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr: p.addr(), DialTimeout: 300 * time.Millisecond,
		ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond,
		PoolTimeout: 300 * time.Millisecond, MaxRetries: 1,
		MinRetryBackoff: 5 * time.Millisecond, MaxRetryBackoff: 20 * time.Millisecond,
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// TestClusterRedisDown: Redis becomes unreachable in the middle of a
// session (the proxy in front of it is cut). While it is: protected
// requests get 503 — not 401, not the page, no Set-Cookie that ends the
// session — (with cookie sessions once the revocation mirror is older than
// SharedStaleness, 200 until then); a sign-in ends in 503 before the code
// is redeemed and leaves no session; a logout answers 503; nothing is sent
// to the token endpoint. When Redis is back: the same session works on
// both instances (and refreshes), a logout works and reaches both, and
// nothing is left half-written (no refresh lock, one log entry for the one
// logout that succeeded, the session record intact until it).
func TestClusterRedisDown(t *testing.T) {
	addr := os.Getenv("PORTCULLIS_REDIS_ADDR")
	for _, m := range sessionModes {
		t.Run(m.name, func(t *testing.T) {
			redisClient(t) // skips without Redis
			px := startProxy(t, addr)
			op := newDevOP(t, nil)
			c := startCluster(t, clusterConfig{redisSessions: m.redis, app: proxiedClient(t, px), provider: op.provider})
			_, cookies := c.signIn(t)
			for i := range 2 {
				r := clustertest.Do(t, http.MethodGet, c.URL+"/private", i, true, cookies, nil)
				if r.Status != http.StatusOK {
					t.Fatalf("instance %d before the cut: %d", i, r.Status)
				}
				cookies = clustertest.Merge(cookies, r.Cookies)
			}
			var id string
			if c.store != nil {
				s, err := load(c.store, cookies...)
				if err != nil {
					t.Fatal(err)
				}
				id = s.ID
			}
			base, calls0 := op.Stats(), c.gate.refreshes.Load()

			px.setCut(true)
			for i := range 2 {
				for _, api := range []bool{true, false} {
					r := waitRedisDown(t, c, i, api, cookies)
					if len(r.Cookies) != 0 || strings.Contains(r.Body, "hello") {
						t.Fatalf("instance %d with Redis down: %d cookies set %v, page served %v", i, len(r.Cookies), r.Cookies, strings.Contains(r.Body, "hello"))
					}
				}
			}
			b := clustertest.Browser()
			if r, _ := clustertest.Follow(t, b, c.URL+"/private"); r.Status != http.StatusServiceUnavailable {
				t.Fatalf("a sign-in with Redis down ended with %d, want 503", r.Status)
			}
			if cs := c.SessionCookies(b); len(cs) != 0 {
				t.Fatalf("a sign-in with Redis down left session cookies: %v", cs)
			}
			if r := c.logout(t, 1, cookies); r.Status != http.StatusServiceUnavailable {
				t.Fatalf("logout with Redis down: %d, want 503", r.Status)
			}
			st := op.Stats()
			if st.TokenRequests != base.TokenRequests || st.CodeExchanges != base.CodeExchanges || c.gate.refreshes.Load() != calls0 {
				t.Fatalf("token endpoint called with Redis down: %+v (before %+v)", st, base)
			}
			if c.store != nil {
				if n := c.direct.Exists(context.Background(), c.store.sessionKey(id)).Val(); n != 1 {
					t.Fatal("the session record is gone after the failed logout")
				}
			}

			px.setCut(false)
			for i := range 2 {
				r := c.waitStatus(t, i, cookies, http.StatusOK, "the session after Redis came back", http.StatusServiceUnavailable)
				cookies = clustertest.Merge(cookies, r.Cookies)
			}
			if c.store != nil {
				s, err := load(c.store, cookies...)
				if err != nil || s.ID != id || s.User.Subject != "ada" {
					t.Fatalf("the session record after Redis came back: %v", err)
				}
			}
			if st := op.Stats(); st.Refreshes-base.Refreshes != 2 || st.RefreshReuses != 0 || st.GrantsRevoked != 0 {
				t.Fatalf("provider after Redis came back: %+v, want two refreshes (one per request) and no reuse", st)
			}
			if locks := c.keys(t, "k:refresh-lock:*"); len(locks) != 0 {
				t.Fatalf("refresh locks left: %v", locks)
			}
			if n := c.logEntries(t); n != 0 {
				t.Fatalf("the shared log holds %d entries before any logout succeeded", n)
			}
			if _, cs := c.signIn(t); len(cs) == 0 {
				t.Fatal("no sign-in after Redis came back")
			}
			if r := c.logout(t, 1, cookies); r.Status != http.StatusSeeOther {
				t.Fatalf("logout after Redis came back: %d", r.Status)
			}
			c.waitStatus(t, 0, cookies, http.StatusUnauthorized, "copied cookie after the logout", http.StatusOK)
			if n := c.logEntries(t); n != 1 {
				t.Fatalf("the shared log holds %d entries after one logout", n)
			}
			if c.store != nil && c.direct.Exists(context.Background(), c.store.sessionKey(id)).Val() != 0 {
				t.Fatal("the session record outlived the logout")
			}
		})
	}
}

// waitRedisDown polls instance i until it answers 503 (at most 5 s, a few
// SharedStaleness periods), accepting 200 only before: a fresh revocation
// mirror answers for SharedStaleness without Redis.
func waitRedisDown(t *testing.T, c *cluster, i int, api bool, cookies []*http.Cookie) clustertest.Response {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := clustertest.Do(t, http.MethodGet, c.URL+"/private", i, api, cookies, nil)
		switch {
		case r.Status == http.StatusServiceUnavailable:
			return r
		case r.Status != http.StatusOK || c.store != nil:
			t.Fatalf("instance %d with Redis down (api %v): %d, want 503", i, api, r.Status)
		case len(r.Cookies) != 0:
			t.Fatalf("instance %d with Redis down answered from its mirror and set cookies: %v", i, r.Cookies)
		case time.Now().After(deadline):
			t.Fatalf("instance %d still answers 200 5 s after Redis went down", i)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// memoWrite matches the command that records a refresh's answer (SET of
// a refresh-memo key): the moment after the token endpoint has answered.
func memoWrite(b []byte) bool {
	return bytes.Contains(bytes.ToLower(b), []byte("\r\nset\r\n")) && bytes.Contains(b, []byte("k:refresh-memo:"))
}

// TestClusterRedisCutMidRefresh: Redis is cut between the token
// endpoint's answer and the write of the shared answer. The request that
// refreshed still succeeds with the new tokens; its instance keeps the
// refresh lock and writes the answer once Redis is back, then releases
// the lock, so no instance redeems the spent token; the session goes on
// from the new tokens on both instances with no reuse at the provider. With cookie sessions the browser got the new
// tokens in its cookie; with sessions in Redis the record could not be
// written, and the instance that refreshed answers the old refresh token
// from its memo and writes the record on the next request.
func TestClusterRedisCutMidRefresh(t *testing.T) {
	addr := os.Getenv("PORTCULLIS_REDIS_ADDR")
	for _, m := range sessionModes {
		t.Run(m.name, func(t *testing.T) {
			redisClient(t) // skips without Redis
			px := startProxy(t, addr)
			op := newDevOP(t, nil)
			c := startCluster(t, clusterConfig{redisSessions: m.redis, app: proxiedClient(t, px), provider: op.provider,
				edit: func(i int, mc *middleware.Config) {
					mc.SharedStaleness = time.Minute // the revocation check answers from the mirror
					mc.RefreshTimeout = time.Second
				}})
			_, cookies := c.signIn(t)
			for i := range 2 {
				r := clustertest.Do(t, http.MethodGet, c.URL+"/token", i, true, cookies, nil)
				if r.Status != http.StatusOK {
					t.Fatalf("instance %d before the cut: %d", i, r.Status)
				}
				cookies = clustertest.Merge(cookies, r.Cookies)
			}
			base := op.Stats()

			px.cutWhen(memoWrite)
			cut := clustertest.Do(t, http.MethodGet, c.URL+"/token", 0, true, cookies, nil)
			px.cutWhen(nil)
			if st := op.Stats(); cut.Status != http.StatusOK || st.Refreshes-base.Refreshes != 1 {
				t.Fatalf("the request cut after its refresh: %d, %d refreshes", cut.Status, st.Refreshes-base.Refreshes)
			}
			if c.store == nil && len(cut.Cookies) == 0 {
				t.Fatal("the refreshed tokens did not reach the browser's cookie")
			}
			if c.store != nil && len(cut.Cookies) != 0 {
				t.Fatalf("a cookie was set although the record could not be written: %v", cut.Cookies)
			}
			px.setCut(false)

			// The holder writes the answer once Redis is back, and only
			// then releases its lock.
			deadline := time.Now().Add(5 * time.Second)
			for len(c.keys(t, "k:refresh-lock:*")) != 0 || len(c.keys(t, "k:refresh-memo:*")) == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("5 s after Redis came back: locks %v, answers %v; want the answer written and the lock released",
						c.keys(t, "k:refresh-lock:*"), c.keys(t, "k:refresh-memo:*"))
				}
				time.Sleep(20 * time.Millisecond)
			}
			next := clustertest.Merge(cookies, cut.Cookies)
			order := []int{1, 0}
			if c.store != nil {
				// The refreshing instance first: it holds the answer.
				order = []int{0, 1}
				r := clustertest.Do(t, http.MethodGet, c.URL+"/token", 0, true, next, nil)
				if r.Status != http.StatusOK || r.Body != cut.Body {
					t.Fatalf("the refreshing instance after the cut: %d, its answer %v", r.Status, r.Body == cut.Body)
				}
				if s, err := load(c.store, next...); err != nil || s.Tokens.AccessToken != cut.Body {
					t.Fatalf("the record was not repaired from the memo: %v", err)
				}
			}
			last := cut.Body
			for _, i := range order {
				r := clustertest.Do(t, http.MethodGet, c.URL+"/token", i, true, next, nil)
				if r.Status != http.StatusOK || r.Body == last {
					t.Fatalf("instance %d after Redis came back: %d, new token %v", i, r.Status, r.Body != last)
				}
				last, next = r.Body, clustertest.Merge(next, r.Cookies)
			}
			if st := op.Stats(); st.Refreshes-base.Refreshes != 3 || st.RefreshReuses != 0 || st.GrantsRevoked != 0 {
				t.Fatalf("provider after the recovery: %+v", st)
			}
		})
	}
}
