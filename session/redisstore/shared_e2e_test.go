package redisstore

import (
	"context"
	"net/http"
	"testing"

	"github.com/portcullis-go/portcullis/internal/clustertest"
	"github.com/portcullis-go/portcullis/middleware"
)

// TestClusterRedisLost: Redis loses everything under the cluster's prefix
// (a restart without persistence, FLUSHALL). Each instance goes on
// refusing the session it saw logged out (its mirror keeps what it read),
// admits the others without a 503, and a logout recorded after the loss
// reaches the other instance: the log's numbers go on above the ones the
// instances have read.
func TestClusterRedisLost(t *testing.T) {
	c, _ := devCluster(t, false, func(i int, c *middleware.Config) { c.RefreshBefore = 0 })
	_, first := c.signIn(t)
	_, second := c.signIn(t)
	if r := c.logout(t, 0, first); r.Status != http.StatusSeeOther {
		t.Fatalf("logout on instance 0: %d", r.Status)
	}
	c.waitStatus(t, 1, first, http.StatusUnauthorized, "first session after its logout", http.StatusOK)
	c.waitStatus(t, 1, second, http.StatusOK, "second session before the loss")

	deletePrefix(context.Background(), c.direct, c.prefix)
	if n := len(c.keys(t, "*")); n != 0 {
		t.Fatalf("%d keys left after the loss", n)
	}
	for i := range 2 {
		c.waitStatus(t, i, second, http.StatusOK, "second session after the loss")
		if r := clustertest.Do(t, http.MethodGet, c.URL+"/private", i, true, first, nil); r.Status != http.StatusUnauthorized {
			t.Fatalf("first session on instance %d after the loss: %d, want 401 (the mirror keeps it)", i, r.Status)
		}
	}
	if r := c.logout(t, 0, second); r.Status != http.StatusSeeOther {
		t.Fatalf("logout on instance 0 after the loss: %d", r.Status)
	}
	c.waitStatus(t, 1, second, http.StatusUnauthorized, "second session after its logout, recorded after the loss", http.StatusOK)
}
