package middleware

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/session"
)

// refreshApp is an application on e's servers whose /token page writes the
// access token the handler sees.
func refreshApp(e *e2e) {
	mux := http.NewServeMux()
	mux.Handle("/auth/", e.auth.Handler())
	mux.Handle("/token", e.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := SessionFrom(r.Context())
		io.WriteString(w, s.Tokens.AccessToken)
	})))
	e.app.Config.Handler = mux
}

// login signs in through devoidc and returns the app's cookies.
func (e *e2e) login() []*http.Cookie {
	e.t.Helper()
	if resp, _ := e.follow(e.app.URL + "/auth/login"); resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
		e.t.Fatalf("login ended with %d", resp.StatusCode)
	}
	u, _ := url.Parse(e.app.URL)
	var cs []*http.Cookie
	for _, c := range e.client.Jar.Cookies(u) {
		if strings.Contains(c.Name, "portcullis") {
			cs = append(cs, c)
		}
	}
	if len(cs) == 0 {
		e.t.Fatal("no session cookie after login")
	}
	return cs
}

// get sends an API request with exactly the given cookies (no jar) and
// returns the status, body and the session cookies it set.
func get(t *testing.T, target string, cookies []*http.Cookie) (int, string, []*http.Cookie) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Accept", "application/json")
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Error(err)
		return 0, "", nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Cookies()
}

// later makes a's clock run d ahead of the real one.
func later(a *Auth, d time.Duration) { a.now = func() time.Time { return time.Now().Add(d) } }

// TestRefreshConcurrent: 50 requests at once with the same session whose
// token is about to expire cause exactly one token-endpoint call; all 50
// get the same new token; the provider (which revokes the whole grant on
// reuse) sees no reuse, and the session refreshes again later.
func TestRefreshConcurrent(t *testing.T) {
	e := newE2E(t, false)
	refreshApp(e)
	cookies := e.login()
	code, oldToken, _ := get(t, e.app.URL+"/token", cookies)
	if code != 200 {
		t.Fatalf("before refresh: %d", code)
	}
	later(e.auth, 4*time.Minute+30*time.Second) // tokens live 5 minutes; RefreshBefore is 1
	const n = 50
	var wg sync.WaitGroup
	tokens := make([]string, n)
	codes := make([]int, n)
	newCookies := make([][]*http.Cookie, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], tokens[i], newCookies[i] = get(t, e.app.URL+"/token", cookies)
		}()
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		if codes[i] != 200 || tokens[i] == oldToken || tokens[i] != tokens[0] {
			t.Fatalf("request %d: status %d body %s token changed %v same as others %v\n%s", i, codes[i], tokens[i], tokens[i] != oldToken, tokens[i] == tokens[0], e.logs)
		}
		if len(newCookies[i]) == 0 {
			t.Fatalf("request %d: the refreshed session was not saved", i)
		}
	}
	st := e.op.Stats()
	if st.Refreshes != 1 || st.RefreshReuses != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("provider stats after %d concurrent requests: %+v, want exactly 1 refresh and no reuse", n, st)
	}
	t.Logf("%d concurrent requests → %d refresh call(s), %d successes", n, st.Refreshes, n)

	// The refreshed session is the same session: same ID, same absolute
	// end (a refresh never extends the lifetime, RF-06).
	before, after := loadSession(t, e.auth, cookies), loadSession(t, e.auth, newCookies[0])
	if after.ID != before.ID || !after.Expires.Equal(before.Expires) || !after.Created.Equal(before.Created) {
		t.Fatalf("refresh changed the session: ID %v, Expires %v → %v", after.ID == before.ID, before.Expires, after.Expires)
	}

	// The stale cookie, replayed within the grace window, gets the rotated
	// tokens without a second token-endpoint call.
	if code, tok, _ := get(t, e.app.URL+"/token", cookies); code != 200 || tok != tokens[0] {
		t.Fatalf("stale cookie: %d, same token %v", code, tok == tokens[0])
	}
	if st := e.op.Stats(); st.Refreshes != 1 {
		t.Fatalf("stale cookie caused a refresh: %+v", st)
	}

	// Later, the new session refreshes again with the rotated token: the
	// grant was never revoked.
	later(e.auth, 9*time.Minute+30*time.Second)
	code, tok, _ := get(t, e.app.URL+"/token", newCookies[0])
	if code != 200 || tok == tokens[0] {
		t.Fatalf("second refresh: status %d, new token %v", code, tok != tokens[0])
	}
	if st := e.op.Stats(); st.Refreshes != 2 || st.RefreshReuses != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("provider stats after the second refresh: %+v", st)
	}
}

// TestRefreshNotDue: a token far from expiry is not refreshed.
func TestRefreshNotDue(t *testing.T) {
	e := newE2E(t, false)
	refreshApp(e)
	cookies := e.login()
	for i := 0; i < 3; i++ {
		if code, _, set := get(t, e.app.URL+"/token", cookies); code != 200 || len(set) != 0 {
			t.Fatalf("status %d, %d cookies set", code, len(set))
		}
	}
	if st := e.op.Stats(); st.Refreshes != 0 {
		t.Fatalf("refreshed a fresh token: %+v", st)
	}
}

// loadSession decodes the session the cookies carry.
func loadSession(t *testing.T, a *Auth, cookies []*http.Cookie) *session.Session {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	s, err := a.s.Sessions.Load(req)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRefreshMemoNeverSilentlyForgets: the grace memo is bounded; at the
// bound it evicts the grace entry closest to its end (and says so), never
// a pinned "keep" entry; full of pinned entries, it refuses to refresh
// rather than redeem a token whose answer it could not remember. An entry
// is served only within its window.
func TestRefreshMemoNeverSilentlyForgets(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	p := devProvider(t, "dev", "https://app.example")
	s := &session.Session{Tokens: session.Tokens{RefreshToken: "rt-not-issued"}}
	tok := &session.Tokens{AccessToken: "at"}
	key := func(i int) refreshKey { return refreshKey{byte(i), byte(i >> 8), byte(i >> 16), 0xee} }

	t.Run("full of pinned entries", func(t *testing.T) {
		rf := newRefresher(time.Second, clock, nil)
		for i := range maxMemo {
			rf.memo.PutPinned(key(i), memoEntry{tokens: tok}, now.Add(time.Hour))
		}
		if _, _, _, err := rf.refresh(context.Background(), p, s, false); !errors.Is(err, errMemoFull) {
			t.Fatalf("refresh with a memo full of pinned entries: %v, want errMemoFull", err)
		}
		if rf.callCount() != 0 {
			t.Fatal("the provider was called although the answer could not be remembered")
		}
	})
	t.Run("evicts the soonest grace entry, never a kept one", func(t *testing.T) {
		evictions := 0
		rf := newRefresher(time.Second, clock, func() { evictions++ })
		rf.memo.PutPinned(key(0), memoEntry{tokens: tok}, now.Add(time.Second)) // soonest, but kept
		for i := 1; i < maxMemo; i++ {
			rf.memo.Put(key(i), memoEntry{tokens: tok}, now.Add(refreshGrace+time.Duration(i)*time.Millisecond))
		}
		if _, _, _, err := rf.refresh(context.Background(), p, s, false); !errors.Is(err, providers.ErrDenied) {
			t.Fatalf("refresh of a token devoidc never issued: %v, want ErrDenied", err)
		}
		if evictions != 1 || rf.memo.Len() != maxMemo {
			t.Fatalf("%d evictions reported, %d entries; want 1 and %d", evictions, rf.memo.Len(), maxMemo)
		}
		if _, ok := rf.memo.Get(key(0)); !ok {
			t.Fatal("a kept entry was evicted")
		}
		if _, ok := rf.memo.Get(key(1)); ok {
			t.Fatal("the grace entry closest to its end survived")
		}
	})
	t.Run("served within the window only", func(t *testing.T) {
		rf := newRefresher(time.Second, clock, nil)
		k := newRefreshKey(p, s.Tokens.RefreshToken)
		rf.memo.Put(k, memoEntry{tokens: &session.Tokens{AccessToken: "remembered"}}, now.Add(time.Second))
		if got, _, _, err := rf.refresh(context.Background(), p, s, false); err != nil || got.AccessToken != "remembered" {
			t.Fatalf("within the window: %v, %v", got, err)
		}
		now = now.Add(2 * time.Second)
		rf.backoff.Put(k, backoffEntry{next: now.Add(time.Hour)}, now.Add(time.Hour)) // so no provider is called
		if got, _, _, err := rf.refresh(context.Background(), p, s, false); err != errBackoff || got != nil {
			t.Fatalf("expired memo entry served: %v, %v", got, err)
		}
	})
}
