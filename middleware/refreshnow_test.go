package middleware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/oidctest"
	"github.com/portcullis-go/portcullis/internal/sharedmem"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/session"
)

// refreshNow is a handler behind a's Require that refreshes the session
// now and writes the new access token; on an error, the status, the
// error's reason and whether the request's session is the one it had
// before ("kept") or has ended ("ended").
func refreshNow(t *testing.T, a *Auth) http.Handler {
	return a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		before, _ := SessionFrom(r.Context())
		s, err := a.Refresh(r)
		after, ok := SessionFrom(r.Context())
		if err != nil {
			state := "ended"
			switch {
			case ok && after == before:
				state = "kept"
			case ok:
				state = "changed"
			}
			w.WriteHeader(Status(err))
			fmt.Fprintf(w, "%s %s", reasonOf(err), state)
			return
		}
		if !ok || after != s || s.Tokens.RefreshToken == "" {
			t.Errorf("after Refresh, SessionFrom returns another session than Refresh did (or none)")
		}
		io.WriteString(w, s.Tokens.AccessToken)
	}))
}

// forcedApp is refreshApp with /refresh: refreshNow.
func forcedApp(e *e2e) {
	mux := http.NewServeMux()
	mux.Handle("/auth/", e.auth.Handler())
	mux.Handle("/token", e.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := SessionFrom(r.Context())
		io.WriteString(w, s.Tokens.AccessToken)
	})))
	mux.Handle("/refresh", refreshNow(e.t, e.auth))
	e.app.Config.Handler = mux
}

// shown is a body of refreshNow for a test's message: the error's reason
// and state, but never a token.
func shown(body string) string {
	if strings.Contains(body, " ") {
		return body
	}
	return "(a token)"
}

// countKinds counts the events of each kind.
func countKinds(events []Event) map[EventKind]int {
	n := map[EventKind]int{}
	for _, e := range events {
		n[e.Kind]++
	}
	return n
}

// TestRefreshForced: a token far from its expiry is refreshed on demand:
// one token-endpoint call, a "refresh" event, the new tokens saved in the
// same session (same ID, same end), and the next request uses them
// without another call. Each later Refresh calls again.
func TestRefreshForced(t *testing.T) {
	events := &eventRecorder{}
	e := newE2E(t, false, func(c *Config) { c.Observer = events })
	forcedApp(e)
	cookies := e.login()
	_, old, _ := get(t, e.app.URL+"/token", cookies)
	if n := e.op.Stats().Refreshes; n != 0 {
		t.Fatalf("%d refreshes before Refresh: the token was due already", n)
	}
	mark := events.len()
	code, tok, set := get(t, e.app.URL+"/refresh", cookies)
	if code != 200 || tok == old || len(set) == 0 {
		t.Fatalf("Refresh: status %d %s, new token %v, cookies set %d", code, shown(tok), tok != old, len(set))
	}
	if st := e.op.Stats(); st.Refreshes != 1 || st.RefreshReuses != 0 {
		t.Fatalf("provider stats %+v, want exactly one refresh", st)
	}
	if n := countKinds(events.since(mark)); n[EventRefresh] != 1 || n[EventRefreshFailed] != 0 {
		t.Fatalf("events %s, want one refresh", kinds(events.since(mark)))
	}
	before, after := loadSession(t, e.auth, cookies), loadSession(t, e.auth, set)
	if after.ID != before.ID || !after.Expires.Equal(before.Expires) || after.Tokens.AccessToken != tok ||
		after.Tokens.RefreshToken == before.Tokens.RefreshToken || after.Tokens.Expiry.Before(before.Tokens.Expiry) {
		t.Fatalf("the saved session: same ID %v, same end %v, new access token %v, rotated refresh token %v, expiry %v → %v",
			after.ID == before.ID, after.Expires.Equal(before.Expires), after.Tokens.AccessToken == tok,
			after.Tokens.RefreshToken != before.Tokens.RefreshToken, before.Tokens.Expiry, after.Tokens.Expiry)
	}
	if code, got, _ := get(t, e.app.URL+"/token", set); code != 200 || got != tok || e.op.Stats().Refreshes != 1 {
		t.Fatalf("next request: %d, the refreshed token %v, refreshes %d", code, got == tok, e.op.Stats().Refreshes)
	}
	// A second click refreshes again, with the rotated refresh token.
	if code, again, _ := get(t, e.app.URL+"/refresh", set); code != 200 || again == tok {
		t.Fatalf("second Refresh: %d, new token %v", code, again != tok)
	}
	if st := e.op.Stats(); st.Refreshes != 2 || st.RefreshReuses != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("provider stats %+v after two Refresh calls, want two refreshes and no reuse", st)
	}
}

// TestRefreshForcedConcurrent: many Refresh calls at once for the same
// session (a double click, several tabs) redeem its refresh token once
// and all get the same new token; the rotating provider sees no reuse.
func TestRefreshForcedConcurrent(t *testing.T) {
	events := &eventRecorder{}
	e := newE2E(t, false, func(c *Config) { c.Observer = events })
	forcedApp(e)
	cookies := e.login()
	mark := events.len()
	const n = 20
	var wg sync.WaitGroup
	codes, tokens := make([]int, n), make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], tokens[i], _ = get(t, e.app.URL+"/refresh", cookies)
		}()
	}
	wg.Wait()
	for i := range n {
		if codes[i] != 200 || tokens[i] != tokens[0] {
			t.Fatalf("Refresh %d: %d %s, same token as the others %v", i, codes[i], shown(tokens[i]), tokens[i] == tokens[0])
		}
	}
	if st := e.op.Stats(); st.Refreshes != 1 || st.RefreshReuses != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("provider stats %+v after %d concurrent Refresh calls, want one refresh and no reuse", st, n)
	}
	if c := countKinds(events.since(mark)); c[EventRefresh] != 1 || c[EventRefreshCoalesced] != n-1 {
		t.Fatalf("events %s, want one refresh and %d coalesced", kinds(events.since(mark)), n-1)
	}
}

// forcedFixture signs in through the mock provider and returns the
// session cookies, a handler behind Require writing the access token
// (/token) and refreshNow, and the count of token-endpoint calls.
func forcedFixture(t *testing.T, o loginOptions) (*loginTest, []*http.Cookie, http.Handler, http.Handler, func() int) {
	t.Helper()
	lt, cookies, h := refreshFixture(t, o)
	return lt, cookies, h, refreshNow(t, lt.auth), func() int { return len(lt.op.Requests(oidctest.PathToken)) }
}

// TestRefreshForcedNotRotated: with a provider that keeps the refresh
// token (no new one in its answer), a second Refresh is not answered with
// the memo's answer to the first, which the session already holds: the
// provider is asked again. A stale cookie still gets the latest answer
// from the memo without a call.
func TestRefreshForcedNotRotated(t *testing.T) {
	lt, cookies, h, refresh, tokenCalls := forcedFixture(t, loginOptions{})
	var issued atomic.Int64
	lt.op.TokenResponse = func(w http.ResponseWriter, r *http.Request) bool {
		if r.ParseForm() != nil || r.PostForm.Get("grant_type") != "refresh_token" {
			return false
		}
		// No refresh token in the answer: the session keeps its own.
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"kept-rt-access-%d","token_type":"Bearer","expires_in":3600}`, issued.Add(1))
		return true
	}
	old := originalToken(t, h, cookies)
	base := tokenCalls()
	first := call(refresh, cookies, nil)
	if first.Code != 200 || first.Body.String() == old || tokenCalls()-base != 1 {
		t.Fatalf("first Refresh: %d, new token %v, token calls %d", first.Code, first.Body.String() != old, tokenCalls()-base)
	}
	set := first.Result().Cookies()
	second := call(refresh, set, nil)
	if second.Code != 200 || second.Body.String() == first.Body.String() || tokenCalls()-base != 2 {
		t.Fatalf("second Refresh: %d, new token %v, token calls %d, want 2", second.Code, second.Body.String() != first.Body.String(), tokenCalls()-base)
	}
	stale := call(refresh, cookies, nil)
	if stale.Code != 200 || stale.Body.String() != second.Body.String() || tokenCalls()-base != 2 {
		t.Fatalf("Refresh with the first cookie: %d, the latest token %v, token calls %d, want 2", stale.Code, stale.Body.String() == second.Body.String(), tokenCalls()-base)
	}
}

// TestRefreshForcedFailure: a transient failure returns its error and
// leaves the session exactly as it was (nothing written, the old token
// still served, backoff respected); a refusal (invalid_grant, a
// refreshed ID token for another user, OnRefresh) ends the session, as
// the automatic refresh does.
func TestRefreshForcedFailure(t *testing.T) {
	serverError := func(lt *loginTest) {
		lt.op.TokenResponse = func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(500)
			io.WriteString(w, `{"error":"server_error"}`)
			return true
		}
	}
	for _, tc := range []struct {
		name   string
		o      loginOptions
		fault  func(lt *loginTest)
		status int
		want   string // the reason and the session's state
	}{
		{"HTTP 500", loginOptions{}, serverError, 502, "refresh_unavailable kept"},
		{"timeout", loginOptions{timeout: time.Second}, func(lt *loginTest) {
			lt.op.TokenResponse = func(w http.ResponseWriter, r *http.Request) bool {
				select {
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
				return true
			}
		}, 502, "refresh_unavailable kept"},
		{"invalid_grant", loginOptions{}, func(lt *loginTest) {
			lt.op.TokenResponse = func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(400)
				io.WriteString(w, `{"error":"invalid_grant"}`)
				return true
			}
		}, 401, "refresh_denied ended"},
		{"ID token for another user", loginOptions{}, func(lt *loginTest) {
			lt.op.IDToken = func(c oidctest.Claims, hd oidctest.Header) (oidctest.Claims, oidctest.Header) {
				c["sub"] = "someone-else"
				return c, hd
			}
		}, 401, "refresh_denied ended"},
		{"OnRefresh refuses", loginOptions{config: func(c *Config) {
			c.OnRefresh = func(context.Context, *session.Session) error { return errors.New("user disabled") }
		}}, nil, 401, "on_refresh_refused ended"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lt, cookies, h, refresh, tokenCalls := forcedFixture(t, tc.o)
			old := originalToken(t, h, cookies)
			if tc.fault != nil {
				tc.fault(lt)
			}
			base := tokenCalls()
			rec := call(refresh, cookies, nil)
			if rec.Code != tc.status || rec.Body.String() != tc.want || tokenCalls()-base != 1 {
				t.Fatalf("Refresh: %d %s, token calls %d; want %d %q after one call", rec.Code, shown(rec.Body.String()), tokenCalls()-base, tc.status, tc.want)
			}
			if strings.HasSuffix(tc.want, "ended") {
				if !sessionCleared(rec) {
					t.Fatal("the ended session's cookie was not cleared")
				}
				return
			}
			if n := len(rec.Result().Cookies()); n != 0 {
				t.Fatalf("a failed Refresh wrote %d cookies; the session must stay as it was", n)
			}
			if rec := call(h, cookies, nil); rec.Code != 200 || rec.Body.String() != old {
				t.Fatalf("after the failure: %d, the old token %v", rec.Code, rec.Body.String() == old)
			}
			// At once again: backing off, the provider is not called.
			if rec := call(refresh, cookies, nil); rec.Code != 502 || rec.Body.String() != "refresh_backoff kept" || tokenCalls()-base != 1 {
				t.Fatalf("Refresh during backoff: %d %s, token calls %d", rec.Code, shown(rec.Body.String()), tokenCalls()-base)
			}
		})
	}
}

// TestRefreshNoSession: outside Require, and behind Optional without a
// session, Refresh is ErrUnauthenticated.
func TestRefreshNoSession(t *testing.T) {
	a := newTestAuth(t)
	if _, err := a.Refresh(httptest.NewRequest("GET", "/", nil)); !errors.Is(err, ErrUnauthenticated) || Status(err) != 401 {
		t.Fatalf("outside Require: %v, want ErrUnauthenticated", err)
	}
	var err error
	reached := false
	h := a.Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = true
		_, err = a.Refresh(r)
	}))
	serve(h, "GET", "https://app.example/", nil)
	if !reached || !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("behind Optional without a session: reached %v, %v, want ErrUnauthenticated", reached, err)
	}
}

// TestRefreshNoRefreshToken: a session without a refresh token gets
// ErrInvalidRequest (400); the provider is not called, and the session
// stays as it was (not ended, nothing written).
func TestRefreshNoRefreshToken(t *testing.T) {
	a := newTestAuth(t)
	cookies := signedIn(t, a, nil) // an access token only
	rec := serve(refreshNow(t, a), "GET", "https://app.example/refresh", map[string]string{"Accept": "application/json"}, cookies...)
	if rec.Code != 400 || rec.Body.String() != "no_refresh_token kept" || len(rec.Result().Cookies()) != 0 {
		t.Fatalf("Refresh without a refresh token: %d %s, %d cookies set", rec.Code, shown(rec.Body.String()), len(rec.Result().Cookies()))
	}
	if n := a.refresher.callCount(); n != 0 {
		t.Fatalf("%d token-endpoint calls without a refresh token", n)
	}
}

// TestRefreshForcedInstances: Refresh calls at once for one session on
// two instances sharing Config.Shared redeem its refresh token once, and
// every instance answers with the same new token.
func TestRefreshForcedInstances(t *testing.T) {
	shared := sharedmem.New(nil)
	e := newE2E(t, false, func(c *Config) { c.Shared = shared })
	forcedApp(e)
	first := e.auth.s.providers["dev"]
	p, err := providers.OIDC(context.Background(), providers.OIDCConfig{
		Name: "dev", Issuer: first.Issuer(), ClientID: "app", ClientSecret: "app-secret",
	})
	if err != nil {
		t.Fatal(err)
	}
	other, err := newAuth(t, Config{BaseURL: e.app.URL, Providers: []*providers.Provider{p}, Keys: e.auth.s.Keys, Shared: shared})
	if err != nil {
		t.Fatal(err)
	}
	second := httptest.NewServer(refreshNow(t, other))
	defer second.Close()
	cookies := e.login()

	const n = 20
	var wg sync.WaitGroup
	codes, tokens := make([]int, n), make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			target := e.app.URL + "/refresh"
			if i%2 == 1 {
				target = second.URL + "/refresh"
			}
			codes[i], tokens[i], _ = get(t, target, cookies)
		}()
	}
	wg.Wait()
	for i := range n {
		if codes[i] != 200 || tokens[i] != tokens[0] {
			t.Fatalf("Refresh %d (instance %d): %d %s, same token as the others %v", i, i%2, codes[i], shown(tokens[i]), tokens[i] == tokens[0])
		}
	}
	if st := e.op.Stats(); st.Refreshes != 1 || st.RefreshReuses != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("provider stats %+v after %d Refresh calls on two instances, want one refresh and no reuse", st, n)
	}
}

// TestSharedRefreshForcedAsksAgain: another instance's answer that is
// the tokens the session already holds (a provider that keeps refresh
// tokens) does not answer a forced refresh, which calls the provider;
// it still answers a session that does not hold it.
func TestSharedRefreshForcedAsksAgain(t *testing.T) {
	st := sharedmem.New(nil)
	a, b := newTestSharedRefresh(t, st, testSharedKeys), newTestSharedRefresh(t, st, testSharedKeys)
	key := testRefreshKey("rt-kept")
	var calls atomic.Int64
	t1 := &session.Tokens{AccessToken: "at-1", RefreshToken: "rt-kept"}
	if _, _, err := a.do(context.Background(), key, nil, countingCall(&calls, t1, nil)); err != nil {
		t.Fatal(err)
	}
	t2 := &session.Tokens{AccessToken: "at-2", RefreshToken: "rt-kept"}
	got, remote, err := b.do(context.Background(), key, t1, countingCall(&calls, t2, nil))
	if err != nil || remote || got.AccessToken != "at-2" || calls.Load() != 2 {
		t.Fatalf("forced, holding the answer: %+v remote %v %v, calls %d; want a call of its own", got, remote, err, calls.Load())
	}
	got, remote, err = a.do(context.Background(), key, &session.Tokens{AccessToken: "at-0", RefreshToken: "rt-kept"}, countingCall(&calls, nil, errors.New("must not be called")))
	if err != nil || !remote || got.AccessToken != "at-2" || calls.Load() != 2 {
		t.Fatalf("forced, holding older tokens: %+v remote %v %v, calls %d; want the latest answer", got, remote, err, calls.Load())
	}
}
