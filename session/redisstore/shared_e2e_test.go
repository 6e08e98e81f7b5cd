package redisstore

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/clustertest"
	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/providers/devoidc"
	"github.com/redis/go-redis/v9"
)

// redisCluster is two middleware instances behind one address sharing a
// Shared on the test Redis, signing in with one devoidc. Access tokens
// live 5 minutes and RefreshBefore is 30, so every request carrying a
// token is due for a refresh.
func redisCluster(t *testing.T) (*clustertest.Cluster, *devoidc.Server, *Shared, *redis.Client) {
	t.Helper()
	sh, rdb := testShared(t, nil)
	opTS := httptest.NewServer(nil)
	t.Cleanup(opTS.Close)
	var op *devoidc.Server
	c := clustertest.Start(t, clustertest.Config{
		Provider: func(t testing.TB, baseURL string) *providers.Provider {
			if op == nil {
				var err error
				op, err = devoidc.New(devoidc.Config{
					Issuer: opTS.URL,
					Clients: []devoidc.Client{{
						ID: "app", Secret: "app-secret",
						RedirectURIs:           []string{baseURL + "/auth/callback/dev"},
						PostLogoutRedirectURIs: []string{baseURL + "/auth/logout/callback"},
					}},
					AutoLogin: "ada",
				})
				if err != nil {
					t.Fatal(err)
				}
				opTS.Config.Handler = op
			}
			p, err := providers.OIDC(context.Background(), providers.OIDCConfig{
				Name: "dev", Issuer: opTS.URL, ClientID: "app", ClientSecret: "app-secret",
			})
			if err != nil {
				t.Fatal(err)
			}
			return p
		},
		Shared: func(int) middleware.SharedState { return sh },
		Edit:   func(i int, c *middleware.Config) { c.RefreshBefore = 30 * time.Minute },
	})
	return c, op, sh, rdb
}

// TestSharedMiddlewareCluster runs two middleware instances on one Redis:
// a sign-in that crosses them; 50 concurrent requests over both with a
// token due make one token-endpoint call; no Redis value holds the token;
// a logout on one instance reaches the other; after Redis loses its data
// each instance still refuses the session it saw logged out, and a later
// logout reaches the other instance again.
func TestSharedMiddlewareCluster(t *testing.T) {
	c, op, sh, rdb := redisCluster(t)
	ctx := t.Context()
	signIn := func() []*http.Cookie {
		t.Helper()
		b := clustertest.Browser()
		if resp, _ := clustertest.Follow(t, b, c.URL+"/private"); resp.Status != http.StatusOK {
			t.Fatalf("sign-in ended with %d %q", resp.Status, resp.Body)
		}
		return c.SessionCookies(b)
	}
	cookies := signIn()
	base := op.Stats().Refreshes

	const n = 50
	var wg sync.WaitGroup
	res := make([]clustertest.Response, n)
	for i := range n {
		wg.Go(func() { res[i] = clustertest.Do(t, "GET", c.URL+"/token", i%2, true, cookies, nil) })
	}
	wg.Wait()
	for i, r := range res {
		if r.Status != http.StatusOK || r.Body != res[0].Body {
			t.Fatalf("request %d (instance %s): %d, same token as the others: %v", i, r.ServedBy, r.Status, r.Body == res[0].Body)
		}
	}
	if st := op.Stats(); st.Refreshes-base != 1 || st.RefreshReuses != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("after %d concurrent requests over 2 instances: %+v, want exactly one refresh and no reuse", n, st)
	}
	iter := rdb.Scan(ctx, 0, sh.prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		if v, _ := rdb.Dump(ctx, iter.Val()).Result(); strings.Contains(v, res[0].Body) || strings.Contains(iter.Val(), res[0].Body) {
			t.Fatalf("Redis key %q holds the access token", iter.Val())
		}
	}

	logout := func(cookies []*http.Cookie) {
		t.Helper()
		r := clustertest.Do(t, "POST", c.URL+"/auth/logout", 0, false, cookies, http.Header{"Origin": {c.URL}, "Sec-Fetch-Site": {"same-origin"}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("logout on instance 0: %d", r.Status)
		}
	}
	waitStatus := func(i int, cookies []*http.Cookie, status int, what string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			r := clustertest.Do(t, "GET", c.URL+"/private", i, true, cookies, nil)
			if r.Status == status {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d, want %d", what, r.Status, status)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	second := signIn()
	waitStatus(1, cookies, http.StatusOK, "first session on instance 1 before the logout")
	logout(cookies)
	waitStatus(1, cookies, http.StatusUnauthorized, "first session on instance 1 after the logout on instance 0")

	// Redis loses everything (restarted without persistence).
	deletePrefix(ctx, rdb, sh.prefix)
	waitStatus(1, second, http.StatusOK, "second session on instance 1 after Redis lost its data")
	for i := range 2 {
		if r := clustertest.Do(t, "GET", c.URL+"/private", i, true, cookies, nil); r.Status != http.StatusUnauthorized {
			t.Fatalf("first session on instance %d after Redis lost the log: %d, want 401 (the mirror keeps it)", i, r.Status)
		}
	}
	logout(second)
	waitStatus(1, second, http.StatusUnauthorized, "second session on instance 1 after its logout following the loss")
}
