package devoidc

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRefreshRotation(t *testing.T) {
	o := newTestOP(t, withClock)
	first := o.tokens()
	var firstClaims idTokenClaims
	if err := o.op.keys.verify(str(first, "id_token"), &firstClaims); err != nil {
		t.Fatal(err)
	}
	o.clock.Advance(time.Minute)

	rt := str(first, "refresh_token")
	for i := range 3 {
		resp, m := o.refresh(rt)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("refresh %d: %d %v", i, resp.StatusCode, m)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control = %q", resp.Header.Get("Cache-Control"))
		}
		newRT, newAT := str(m, "refresh_token"), str(m, "access_token")
		if newRT == "" || newRT == rt || newAT == "" || newAT == str(first, "access_token") {
			t.Fatalf("refresh %d did not rotate: %v", i, m)
		}
		var c idTokenClaims
		if err := o.op.keys.verify(str(m, "id_token"), &c); err != nil {
			t.Fatal(err)
		}
		if c.Issuer != firstClaims.Issuer || c.Subject != firstClaims.Subject || c.Audience != firstClaims.Audience ||
			c.SID != firstClaims.SID || c.AuthTime != firstClaims.AuthTime {
			t.Errorf("refreshed ID token %+v differs from the first %+v", c, firstClaims)
		}
		if c.Nonce != "" || c.IssuedAt != o.clock.Now().Unix() {
			t.Errorf("refreshed ID token has nonce %q, iat %d", c.Nonce, c.IssuedAt)
		}
		if resp, _ := o.userinfo(newAT); resp.StatusCode != http.StatusOK {
			t.Errorf("new access token: userinfo %d", resp.StatusCode)
		}
		rt = newRT
	}
	if st := o.op.Stats(); st.Refreshes != 3 || st.RefreshReuses != 0 {
		t.Errorf("Stats = %+v", st)
	}
}

// TestRefreshReuse checks RFC 9700 §4.14.2: presenting a rotated refresh
// token revokes the grant, so the newest refresh token and every access
// token fail too.
func TestRefreshReuse(t *testing.T) {
	o := newTestOP(t)
	first := o.tokens()
	resp, second := o.refresh(str(first, "refresh_token"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh: %d %v", resp.StatusCode, second)
	}
	resp, m := o.refresh(str(first, "refresh_token"))
	wantOAuthError(t, resp, m, http.StatusBadRequest, "invalid_grant")
	resp, m = o.refresh(str(second, "refresh_token"))
	wantOAuthError(t, resp, m, http.StatusBadRequest, "invalid_grant")
	for _, at := range []string{str(first, "access_token"), str(second, "access_token")} {
		if resp, _ := o.userinfo(at); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("access token of the revoked grant: userinfo %d, want 401", resp.StatusCode)
		}
	}
	if st := o.op.Stats(); st.RefreshReuses != 1 || st.GrantsRevoked != 1 || st.Refreshes != 1 {
		t.Errorf("Stats = %+v", st)
	}

	// Another grant of the same user is unaffected.
	other := o.tokens()
	if resp, m := o.refresh(str(other, "refresh_token")); resp.StatusCode != http.StatusOK {
		t.Errorf("unrelated grant: %d %v", resp.StatusCode, m)
	}
}

func TestRefreshConcurrent(t *testing.T) {
	o := newTestOP(t)
	rt := str(o.tokens(), "refresh_token")
	const n = 20
	var (
		wg               sync.WaitGroup
		mu               sync.Mutex
		ok, invalidGrant int
	)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest(http.MethodPost, o.url("/token"),
				strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(testClientID, testSecret)
			resp, err := o.srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			switch resp.StatusCode {
			case http.StatusOK:
				ok++
			case http.StatusBadRequest:
				invalidGrant++
			}
		})
	}
	close(start)
	wg.Wait()
	if ok != 1 || invalidGrant != n-1 {
		t.Errorf("%d successes and %d invalid_grant, want 1 and %d", ok, invalidGrant, n-1)
	}
	if st := o.op.Stats(); st.Refreshes != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestRefreshRejected(t *testing.T) {
	o := newTestOP(t, withClock)
	t.Run("other client", func(t *testing.T) {
		m := o.tokens()
		resp, e := o.postForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {str(m, "refresh_token")}}, otherClientID, otherSecret)
		wantOAuthError(t, resp, e, http.StatusBadRequest, "invalid_grant")
		// The owner's token was neither spent nor revoked.
		if resp, e := o.refresh(str(m, "refresh_token")); resp.StatusCode != http.StatusOK {
			t.Errorf("owner's refresh after a foreign attempt: %d %v", resp.StatusCode, e)
		}
	})
	t.Run("unknown token", func(t *testing.T) {
		resp, e := o.refresh(randomToken())
		wantOAuthError(t, resp, e, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("access token as refresh token", func(t *testing.T) {
		resp, e := o.refresh(str(o.tokens(), "access_token"))
		wantOAuthError(t, resp, e, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("scope beyond the grant", func(t *testing.T) {
		m := o.tokens()
		resp, e := o.postForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {str(m, "refresh_token")}, "scope": {"openid groups"}}, testClientID, testSecret)
		wantOAuthError(t, resp, e, http.StatusBadRequest, "invalid_scope")
	})
	t.Run("narrowed scope", func(t *testing.T) {
		m := o.tokens()
		resp, e := o.postForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {str(m, "refresh_token")}, "scope": {"openid"}}, testClientID, testSecret)
		if resp.StatusCode != http.StatusOK || str(e, "scope") != "openid" {
			t.Fatalf("got %d %v, want scope openid", resp.StatusCode, e)
		}
		if _, info := o.userinfo(str(e, "access_token")); info["email"] != nil {
			t.Errorf("narrowed access token still releases email: %v", info)
		}
	})
	t.Run("expired grant", func(t *testing.T) {
		m := o.tokens()
		o.clock.Advance(24*time.Hour + time.Second)
		resp, e := o.refresh(str(m, "refresh_token"))
		wantOAuthError(t, resp, e, http.StatusBadRequest, "invalid_grant")
	})
}

func TestAccessTokenExpiry(t *testing.T) {
	o := newTestOP(t, withClock)
	at := str(o.tokens(), "access_token")
	o.clock.Advance(5*time.Minute - time.Second)
	if resp, _ := o.userinfo(at); resp.StatusCode != http.StatusOK {
		t.Fatalf("before expiry: %d", resp.StatusCode)
	}
	o.clock.Advance(time.Second)
	if resp, _ := o.userinfo(at); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("at expiry: %d, want 401", resp.StatusCode)
	}
}

// TestPrune checks that expired state is dropped, so memory stays bounded.
func TestPrune(t *testing.T) {
	o := newTestOP(t, withClock)
	for range 10 {
		o.code(nil) // unredeemed codes
		o.tokens()  // a grant with tokens
	}
	if n := o.op.store.size(); n == 0 {
		t.Fatal("store is empty after issuing")
	}
	o.clock.Advance(25 * time.Hour) // past every lifetime
	o.op.store.mu.Lock()
	o.op.store.pruneLocked(o.clock.Now())
	o.op.store.mu.Unlock()
	if n := o.op.store.size(); n != 0 {
		t.Errorf("store holds %d entries after everything expired", n)
	}
}

func TestPruneKeepsLiveState(t *testing.T) {
	o := newTestOP(t, withClock)
	m := o.tokens()
	o.clock.Advance(10 * time.Minute) // access token expired, grant alive
	o.op.store.mu.Lock()
	o.op.store.pruneLocked(o.clock.Now())
	o.op.store.mu.Unlock()
	if resp, e := o.refresh(str(m, "refresh_token")); resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh after pruning: %d %v", resp.StatusCode, e)
	}
	// The spent refresh token is still recognised as a replay.
	resp, e := o.refresh(str(m, "refresh_token"))
	wantOAuthError(t, resp, e, http.StatusBadRequest, "invalid_grant")
	if o.op.Stats().RefreshReuses != 1 {
		t.Error("reuse after pruning was not detected")
	}
}
