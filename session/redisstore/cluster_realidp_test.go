package redisstore

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/clustertest"
	"github.com/portcullis-go/portcullis/internal/realidp"
	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/providers"
)

// These tests run the cluster against node-oidc-provider (internal/realidp,
// started by .ci/run), which rotates refresh tokens and revokes the whole
// grant when a spent one is presented again: a double spend anywhere in the
// cluster would make the session's next refresh fail.

// realCluster is a cluster on the address registered at node-oidc-provider
// (its redirect, post-logout and back-channel URIs point there).
func realCluster(t *testing.T, idp realidp.Env, redisSessions bool, edit func(i int, c *middleware.Config)) *cluster {
	t.Helper()
	return startCluster(t, clusterConfig{
		redisSessions: redisSessions,
		addr:          idp.AppAddr,
		edit:          edit,
		provider: func(t testing.TB, _ string, hc *http.Client) *providers.Provider {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			p, err := providers.OIDC(ctx, providers.OIDCConfig{
				Name: "realidp", Issuer: idp.Issuer, ClientID: idp.ClientID, ClientSecret: idp.ClientSecret,
				Scopes:     []string{"openid", "email", "profile", "offline_access"},
				HTTPClient: hc,
			})
			if err != nil {
				t.Fatal(err)
			}
			return p
		},
	})
}

// realSignIn signs a new browser in through the cluster and the provider
// (whose interactions internal/realidp finishes by itself) and returns the
// browser and its session cookies.
func realSignIn(t *testing.T, c *cluster) (*http.Client, []*http.Cookie) {
	t.Helper()
	b := clustertest.Browser()
	resp, served := clustertest.Follow(t, b, c.URL+"/private")
	if resp.Status != http.StatusOK || resp.Body != "hello realidp-user-1" {
		t.Fatalf("sign-in at node-oidc-provider ended with %d %.300q (instances %v)", resp.Status, resp.Body, served)
	}
	return b, c.SessionCookies(b)
}

// TestClusterRealIdPRefresh: 50 concurrent requests over both instances,
// the token due, make exactly one refresh grant at node-oidc-provider and
// all succeed with the same token; the grant still works afterwards (a
// replayed refresh token would have revoked it), on both instances.
func TestClusterRealIdPRefresh(t *testing.T) {
	idp := realidp.Need(t)
	for _, m := range sessionModes {
		t.Run(m.name, func(t *testing.T) {
			c := realCluster(t, idp, m.redis, nil)
			_, cookies := realSignIn(t, c)
			calls0 := c.gate.refreshes.Load()
			const n = 50
			res := concurrentTokens(t, c, n, cookies)
			if calls := c.gate.refreshes.Load() - calls0; calls != 1 {
				t.Fatalf("%d refresh grants sent for %d concurrent requests over 2 instances, want 1", calls, n)
			}
			t.Logf("node-oidc-provider, %s: %d concurrent requests over 2 instances → 1 refresh grant, %d × 200", m.name, n, n)
			if c.store == nil {
				for i := range 2 {
					r := clustertest.Do(t, http.MethodGet, c.URL+"/token", i, true, cookies, nil)
					if r.Status != http.StatusOK || r.Body != res[0].Body {
						t.Fatalf("stale cookie on instance %d: %d, rotated token %v", i, r.Status, r.Body == res[0].Body)
					}
				}
				cookies = clustertest.Merge(cookies, res[0].Cookies)
			}
			last := res[0].Body
			for k, i := range []int{1, 0} {
				r := clustertest.Do(t, http.MethodGet, c.URL+"/token", i, true, cookies, nil)
				if r.Status != http.StatusOK || r.Body == last {
					t.Fatalf("refresh %d, on instance %d: %d, new token %v (a refused refresh means the grant was revoked: a refresh token was presented twice)",
						k+2, i, r.Status, r.Body != last)
				}
				last, cookies = r.Body, clustertest.Merge(cookies, r.Cookies)
			}
			if calls := c.gate.refreshes.Load() - calls0; calls != 3 {
				t.Fatalf("%d refresh grants in all, want 3", calls)
			}
		})
	}
}

// TestClusterRealIdPLogout: a logout on one instance (which then sends the
// browser to the provider's end_session endpoint) ends the session on
// both; a logout at the provider itself reaches one instance by
// back-channel and ends that session on both.
func TestClusterRealIdPLogout(t *testing.T) {
	idp := realidp.Need(t)
	for _, m := range sessionModes {
		t.Run(m.name, func(t *testing.T) {
			// Access tokens live 60 s: with RefreshBefore 1 s no request
			// refreshes, so a refusal can only come from the revocation
			// list (a refresh after the logout would be refused too, and
			// hide it).
			c := realCluster(t, idp, m.redis, func(i int, c *middleware.Config) { c.RefreshBefore = time.Second })
			_, cookies := realSignIn(t, c)
			r := c.logout(t, 0, cookies)
			if end := r.Header.Get("Location"); r.Status != http.StatusSeeOther || !strings.HasPrefix(end, idp.Issuer+"/") {
				t.Fatalf("logout on instance 0: %d %s", r.Status, end)
			}
			if r := clustertest.Do(t, http.MethodGet, c.URL+"/private", 0, true, cookies, nil); r.Status != http.StatusUnauthorized {
				t.Fatalf("copied cookie on instance 0 after its logout: %d, want 401", r.Status)
			}
			c.waitStatus(t, 1, cookies, http.StatusUnauthorized, "copied cookie after the logout on instance 0", http.StatusOK)

			b, other := realSignIn(t, c)
			for i := range 2 {
				r := clustertest.Do(t, http.MethodGet, c.URL+"/private", i, true, other, nil)
				if r.Status != http.StatusOK {
					t.Fatalf("second session on instance %d: %d", i, r.Status)
				}
				other = clustertest.Merge(other, r.Cookies)
			}
			jti0 := len(c.keys(t, "k:jti:*"))
			if code := confirmRealLogout(t, b, idp.Issuer+"/session/end"); code != http.StatusSeeOther && code != http.StatusOK {
				t.Fatalf("logout at the provider: %d", code)
			}
			for i := range 2 {
				c.waitStatus(t, i, other, http.StatusUnauthorized, "session after the provider's back-channel logout", http.StatusOK)
			}
			if n := len(c.keys(t, "k:jti:*")) - jti0; n != 1 {
				t.Fatalf("%d logout tokens recorded, want 1", n)
			}
		})
	}
}

// confirmRealLogout opens node-oidc-provider's logout confirmation page at
// pageURL with browser b, answers "Yes, sign me out", and returns the
// provider's status.
func confirmRealLogout(t *testing.T, b *http.Client, pageURL string) int {
	t.Helper()
	resp, err := b.Get(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	action := regexp.MustCompile(`<form[^>]*action="([^"]+)"`).FindSubmatch(page)
	xsrf := regexp.MustCompile(`name="xsrf" value="([^"]+)"`).FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || action == nil || xsrf == nil {
		t.Fatalf("provider logout page: %d %.300s", resp.StatusCode, page)
	}
	target, err := resp.Request.URL.Parse(html.UnescapeString(string(action[1])))
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"xsrf": {html.UnescapeString(string(xsrf[1]))}, "logout": {"yes"}}
	resp, err = b.PostForm(target.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
