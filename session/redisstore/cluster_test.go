package redisstore

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/clustertest"
	"github.com/portcullis-go/portcullis/middleware"
)

// devCluster is a cluster on one Redis whose instances sign in at one
// devoidc (AutoLogin "ada", 5-minute access tokens, so that with the
// cluster's RefreshBefore every request is due for a refresh).
func devCluster(t *testing.T, redisSessions bool, edit func(i int, c *middleware.Config)) (*cluster, *devOP) {
	t.Helper()
	op := newDevOP(t, nil)
	c := startCluster(t, clusterConfig{redisSessions: redisSessions, provider: op.provider, edit: edit})
	return c, op
}

// concurrentTokens sends n concurrent /token requests with cookies,
// alternating between the instances, while the token endpoint is held
// until every request has read its session (so that they all carry the
// same refresh token), and returns the responses.
func concurrentTokens(t *testing.T, c *cluster, n int, cookies []*http.Cookie) []clustertest.Response {
	t.Helper()
	loads0, served0 := c.loads.Load(), c.served()
	ready := func() bool {
		if c.store != nil {
			return c.loads.Load()-loads0 >= int64(n)
		}
		return c.served()-served0 >= int64(n)
	}
	released := c.gate.hold(ready, 5*time.Second)
	var wg sync.WaitGroup
	res := make([]clustertest.Response, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = clustertest.Do(t, http.MethodGet, c.URL+"/token", i%2, true, cookies, nil)
		}()
	}
	wg.Wait()
	if !released() {
		t.Fatalf("the %d requests had not all read their session after 5 s", n)
	}
	for i, r := range res {
		if r.Status != http.StatusOK || r.Body != res[0].Body {
			t.Fatalf("request %d (instance %s): %d, same token as the others: %v", i, r.ServedBy, r.Status, r.Body == res[0].Body)
		}
	}
	return res
}

// TestClusterSignInAndRefresh: a login that crosses the two instances is
// valid on both; 50 concurrent requests spread over both with the token
// due make exactly one token-endpoint call and all succeed with the same
// new token (devoidc, which revokes the grant on reuse, sees none); the
// session goes on refreshing on either instance; nothing in Redis but the
// session records holds a token.
func TestClusterSignInAndRefresh(t *testing.T) {
	for _, m := range sessionModes {
		t.Run(m.name, func(t *testing.T) {
			c, op := devCluster(t, m.redis, nil)
			served, cookies := c.signIn(t)
			if s := strings.Join(served, ""); !strings.Contains(s, "0") || !strings.Contains(s, "1") {
				t.Fatalf("the sign-in did not cross instances: %v", served)
			}
			for i := range 2 {
				r := clustertest.Do(t, http.MethodGet, c.URL+"/private", i, true, cookies, nil)
				if r.Status != http.StatusOK || r.Body != "hello ada" {
					t.Fatalf("instance %d after the sign-in: %d %q", i, r.Status, r.Body)
				}
				cookies = clustertest.Merge(cookies, r.Cookies)
			}
			base, calls0 := op.Stats(), c.gate.refreshes.Load()

			const n = 50
			res := concurrentTokens(t, c, n, cookies)
			st := op.Stats()
			if st.Refreshes-base.Refreshes != 1 || st.RefreshReuses != 0 || st.GrantsRevoked != 0 || c.gate.refreshes.Load()-calls0 != 1 {
				t.Fatalf("after %d concurrent requests over 2 instances: %d refresh grants sent, %+v; want exactly one and no reuse",
					n, c.gate.refreshes.Load()-calls0, st)
			}
			t.Logf("%d concurrent requests over 2 instances (%s): %d token-endpoint call, %d × 200, reuses %d, grants revoked %d",
				n, m.name, st.Refreshes-base.Refreshes, n, st.RefreshReuses, st.GrantsRevoked)

			if c.store == nil {
				// The stale cookie on each instance: answered from the
				// shared answer, not refreshed again.
				for i := range 2 {
					r := clustertest.Do(t, http.MethodGet, c.URL+"/token", i, true, cookies, nil)
					if r.Status != http.StatusOK || r.Body != res[0].Body {
						t.Fatalf("stale cookie on instance %d: %d, rotated token %v", i, r.Status, r.Body == res[0].Body)
					}
				}
				if st := op.Stats(); st.Refreshes-base.Refreshes != 1 || st.RefreshReuses != 0 {
					t.Fatalf("stale cookies refreshed again: %+v", st)
				}
				cookies = clustertest.Merge(cookies, res[0].Cookies)
			} else {
				// The cookie holds only the id: the record holds the
				// rotated tokens.
				s, err := load(c.store, cookies...)
				if err != nil || s.Tokens.AccessToken != res[0].Body {
					t.Fatalf("the record after the refresh: %v, rotated token %v", err, err == nil && s.Tokens.AccessToken == res[0].Body)
				}
			}
			// The rotated session refreshes again, on one instance then
			// the other: the grant is intact.
			last := res[0].Body
			for k, i := range []int{1, 0} {
				r := clustertest.Do(t, http.MethodGet, c.URL+"/token", i, true, cookies, nil)
				if r.Status != http.StatusOK || r.Body == last {
					t.Fatalf("refresh %d, on instance %d: %d, new token %v", k+2, i, r.Status, r.Body != last)
				}
				last, cookies = r.Body, clustertest.Merge(cookies, r.Cookies)
			}
			if st := op.Stats(); st.Refreshes-base.Refreshes != 3 || st.RefreshReuses != 0 || st.GrantsRevoked != 0 {
				t.Fatalf("after two more refreshes: %+v", st)
			}
			// No shared value holds a token in the clear.
			for _, k := range c.keys(t, "k:*") {
				v, _ := c.direct.Get(context.Background(), k).Result()
				if strings.Contains(k, last) || strings.Contains(v, last) || strings.Contains(v, res[0].Body) {
					t.Fatalf("the shared entry %s holds an access token", k)
				}
			}
			if locks := c.keys(t, "k:refresh-lock:*"); len(locks) != 0 {
				t.Fatalf("refresh locks left after every refresh answered: %v", locks)
			}
		})
	}
}

// TestClusterLogout: a logout on one instance ends the session on the
// other: a copy of the cookie made before it is refused by both, the
// other within SharedStaleness (at once with sessions in Redis, whose
// record is gone). Auth.EndSessions on one instance does the same for
// every session of the user.
func TestClusterLogout(t *testing.T) {
	for _, m := range sessionModes {
		t.Run(m.name, func(t *testing.T) {
			c, op := devCluster(t, m.redis, func(i int, c *middleware.Config) { c.RefreshBefore = 0 })
			_, cookies := c.signIn(t)
			_, other := c.signIn(t)
			for i := range 2 {
				for _, cs := range [][]*http.Cookie{cookies, other} {
					if r := clustertest.Do(t, http.MethodGet, c.URL+"/private", i, true, cs, nil); r.Status != http.StatusOK {
						t.Fatalf("instance %d before logout: %d", i, r.Status)
					}
				}
			}
			if r := c.logout(t, 0, cookies); r.Status != http.StatusSeeOther {
				t.Fatalf("logout on instance 0: %d %s", r.Status, r.Body)
			}
			if r := clustertest.Do(t, http.MethodGet, c.URL+"/private", 0, true, cookies, nil); r.Status != http.StatusUnauthorized {
				t.Fatalf("copied cookie on instance 0 after its logout: %d, want 401", r.Status)
			}
			if c.store != nil {
				if r := clustertest.Do(t, http.MethodGet, c.URL+"/private", 1, true, cookies, nil); r.Status != http.StatusUnauthorized {
					t.Fatalf("copied cookie on instance 1 after the logout (record deleted): %d, want 401 at once", r.Status)
				}
			}
			c.waitStatus(t, 1, cookies, http.StatusUnauthorized, "copied cookie after the logout on instance 0", http.StatusOK)
			if r := clustertest.Do(t, http.MethodGet, c.URL+"/private", 1, true, other, nil); r.Status != http.StatusOK {
				t.Fatalf("another session of the same user after the logout: %d", r.Status)
			}
			if n := c.logEntries(t); n != 1 {
				t.Fatalf("shared revocation log: %d entries after one logout", n)
			}

			// Sign out everywhere, from instance 1.
			if err := c.Auths[1].EndSessions(context.Background(), "dev", "ada"); err != nil {
				t.Fatal(err)
			}
			if r := clustertest.Do(t, http.MethodGet, c.URL+"/private", 1, true, other, nil); r.Status != http.StatusUnauthorized {
				t.Fatalf("session on instance 1 after its EndSessions: %d", r.Status)
			}
			c.waitStatus(t, 0, other, http.StatusUnauthorized, "session after EndSessions on the other instance", http.StatusOK)
			if _, fresh := c.signIn(t); len(fresh) == 0 {
				t.Fatal("no sign-in after EndSessions")
			}
			if st := op.Stats(); st.RefreshReuses != 0 {
				t.Fatalf("provider: %+v", st)
			}
		})
	}
}

// TestClusterBackchannelLogout: devoidc's back-channel logout reaches one
// instance (the round robin picks it) and ends the session on both.
func TestClusterBackchannelLogout(t *testing.T) {
	for _, m := range sessionModes {
		t.Run(m.name, func(t *testing.T) {
			c, op := devCluster(t, m.redis, func(i int, c *middleware.Config) { c.RefreshBefore = 0 })
			_, cookies := c.signIn(t)
			if n := op.op.Load().EndSessions("ada"); n != 1 {
				t.Fatalf("devoidc ended %d sessions, want 1", n)
			}
			deadline := time.Now().Add(10 * time.Second)
			for op.Stats().BackchannelSent == 0 {
				if time.Now().After(deadline) || op.Stats().BackchannelFailed > 0 {
					t.Fatalf("no logout token delivered: %+v", op.Stats())
				}
				time.Sleep(20 * time.Millisecond)
			}
			for i := range 2 {
				c.waitStatus(t, i, cookies, http.StatusUnauthorized, "session after the back-channel logout", http.StatusOK)
			}
			if keys := c.keys(t, "k:jti:*"); len(keys) != 1 {
				t.Fatalf("logout tokens recorded: %d, want 1", len(keys))
			}
		})
	}
}

// TestClusterCallbackOnce: a callback replayed on the other instance (a
// retried request the load balancer sent elsewhere) is refused before the
// code is redeemed again.
func TestClusterCallbackOnce(t *testing.T) {
	for _, m := range sessionModes {
		t.Run(m.name, func(t *testing.T) {
			c, op := devCluster(t, m.redis, nil)
			b := clustertest.Browser()
			r := clustertest.Do(t, http.MethodGet, c.URL+"/auth/login?return_to=/private", 0, false, nil, nil)
			if r.Status != http.StatusFound && r.Status != http.StatusSeeOther {
				t.Fatalf("login start: %d", r.Status)
			}
			flow := r.Cookies
			resp, err := b.Get(r.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			callback := resp.Header.Get("Location")
			if !strings.Contains(callback, "/auth/callback/dev?") {
				t.Fatalf("devoidc did not redirect to the callback: %d %q", resp.StatusCode, callback)
			}
			first := clustertest.Do(t, http.MethodGet, callback, 0, false, flow, nil)
			second := clustertest.Do(t, http.MethodGet, callback, 1, false, flow, nil)
			if first.Status != http.StatusSeeOther {
				t.Fatalf("first callback: %d", first.Status)
			}
			if second.Status != http.StatusBadRequest {
				t.Fatalf("the same callback on the other instance: %d, want 400", second.Status)
			}
			if s := op.Stats(); s.CodeExchanges != 1 || s.GrantsRevoked != 0 {
				t.Fatalf("provider: %+v, want one exchange and nothing revoked", s)
			}
			// The session the first callback made works on both.
			cookies := clustertest.Merge(nil, first.Cookies)
			for i := range 2 {
				r := clustertest.Do(t, http.MethodGet, c.URL+"/private", i, true, cookies, nil)
				if r.Status != http.StatusOK {
					t.Fatalf("the session of the first callback on instance %d: %d", i, r.Status)
				}
				cookies = clustertest.Merge(cookies, r.Cookies)
			}
		})
	}
}
