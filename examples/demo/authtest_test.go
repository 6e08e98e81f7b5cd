package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/middleware/authtest"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/session"
	"golang.org/x/oauth2"
)

// TestPrivateWithAuthtest tests the demo's pages with authtest: a user
// signed in through the whole flow sees their name on /private; a browser
// signed out is sent to sign in.
func TestPrivateWithAuthtest(t *testing.T) {
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	idp := authtest.NewProvider(t, authtest.Config{BaseURL: srv.URL, Name: "devoidc"})
	keys := [][]byte{[]byte("demo-test-key-demo-test-key-0123")}
	h, err := newApp(appConfig{URL: srv.URL, Providers: []*providers.Provider{idp.Provider()}, Keys: keys, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h

	resp, err := idp.Client(t, "ada").Get(srv.URL + "/private")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Hello, Ada Lovelace</h1>") {
		t.Errorf("ada at /private: %d %s", resp.StatusCode, body)
	}

	r := httptest.NewRequest("GET", "/private", nil)
	r.Header.Set("Accept", "text/html")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/auth/login?return_to=%2Fprivate" {
		t.Errorf("signed out at /private: %d %q", w.Code, w.Header().Get("Location"))
	}
}

// TestRefreshNowOutcomes: what "Refresh now" says when it cannot refresh:
// the provider issued no refresh token (no button, and a post says so),
// the provider is down (the session is kept), the provider refuses the
// refresh token (the session ends: sign in again).
func TestRefreshNowOutcomes(t *testing.T) {
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	idp := authtest.NewProvider(t, authtest.Config{BaseURL: srv.URL, Name: "devoidc"})
	// A provider whose token endpoint refuses connections.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()
	gone, err := providers.OAuth2(providers.OAuth2Config{
		Name: "gone", DisplayName: "Gone", ClientID: "demo",
		Endpoint: oauth2.Endpoint{AuthURL: down + "/authorize", TokenURL: down + "/token"},
		Identify: func(context.Context, *http.Client, *oauth2.Token) (session.User, error) {
			return session.User{}, errors.New("not used")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ps := []*providers.Provider{idp.Provider(), gone}
	keys := [][]byte{[]byte("demo-test-key-demo-test-key-0123")}
	h, err := newApp(appConfig{URL: srv.URL, Providers: ps, Keys: keys, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	// The demo's cookies are sealed with keys: an Auth with the same keys
	// writes sessions it reads.
	signer, err := middleware.New(middleware.Config{BaseURL: srv.URL, Providers: ps, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	valid := time.Now().Add(time.Hour)
	for _, tc := range []struct {
		name     string
		provider string
		tok      session.Tokens
		location string // where the post sends the browser
		page     string // on /private afterwards
	}{
		{"no refresh token", "devoidc", session.Tokens{AccessToken: "at", Expiry: valid},
			"/private?refresh=norefresh", "issued no refresh token"},
		{"provider down", "gone", session.Tokens{AccessToken: "at", RefreshToken: "rt", Expiry: valid},
			"/private?refresh=failed", "The refresh failed"},
		{"refused", "devoidc", session.Tokens{AccessToken: "at", RefreshToken: "unknown-to-the-provider", Expiry: valid},
			"/private", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/refresh", nil)
			authtest.SignIn(t, signer, r, session.User{Provider: tc.provider, Subject: "ada", Name: "Ada Lovelace"}, tc.tok)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusSeeOther || w.Header().Get("Location") != tc.location {
				t.Fatalf("Refresh now: %d to %q, want %q", w.Code, w.Header().Get("Location"), tc.location)
			}
			next := httptest.NewRequest("GET", tc.location, nil)
			next.Header.Set("Accept", "text/html")
			for _, c := range r.Cookies() {
				next.AddCookie(c)
			}
			for _, c := range w.Result().Cookies() {
				if c.MaxAge < 0 {
					next.Header.Del("Cookie") // the session ended
				}
			}
			w = httptest.NewRecorder()
			h.ServeHTTP(w, next)
			if tc.page == "" {
				if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/auth/login") {
					t.Fatalf("after a refused refresh: %d %q, want the sign-in page", w.Code, w.Header().Get("Location"))
				}
				return
			}
			body := w.Body.String()
			if w.Code != http.StatusOK || !strings.Contains(body, tc.page) {
				t.Fatalf("/private: %d, lacks %q:\n%s", w.Code, tc.page, body)
			}
			if button := strings.Contains(body, `id="refresh"`); button != (tc.tok.RefreshToken != "") {
				t.Errorf("Refresh now button shown: %v, with a refresh token: %v", button, tc.tok.RefreshToken != "")
			}
		})
	}
}
