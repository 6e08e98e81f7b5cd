package redisstore

import (
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/clustertest"
	"github.com/portcullis-go/portcullis/middleware"
)

// TestClusterRedisCutMidRefreshReplay: Redis fails between the token
// endpoint's answer and the write of the shared answer (see
// TestClusterRedisCutMidRefresh), then comes back. A request of the same
// session that reaches the other instance — a stale cookie in cookie
// sessions, the session itself in Redis sessions, whose record still holds
// the spent refresh token — must not redeem the spent token again: a
// provider that detects reuse (devoidc here, node-oidc-provider, Keycloak)
// would revoke the grant and sign the user out.
//
// No second redemption (RefreshReuses 0, GrantsRevoked 0) and the session
// still working: the holder writes the answer once Redis takes it
// (middleware sharedRefresh.republish) and keeps the lock until then, and
// a waiter that saw the lock never takes it over. (Before that fix:
// RefreshReuses 1, GrantsRevoked 1, 401.)
func TestClusterRedisCutMidRefreshReplay(t *testing.T) {
	addr := os.Getenv("PORTCULLIS_REDIS_ADDR")
	for _, m := range sessionModes {
		t.Run(m.name, func(t *testing.T) {
			redisClient(t)
			px := startProxy(t, addr)
			op := newDevOP(t, nil)
			c := startCluster(t, clusterConfig{redisSessions: m.redis, app: proxiedClient(t, px), provider: op.provider,
				edit: func(i int, mc *middleware.Config) {
					mc.SharedStaleness = time.Minute
					mc.RefreshTimeout = time.Second // the lock lives 6 s
				}})
			_, cookies := c.signIn(t)
			for i := range 2 {
				r := clustertest.Do(t, http.MethodGet, c.URL+"/token", i, true, cookies, nil)
				cookies = clustertest.Merge(cookies, r.Cookies)
			}
			px.cutWhen(memoWrite)
			cut := clustertest.Do(t, http.MethodGet, c.URL+"/token", 0, true, cookies, nil)
			px.cutWhen(nil)
			px.setCut(false)
			if cut.Status != http.StatusOK {
				t.Fatalf("the request cut after its refresh: %d", cut.Status)
			}
			// The old cookie (cookie sessions) or the same one (Redis
			// sessions: the record was not rewritten) on the other
			// instance.
			start := time.Now()
			r := clustertest.Do(t, http.MethodGet, c.URL+"/token", 1, true, cookies, nil)
			st := op.Stats()
			t.Logf("instance 1 answered after %v: %d; devoidc %+v", time.Since(start).Round(time.Millisecond), r.Status, st)
			if st.RefreshReuses != 0 || st.GrantsRevoked != 0 {
				t.Errorf("the spent refresh token was redeemed again once the kept lock expired: %d reuse, %d grant revoked", st.RefreshReuses, st.GrantsRevoked)
			}
			next := clustertest.Merge(cookies, cut.Cookies)
			if r := clustertest.Do(t, http.MethodGet, c.URL+"/token", 1, true, next, nil); r.Status != http.StatusOK {
				t.Errorf("the session after that: %d, want 200", r.Status)
			}
		})
	}
}
