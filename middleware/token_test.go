package middleware

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/session"
)

// TestClientRefreshesAndSaves: a handler calling a provider API through
// auth.Client with a token that expires mid-request gets a refreshed token,
// and the response saves it in the session.
func TestClientRefreshesAndSaves(t *testing.T) {
	e := newE2E(t, false, func(c *Config) { c.RefreshBefore = time.Second })
	var apiSaw []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiSaw = append(apiSaw, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	}))
	defer api.Close()
	mux := http.NewServeMux()
	mux.Handle("/auth/", e.auth.Handler())
	mux.Handle("/call", e.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := e.auth.Client(r).Get(api.URL)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		resp.Body.Close()
		s, _ := SessionFrom(r.Context())
		io.WriteString(w, s.Tokens.AccessToken)
	})))
	e.app.Config.Handler = mux
	cookies := e.login()

	// 4m55s later the token has 5 s left: not due for Require (RefreshBefore
	// 1 s), but too close for TokenSource (10 s margin).
	later(e.auth, 4*time.Minute+55*time.Second)
	code, body, set := get(t, e.app.URL+"/call", cookies)
	if code != 200 || len(apiSaw) != 1 || apiSaw[0] != body || len(set) == 0 {
		t.Fatalf("status %d, API saw %d requests, handler and API tokens equal %v, cookies set %d", code, len(apiSaw), len(apiSaw) == 1 && apiSaw[0] == body, len(set))
	}
	if st := e.op.Stats(); st.Refreshes != 1 {
		t.Fatalf("refreshes %d, want 1", st.Refreshes)
	}
	// The saved session carries the new token: back at the real time, no
	// further refresh.
	later(e.auth, 0)
	if code, body2, _ := get(t, e.app.URL+"/call", set); code != 200 || body2 != body || e.op.Stats().Refreshes != 1 {
		t.Fatalf("next request: %d, same token %v, refreshes %d", code, body2 == body, e.op.Stats().Refreshes)
	}
}

func TestTokenSourceOutsideRequire(t *testing.T) {
	a := newTestAuth(t)
	_, err := a.TokenSource(httptest.NewRequest("GET", "/", nil)).Token()
	if !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("err = %v, want ErrUnauthenticated", err)
	}
}

// TestNoRefreshToken: a session without a refresh token keeps going with
// an expired token by default, and ends when RequireToken is set; an API
// client never gets an expired token from TokenSource.
func TestNoRefreshToken(t *testing.T) {
	for _, requireToken := range []bool{false, true} {
		a := newTestAuth(t)
		a.s.RequireToken = requireToken
		var tokErr error
		h := a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, tokErr = a.TokenSource(r).Token()
		}))
		cookies := signedIn(t, a, func(s *session.Session) {
			s.Tokens = session.Tokens{AccessToken: "at", Expiry: time.Now().Add(time.Minute)}
		})
		later(a, 2*time.Minute)
		rec := serve(h, "GET", "https://app.example/x", map[string]string{"Accept": "application/json"}, cookies...)
		if requireToken {
			if rec.Code != 401 || !sessionClearedNamed(rec, "__Host-portcullis") {
				t.Fatalf("RequireToken: status %d, want 401 and the session cleared", rec.Code)
			}
			continue
		}
		if rec.Code != 200 || !errors.Is(tokErr, ErrUnauthenticated) {
			t.Fatalf("default: status %d, TokenSource error %v", rec.Code, tokErr)
		}
	}
}

func sessionClearedNamed(rec *httptest.ResponseRecorder, name string) bool {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name && c.MaxAge < 0 {
			return true
		}
	}
	return false
}

// TestOnRefresh: the hook sees the refreshed session, and an error from it
// ends the session.
func TestOnRefresh(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		var seen *session.Session
		e := newE2E(t, false, func(c *Config) {
			c.OnRefresh = func(ctx context.Context, s *session.Session) error {
				seen = s
				if refuse {
					return errors.New("user disabled")
				}
				return nil
			}
		})
		refreshApp(e)
		cookies := e.login()
		later(e.auth, 4*time.Minute+30*time.Second)
		code, tok, _ := get(t, e.app.URL+"/token", cookies)
		if seen == nil || seen.User.Subject != "ada" {
			t.Fatalf("OnRefresh saw %+v", seen)
		}
		if refuse && code != 401 || !refuse && (code != 200 || tok != seen.Tokens.AccessToken) {
			t.Fatalf("refuse %v: status %d", refuse, code)
		}
	}
}

// TestTokenSourceNoDeadlock: a refresh through auth.Client runs the
// OnRefresh hook, which reads the user from the request's context, while
// another goroutine of the handler sets headers; nothing waits forever and
// nothing races (run with -race).
func TestTokenSourceNoDeadlock(t *testing.T) {
	e := newE2E(t, false, func(c *Config) {
		c.RefreshBefore = time.Second
		c.OnRefresh = func(ctx context.Context, s *session.Session) error {
			if _, ok := UserFrom(ctx); !ok {
				return errors.New("no user in the hook's context")
			}
			return nil
		}
	})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer api.Close()
	mux := http.NewServeMux()
	mux.Handle("/auth/", e.auth.Handler())
	mux.Handle("/call", e.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		done := make(chan error, 1)
		go func() {
			resp, err := e.auth.Client(r).Get(api.URL)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		for i := 0; i < 100; i++ {
			w.Header().Set("X-Step", "x")
			UserFrom(r.Context())
		}
		select {
		case err := <-done:
			if err != nil {
				http.Error(w, err.Error(), 500)
			}
		case <-time.After(5 * time.Second):
			t.Error("auth.Client did not return: deadlock")
		}
	})))
	e.app.Config.Handler = mux
	cookies := e.login()
	later(e.auth, 4*time.Minute+55*time.Second)
	code, _, set := get(t, e.app.URL+"/call", cookies)
	if code != 200 || len(set) == 0 || e.op.Stats().Refreshes != 1 {
		t.Fatalf("status %d, cookies set %d, refreshes %d", code, len(set), e.op.Stats().Refreshes)
	}
}

// TestUnsavedRefreshNeverReplayed: a handler that has already started its
// response refreshes through auth.Client; the new cookie cannot be sent.
// The browser keeps the old cookie, and long after the grace window its
// requests are still answered with the rotated tokens, never by replaying
// the spent refresh token (which a rotating provider answers by revoking
// the grant).
func TestUnsavedRefreshNeverReplayed(t *testing.T) {
	e := newE2E(t, false, func(c *Config) { c.RefreshBefore = time.Second })
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer api.Close()
	mux := http.NewServeMux()
	mux.Handle("/auth/", e.auth.Handler())
	mux.Handle("/stream", e.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK) // the response has started
		resp, err := e.auth.Client(r).Get(api.URL)
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
	})))
	mux.Handle("/token", e.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := SessionFrom(r.Context())
		io.WriteString(w, s.Tokens.AccessToken)
	})))
	e.app.Config.Handler = mux
	cookies := e.login()
	later(e.auth, 4*time.Minute+55*time.Second)
	if code, _, set := get(t, e.app.URL+"/stream", cookies); code != 200 || len(set) != 0 {
		t.Fatalf("stream: %d, %d cookies (none can be set once the response started)", code, len(set))
	}
	if st := e.op.Stats(); st.Refreshes != 1 {
		t.Fatalf("refreshes %d, want 1", st.Refreshes)
	}
	// Well past the 30 s grace window, the old cookie is answered from the
	// memo and finally saved. (devoidc's clock is the real one while the
	// middleware's runs ahead, so the remembered tokens look expired and
	// are refreshed once more, with their own refresh token: two refreshes,
	// never a reuse.)
	later(e.auth, 4*time.Minute+55*time.Second+2*refreshGrace)
	code, _, set := get(t, e.app.URL+"/token", cookies)
	if code != 200 || len(set) == 0 {
		t.Fatalf("old cookie later: %d, %d cookies set", code, len(set))
	}
	if st := e.op.Stats(); st.Refreshes > 2 || st.RefreshReuses != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("provider stats %+v: the spent refresh token was replayed", st)
	}
}
