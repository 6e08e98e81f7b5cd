package middleware

import (
	"net/http"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/session"
)

// at fixes a's clock at t.
func at(a *Auth, t time.Time) { a.now = func() time.Time { return t } }

func TestAbsoluteLifetimeEdges(t *testing.T) {
	a := newTestAuth(t)
	h := a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	var s0 *session.Session
	cookies := signedIn(t, a, func(s *session.Session) { s0 = s })
	api := map[string]string{"Accept": "application/json"}
	at(a, s0.Expires.Add(-time.Nanosecond))
	if rec := serve(h, "GET", "https://app.example/", api, cookies...); rec.Code != 200 {
		t.Fatalf("1 ns before the end: %d", rec.Code)
	}
	at(a, s0.Expires)
	if rec := serve(h, "GET", "https://app.example/", api, cookies...); rec.Code != 401 {
		t.Fatalf("at the end: %d, want 401", rec.Code)
	}
}

func TestIdleTimeoutEdges(t *testing.T) {
	p := devProvider(t, "dev", "https://app.example")
	a, err := newAuth(t, Config{BaseURL: "https://app.example", Providers: []*providers.Provider{p}, Keys: [][]byte{testKey}, IdleTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	h := a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	api := map[string]string{"Accept": "application/json"}
	var s0 *session.Session
	cookies := signedIn(t, a, func(s *session.Session) {
		s.Expires = s.Created.Add(10 * time.Hour)
		s0 = s
	})
	t0 := s0.LastSeen

	// Idle for exactly IdleTimeout: still alive; a nanosecond more: ended.
	at(a, t0.Add(time.Hour))
	if rec := serve(h, "GET", "https://app.example/", api, cookies...); rec.Code != 200 {
		t.Fatalf("idle exactly IdleTimeout: %d", rec.Code)
	}
	at(a, t0.Add(time.Hour+time.Nanosecond))
	if rec := serve(h, "GET", "https://app.example/", api, cookies...); rec.Code != 401 {
		t.Fatalf("idle past IdleTimeout: %d, want 401", rec.Code)
	}

	// Activity is written at most once per IdleTimeout/4.
	at(a, t0.Add(15*time.Minute-time.Nanosecond))
	if rec := serve(h, "GET", "https://app.example/", api, cookies...); rec.Code != 200 || len(rec.Result().Cookies()) != 0 {
		t.Fatalf("before the touch interval: status %d, %d cookies written", rec.Code, len(rec.Result().Cookies()))
	}
	at(a, t0.Add(15*time.Minute))
	rec := serve(h, "GET", "https://app.example/", api, cookies...)
	touched := rec.Result().Cookies()
	if rec.Code != 200 || len(touched) == 0 {
		t.Fatalf("at the touch interval: status %d, %d cookies written", rec.Code, len(touched))
	}
	// The touched cookie slides the window: alive at t0+15m+1h, where the
	// old one is not.
	at(a, t0.Add(75*time.Minute))
	if rec := serve(h, "GET", "https://app.example/", api, touched...); rec.Code != 200 {
		t.Fatalf("touched session an hour after the touch: %d", rec.Code)
	}
	if rec := serve(h, "GET", "https://app.example/", api, cookies...); rec.Code != 401 {
		t.Fatalf("untouched session 75 minutes idle: %d, want 401", rec.Code)
	}
	// Sliding never passes the absolute end.
	at(a, s0.Expires)
	if rec := serve(h, "GET", "https://app.example/", api, touched...); rec.Code != 401 {
		t.Fatalf("touched session at its absolute end: %d, want 401", rec.Code)
	}
}

func TestIdleTimeoutConfig(t *testing.T) {
	p := devProvider(t, "dev", "https://app.example")
	for _, d := range []time.Duration{-time.Second, time.Minute, 4*time.Minute - 1} {
		if _, err := newAuth(t, Config{BaseURL: "https://app.example", Providers: []*providers.Provider{p}, Keys: [][]byte{testKey}, IdleTimeout: d}); err == nil {
			t.Errorf("IdleTimeout %v accepted", d)
		}
	}
}
