package middleware

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/bounded"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/session"
)

// The regression tests of an adversarial review of the consolidation,
// each named after its finding. devoidc revokes the whole grant when a
// spent refresh token is replayed, so Stats().RefreshReuses counts every
// broken promise "a refresh token is redeemed once".

// tokenRoute is a handler behind Require writing the access token it sees.
func tokenRoute(a *Auth) http.Handler {
	return a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := SessionFrom(r.Context())
		io.WriteString(w, s.Tokens.AccessToken)
	}))
}

func noReplay(t *testing.T, e *e2e) {
	t.Helper()
	if st := e.op.Stats(); st.RefreshReuses != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("provider stats %+v: a spent refresh token was replayed", st)
	}
}

// TestLateRefreshChainNeverReplayed: two refreshes after the response
// started (a stream calling the API twice) leave the browser with its
// original cookie; every later request is answered from the memo or with
// the newest refresh token, never by replaying a spent one.
func TestLateRefreshChainNeverReplayed(t *testing.T) {
	e := newE2E(t, false, func(c *Config) { c.RefreshBefore = time.Second })
	api := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer api.Close()
	mux := http.NewServeMux()
	mux.Handle("/auth/", e.auth.Handler())
	mux.Handle("/stream", e.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		c := e.auth.Client(r)
		for range 2 {
			if resp, err := c.Get(api.URL); err == nil {
				resp.Body.Close()
			}
			later(e.auth, 9*time.Minute+55*time.Second) // the new token is due too
		}
	})))
	mux.Handle("/token", tokenRoute(e.auth))
	e.app.Config.Handler = mux
	cookies := e.login()
	later(e.auth, 4*time.Minute+55*time.Second)
	get(t, e.app.URL+"/stream", cookies)
	later(e.auth, 20*time.Minute)
	code, _, set := get(t, e.app.URL+"/token", cookies)
	if code != http.StatusOK {
		t.Fatalf("the original cookie after two late rotations: %d", code)
	}
	if len(set) > 0 {
		if code, _, _ := get(t, e.app.URL+"/token", set); code != http.StatusOK {
			t.Fatalf("the cookie saved after them: %d", code)
		}
	}
	noReplay(t, e)
}

// flakySaveStore fails Save while fail is set.
type flakySaveStore struct {
	session.Store
	fail atomic.Bool
}

func (s *flakySaveStore) Save(w http.ResponseWriter, r *http.Request, ss *session.Session) error {
	if s.fail.Load() {
		return errors.New("store: save failed")
	}
	return s.Store.Save(w, r, ss)
}

// TestUnsavedRotationPinnedAfterGrace: a refreshed session that could not
// be saved (Require refreshes, and writes the session before the handler
// runs) is pinned for the session's life: the old cookie is answered long
// after the grace window (a slow upstream, then the next request).
func TestUnsavedRotationPinnedAfterGrace(t *testing.T) {
	var store *flakySaveStore
	e := newE2E(t, false, func(c *Config) {
		cs, err := session.NewCookieStore(session.CookieConfig{Keys: c.Keys, InsecureCookies: true})
		if err != nil {
			t.Fatal(err)
		}
		store = &flakySaveStore{Store: cs}
		c.Sessions = store
	})
	mux := http.NewServeMux()
	mux.Handle("/auth/", e.auth.Handler())
	mux.Handle("/slow", e.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.auth.TokenSource(r).Token()
		later(e.auth, 4*time.Minute+55*time.Second+refreshGrace+time.Second) // a slow upstream
		io.WriteString(w, "done")
	})))
	mux.Handle("/token", tokenRoute(e.auth))
	e.app.Config.Handler = mux
	cookies := e.login()
	later(e.auth, 4*time.Minute+55*time.Second)
	store.fail.Store(true)
	if _, _, set := get(t, e.app.URL+"/slow", cookies); len(set) != 0 {
		t.Fatalf("a session that could not be saved set %d cookies", len(set))
	}
	store.fail.Store(false)
	if st := e.op.Stats(); st.Refreshes == 0 {
		t.Fatal("no refresh")
	}
	later(e.auth, 4*time.Minute+55*time.Second+3*refreshGrace)
	if code, _, _ := get(t, e.app.URL+"/token", cookies); code != http.StatusOK {
		t.Fatalf("the unsaved session's cookie: %d", code)
	}
	noReplay(t, e)
}

// TestHijackedConnectionKeepsRotation: a handler that hijacks the
// connection (a WebSocket upgrade) after Require refreshed loses the
// Set-Cookie; the rotation is remembered instead.
func TestHijackedConnectionKeepsRotation(t *testing.T) {
	e := newE2E(t, false)
	mux := http.NewServeMux()
	mux.Handle("/auth/", e.auth.Handler())
	mux.Handle("/ws", e.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
		brw.Flush()
	})))
	mux.Handle("/token", tokenRoute(e.auth))
	e.app.Config.Handler = mux
	cookies := e.login()
	later(e.auth, 4*time.Minute+30*time.Second)
	get(t, e.app.URL+"/ws", cookies)
	later(e.auth, 4*time.Minute+30*time.Second+2*refreshGrace)
	if code, _, _ := get(t, e.app.URL+"/token", cookies); code != http.StatusOK {
		t.Fatalf("after a hijacked refresh: %d", code)
	}
	noReplay(t, e)
}

// jwksOutage answers 503 for the provider's JWKS while down is set.
type jwksOutage struct{ down atomic.Bool }

func (j *jwksOutage) RoundTrip(r *http.Request) (*http.Response, error) {
	if j.down.Load() && strings.HasSuffix(r.URL.Path, "/jwks") {
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Body: io.NopCloser(strings.NewReader("")), Header: http.Header{}, Request: r}, nil
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestJWKSOutageAtRefreshKeepsSession: the provider's keys being
// unreachable when a refreshed ID token needs them is transient, not a
// denial: nobody is signed out.
func TestJWKSOutageAtRefreshKeepsSession(t *testing.T) {
	out := &jwksOutage{}
	e := newE2E(t, false, func(c *Config) {
		p, err := providers.OIDC(context.Background(), providers.OIDCConfig{Name: "dev", Issuer: c.Providers[0].Issuer(),
			ClientID: "app", ClientSecret: "app-secret", HTTPClient: &http.Client{Transport: out}})
		if err != nil {
			t.Fatal(err)
		}
		c.Providers = []*providers.Provider{p}
	})
	refreshApp(e)
	cookies := e.login()
	e.op.RotateKey()
	out.down.Store(true)
	later(e.auth, 4*time.Minute+30*time.Second)
	if code, _, set := get(t, e.app.URL+"/token", cookies); code != http.StatusOK || len(set) != 0 && set[0].MaxAge < 0 {
		t.Fatalf("a JWKS outage during refresh: status %d, cookies %v", code, set)
	}
	if strings.Contains(e.logs.String(), "refresh_denied") {
		t.Fatalf("the outage was taken for a denial:\n%s", e.logs)
	}
}

// TestPinnedMemoNeverPassesExpiredToken: a rotation remembered for the
// session's life is refreshed again, with its own refresh token, once its
// access token has expired; the expired token never reaches the handler.
// (devoidc's clock is the real one and the middleware's runs ahead, so
// the test compares tokens, not expiry times.)
func TestPinnedMemoNeverPassesExpiredToken(t *testing.T) {
	e := newE2E(t, false, func(c *Config) { c.RefreshBefore = time.Second })
	api := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer api.Close()
	var pinned string
	mux := http.NewServeMux()
	mux.Handle("/auth/", e.auth.Handler())
	mux.Handle("/stream", e.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		if resp, err := e.auth.Client(r).Get(api.URL); err == nil {
			resp.Body.Close()
		}
		s, _ := SessionFrom(r.Context())
		pinned = s.Tokens.AccessToken
	})))
	mux.Handle("/token", tokenRoute(e.auth))
	e.app.Config.Handler = mux
	cookies := e.login()
	later(e.auth, 4*time.Minute+55*time.Second)
	get(t, e.app.URL+"/stream", cookies)
	later(e.auth, 20*time.Minute) // the pinned tokens have expired too
	code, got, _ := get(t, e.app.URL+"/token", cookies)
	if code != http.StatusOK || got == pinned {
		t.Fatalf("status %d, handler got the pinned, expired token: %v", code, got == pinned)
	}
	if st := e.op.Stats(); st.Refreshes != 2 {
		t.Fatalf("%d refreshes, want 2 (the late one, then one with the pinned refresh token)", st.Refreshes)
	}
	noReplay(t, e)
}

// downRevocations is a revocation store that is down.
type downRevocations struct{}

func (downRevocations) Add(context.Context, session.Revocation) error {
	return errors.New("store down")
}
func (downRevocations) Revoked(context.Context, *session.Session) (bool, error) {
	return false, errors.New("store down")
}

// TestLogoutDuringRevocationOutageIsNotSuccess: a logout while the
// revocation store is down clears the browser's cookies but does not
// report success.
func TestLogoutDuringRevocationOutageIsNotSuccess(t *testing.T) {
	lt, cookies, _ := refreshFixture(t, loginOptions{})
	lt.auth.s.Revocations = downRevocations{}
	rec := serve(lt.auth.Handler(), "POST", lt.app.URL+"/auth/logout", map[string]string{"Origin": lt.app.URL, "Accept": "application/json"}, cookies...)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("logout during a revocation outage: %d, want 503", rec.Code)
	}
	if !sessionCleared(rec) {
		t.Fatal("the browser's session cookie was not cleared")
	}
}

// TestErrorCallbacksDoNotFillUsedStates: callbacks without a code redeem
// nothing and are not recorded, so a client looping login → error
// callback cannot fill the record and lock everyone out.
func TestErrorCallbacksDoNotFillUsedStates(t *testing.T) {
	a := newTestAuth(t)
	a.usedStates = &memoryUsedStates{m: bounded.New[[sha256.Size]byte, struct{}](3, bounded.Refuse, nil)}
	for range 5 {
		rec, q := startLogin(t, a, nil)
		serve(a.Handler(), "GET", "https://app.example/auth/callback/dev?error=access_denied&state="+q.Get("state"), nil, rec.Result().Cookies()...)
	}
	rec, q := startLogin(t, a, nil)
	if cb := serve(a.Handler(), "GET", "https://app.example/auth/callback/dev?code=x&state="+q.Get("state"), nil, rec.Result().Cookies()...); cb.Code == http.StatusServiceUnavailable {
		t.Fatal("error callbacks filled the used-state record: a real callback got 503")
	}
}

// TestOnLogoutOnlyForRecordedEnds: OnLogout runs only for ends the
// revocation list recorded.
func TestOnLogoutOnlyForRecordedEnds(t *testing.T) {
	a := newTestAuth(t)
	calls := 0
	a.s.OnLogout = func(context.Context, session.Revocation) { calls++ }
	a.s.Revocations = downRevocations{}
	if err := a.EndSessions(context.Background(), "dev", "ada"); !errors.Is(err, ErrStoreUnavailable) || calls != 0 {
		t.Fatalf("EndSessions with the store down: %v, OnLogout ran %d times", err, calls)
	}
}
