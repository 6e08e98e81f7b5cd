package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/clustertest"
	"github.com/portcullis-go/portcullis/internal/sharedmem"
	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/providers/devoidc"
)

// devCluster is two instances sharing st, signing in with one devoidc.
// RefreshBefore is its maximum (30 minutes) and devoidc's access tokens
// live 5, so every request of a session is due for a refresh: each
// rotation happens on the first request that carries a token.
func devCluster(t *testing.T, st middleware.SharedState, edit func(i int, c *middleware.Config)) (*clustertest.Cluster, *devoidc.Server) {
	t.Helper()
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
						BackchannelLogoutURI:   baseURL + "/auth/backchannel-logout/dev",
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
		Shared: func(int) middleware.SharedState { return st },
		Edit: func(i int, c *middleware.Config) {
			c.RefreshBefore = 30 * time.Minute
			if edit != nil {
				edit(i, c)
			}
		},
	})
	return c, op
}

// signIn signs in through the cluster, round robin, and returns the
// session cookies and the instances that served the flow.
func signIn(t *testing.T, c *clustertest.Cluster) ([]string, []*http.Cookie) {
	t.Helper()
	b := clustertest.Browser()
	resp, served := clustertest.Follow(t, b, c.URL+"/private")
	if resp.Status != http.StatusOK || !strings.HasPrefix(resp.Body, "hello ") {
		t.Fatalf("sign-in ended with %d %q", resp.Status, resp.Body)
	}
	return served, c.SessionCookies(b)
}

// TestClusterSignInAndRefresh: a login that crosses instances is valid on
// both; 50 concurrent requests spread over both instances with a token
// due for refresh make exactly one token-endpoint call and all succeed
// with the same new token; the stale cookie on either instance gets the
// rotated tokens; devoidc (which revokes the grant on reuse) sees none.
func TestClusterSignInAndRefresh(t *testing.T) {
	st := sharedmem.New(nil)
	c, op := devCluster(t, st, nil)
	served, cookies := signIn(t, c)
	if !strings.Contains(strings.Join(served, ""), "0") || !strings.Contains(strings.Join(served, ""), "1") {
		t.Fatalf("the sign-in did not cross instances: %v", served)
	}
	base := op.Stats().Refreshes

	const n = 50
	var wg sync.WaitGroup
	res := make([]clustertest.Response, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = clustertest.Do(t, "GET", c.URL+"/token", i%2, true, cookies, nil)
		}()
	}
	wg.Wait()
	for i, r := range res {
		if r.Status != 200 || r.Body != res[0].Body {
			t.Fatalf("request %d (instance %s): %d, same token as the others: %v", i, r.ServedBy, r.Status, r.Body == res[0].Body)
		}
	}
	if st := op.Stats(); st.Refreshes-base != 1 || st.RefreshReuses != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("after %d concurrent requests over 2 instances: %+v, want exactly one refresh and no reuse", n, st)
	}
	t.Logf("%d concurrent requests over 2 instances → %d token-endpoint call", n, op.Stats().Refreshes-base)

	// The old cookie again, on each instance: answered from the memo.
	for i := range 2 {
		if r := clustertest.Do(t, "GET", c.URL+"/token", i, true, cookies, nil); r.Status != 200 || r.Body != res[0].Body {
			t.Fatalf("stale cookie on instance %d: %d, rotated token %v", i, r.Status, r.Body == res[0].Body)
		}
	}
	if st := op.Stats(); st.Refreshes-base != 1 || st.RefreshReuses != 0 {
		t.Fatalf("stale cookies refreshed again: %+v", st)
	}
	// The rotated session refreshes again, on the other instance.
	next := clustertest.Merge(cookies, res[0].Cookies)
	if r := clustertest.Do(t, "GET", c.URL+"/token", 1, true, next, nil); r.Status != 200 || r.Body == res[0].Body {
		t.Fatalf("second refresh: %d, new token %v", r.Status, r.Body != res[0].Body)
	}
	if st := op.Stats(); st.Refreshes-base != 2 || st.RefreshReuses != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("after the second refresh: %+v", st)
	}
	// Nothing in the shared store holds a token in the clear: not its
	// keys, and not its values (the refresh answers, which carry the
	// tokens, are sealed).
	keys := st.Keys()
	if len(keys) == 0 {
		t.Fatal("the shared store is empty: the refresh left no answer to check")
	}
	for _, k := range keys {
		v, _, err := st.Get(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(k, res[0].Body) || strings.Contains(string(v), res[0].Body) {
			t.Fatalf("the shared entry %s holds the access token in the clear", k)
		}
	}
}

// TestClusterLogout: a logout on one instance ends the session on the
// other: a copy of the cookie made before is refused by both, the other
// within SharedStaleness.
func TestClusterLogout(t *testing.T) {
	st := sharedmem.New(nil)
	c, _ := devCluster(t, st, func(i int, c *middleware.Config) { c.RefreshBefore = 0 })
	_, cookies := signIn(t, c)
	for i := range 2 {
		if r := clustertest.Do(t, "GET", c.URL+"/private", i, true, cookies, nil); r.Status != 200 {
			t.Fatalf("instance %d before logout: %d", i, r.Status)
		}
	}
	r := clustertest.Do(t, "POST", c.URL+"/auth/logout", 0, false, cookies, http.Header{"Origin": {c.URL}, "Sec-Fetch-Site": {"same-origin"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("logout on instance 0: %d %s", r.Status, r.Body)
	}
	if r := clustertest.Do(t, "GET", c.URL+"/private", 0, true, cookies, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("copied cookie on instance 0 after its logout: %d, want 401", r.Status)
	}
	waitStatus(t, c, 1, cookies, http.StatusUnauthorized, "copied cookie on instance 1 after the logout on instance 0")
}

// waitStatus polls instance i with cookies until it answers status, for at
// most a few SharedStaleness periods.
func waitStatus(t *testing.T, c *clustertest.Cluster, i int, cookies []*http.Cookie, status int, what string) {
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

// TestClusterBackchannelLogout: devoidc's back-channel logout reaches one
// instance (the load balancer picks it) and ends the session on both.
func TestClusterBackchannelLogout(t *testing.T) {
	st := sharedmem.New(nil)
	c, op := devCluster(t, st, func(i int, c *middleware.Config) { c.RefreshBefore = 0 })
	_, cookies := signIn(t, c)
	if n := op.EndSessions("ada"); n != 1 {
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
		waitStatus(t, c, i, cookies, http.StatusUnauthorized, "session after the back-channel logout")
	}
}

// TestClusterCallbackOnce: a callback replayed on the other instance (a
// retried request the load balancer sent elsewhere) is refused before the
// code is redeemed again.
func TestClusterCallbackOnce(t *testing.T) {
	st := sharedmem.New(nil)
	c, op := devCluster(t, st, nil)
	b := clustertest.Browser()
	// Walk the login by hand to hold the callback URL and the flow cookie.
	r := clustertest.Do(t, "GET", c.URL+"/auth/login?return_to=/private", 0, false, nil, nil)
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
	first := clustertest.Do(t, "GET", callback, 0, false, flow, nil)
	second := clustertest.Do(t, "GET", callback, 1, false, flow, nil)
	if first.Status != http.StatusSeeOther {
		t.Fatalf("first callback: %d", first.Status)
	}
	if second.Status != http.StatusBadRequest {
		t.Fatalf("the same callback on the other instance: %d, want 400", second.Status)
	}
	if s := op.Stats(); s.CodeExchanges != 1 || s.GrantsRevoked != 0 {
		t.Fatalf("provider: %+v, want one exchange and nothing revoked", s)
	}
}

// TestClusterStoreDown: with the shared store unreachable, instances fail
// closed — a protected request whose revocation check cannot be made gets
// 503, not 401 and not the page; a sign-in cannot finish; a refresh is not
// attempted (no token-endpoint call) — and everything works again when it
// is back, with the same session.
func TestClusterStoreDown(t *testing.T) {
	st := sharedmem.New(nil)
	c, op := devCluster(t, st, nil)
	_, cookies := signIn(t, c)
	base := op.Stats().Refreshes
	st.SetDown(true)
	time.Sleep(1100 * time.Millisecond) // past SharedStaleness: the mirrors are stale
	for i := range 2 {
		r := clustertest.Do(t, "GET", c.URL+"/private", i, true, cookies, nil)
		if r.Status != http.StatusServiceUnavailable || len(r.Cookies) != 0 {
			t.Fatalf("instance %d with the store down: %d, %d cookies set, want 503 and none", i, r.Status, len(r.Cookies))
		}
		if strings.Contains(r.Body, "hello") {
			t.Fatalf("instance %d served the page with the store down", i)
		}
	}
	b := clustertest.Browser()
	if r, _ := clustertest.Follow(t, b, c.URL+"/private"); r.Status != http.StatusServiceUnavailable {
		t.Fatalf("a sign-in with the store down ended with %d, want 503", r.Status)
	}
	if len(c.SessionCookies(b)) != 0 {
		t.Fatal("a sign-in with the store down left a session cookie")
	}
	if s := op.Stats(); s.Refreshes != base || s.GrantsRevoked != 0 {
		t.Fatalf("provider while the store was down: %+v", s)
	}
	st.SetDown(false)
	for i := range 2 {
		r := clustertest.Do(t, "GET", c.URL+"/private", i, true, cookies, nil)
		if r.Status != 200 {
			t.Fatalf("instance %d after the store came back: %d", i, r.Status)
		}
		cookies = clustertest.Merge(cookies, r.Cookies)
	}
	if _, cs := signIn(t, c); len(cs) == 0 {
		t.Fatal("no sign-in after the store came back")
	}
	if s := op.Stats(); s.RefreshReuses != 0 || s.GrantsRevoked != 0 {
		t.Fatalf("provider after recovery: %+v", s)
	}
}

// TestClusterRefreshStoreDownTokenValid: with the store down, a session
// whose token is still valid keeps working on the instance that has its
// revocation mirror fresh — and no refresh is attempted.
func TestClusterRefreshStoreDownTokenValid(t *testing.T) {
	st := sharedmem.New(nil)
	c, op := devCluster(t, st, func(i int, c *middleware.Config) { c.SharedStaleness = time.Minute })
	_, cookies := signIn(t, c)
	// Bring both mirrors up to date while the store answers.
	for i := range 2 {
		r := clustertest.Do(t, "GET", c.URL+"/private", i, true, cookies, nil)
		cookies = clustertest.Merge(cookies, r.Cookies)
	}
	base := op.Stats().Refreshes
	st.SetDown(true)
	r := clustertest.Do(t, "GET", c.URL+"/private", 0, true, cookies, nil)
	if r.Status != 200 || len(r.Cookies) != 0 {
		t.Fatalf("token still valid, store down: %d, %d cookies, want 200 and no rotation", r.Status, len(r.Cookies))
	}
	if s := op.Stats(); s.Refreshes != base {
		t.Fatalf("a refresh was attempted without the shared lock: %+v", s)
	}
}

// TestClusterStoreLost: the shared store loses everything (a Redis
// restarted without persistence): an instance keeps enforcing the logouts
// it had read, and reads the ones recorded after.
func TestClusterStoreLost(t *testing.T) {
	st := sharedmem.New(nil)
	c, _ := devCluster(t, st, func(i int, c *middleware.Config) { c.RefreshBefore = 0 })
	_, first := signIn(t, c)
	_, second := signIn(t, c)
	logout := func(cookies []*http.Cookie) {
		t.Helper()
		r := clustertest.Do(t, "POST", c.URL+"/auth/logout", 0, false, cookies, http.Header{"Origin": {c.URL}, "Sec-Fetch-Site": {"same-origin"}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("logout: %d", r.Status)
		}
	}
	logout(first)
	waitStatus(t, c, 1, first, http.StatusUnauthorized, "first session on instance 1")
	st.Reset()
	waitStatus(t, c, 1, second, http.StatusOK, "second session on instance 1 after the store was reset")
	if r := clustertest.Do(t, "GET", c.URL+"/private", 1, true, first, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("first session after the store lost its log: %d, want 401 (the mirror keeps it)", r.Status)
	}
	logout(second)
	waitStatus(t, c, 1, second, http.StatusUnauthorized, "second session on instance 1 after its logout")
}
