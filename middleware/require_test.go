package middleware

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/session"
)

// signedIn returns the cookies of a saved session for u.
func signedIn(t *testing.T, a *Auth, edit func(s *session.Session)) []*http.Cookie {
	t.Helper()
	s := session.New(session.User{Provider: "dev", Issuer: a.s.providers["dev"].Issuer(), Subject: "ada", Name: "Ada"}, session.Tokens{AccessToken: "at", Expiry: time.Now().Add(time.Hour)}, time.Now(), time.Hour)
	if edit != nil {
		edit(s)
	}
	rec := httptest.NewRecorder()
	if err := a.s.Sessions.Save(rec, httptest.NewRequest("GET", "/", nil), s); err != nil {
		t.Fatal(err)
	}
	return rec.Result().Cookies()
}

func TestRequireUnauthenticated(t *testing.T) {
	a := newTestAuth(t)
	h := a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("handler reached without a session")
	}))
	for _, tc := range []struct {
		name, method, target string
		hdr                  map[string]string
		redirect             bool
	}{
		{"navigation", "GET", "/reports?q=1", map[string]string{"Sec-Fetch-Mode": "navigate", "Accept": "*/*"}, true},
		{"HEAD navigation", "HEAD", "/reports", map[string]string{"Sec-Fetch-Mode": "navigate"}, true},
		{"old browser, HTML accept", "GET", "/reports", map[string]string{"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}, true},
		{"fetch", "GET", "/api/x", map[string]string{"Sec-Fetch-Mode": "cors", "Accept": "text/html"}, false},
		{"no-cors image", "GET", "/favicon.ico", map[string]string{"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}, false},
		{"JSON client", "GET", "/api/x", map[string]string{"Accept": "application/json"}, false},
		{"curl", "GET", "/api/x", map[string]string{"Accept": "*/*"}, false},
		{"POST form", "POST", "/reports", map[string]string{"Sec-Fetch-Mode": "navigate", "Accept": "text/html"}, false},
		{"DELETE", "DELETE", "/api/x", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(h, tc.method, "https://app.example"+tc.target, tc.hdr)
			if tc.redirect {
				want := "/auth/login?return_to=" + queryEscape(tc.target)
				if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != want {
					t.Fatalf("status %d Location %q, want 303 %q", rec.Code, rec.Header().Get("Location"), want)
				}
				return
			}
			if rec.Code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", rec.Code)
			}
			if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), `Cookie realm="portcullis"`) {
				t.Errorf("WWW-Authenticate %q", rec.Header().Get("WWW-Authenticate"))
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Error("401 without Cache-Control: no-store")
			}
			if strings.Contains(tc.hdr["Accept"], "text/html") || tc.hdr["Sec-Fetch-Mode"] == "navigate" {
				// A browser gets the sign-in page with a link back.
				if !strings.Contains(rec.Body.String(), `href="/auth/login?return_to=`+queryEscape(tc.target)+`"`) {
					t.Errorf("HTML 401 page without a sign-in link: %s", rec.Body)
				}
				return
			}
			var body struct{ Error, Message, Login_URL string }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil && tc.method != "HEAD" {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if tc.method != "HEAD" && (body.Error != "unauthenticated" || !strings.HasPrefix(body.Login_URL, "/auth/login")) {
				t.Errorf("body %+v", body)
			}
		})
	}
}

func TestRequireRedirectKeepsOnlySafePaths(t *testing.T) {
	a := newTestAuth(t)
	h := a.Require(http.NotFoundHandler())
	for target, want := range map[string]string{
		"/a/b?c=d":              "/auth/login?return_to=%2Fa%2Fb%3Fc%3Dd",
		"/":                     "/auth/login",
		"/%2F%2Fevil.example/x": "/auth/login",
		"/%5Cevil.example":      "/auth/login",
	} {
		req := httptest.NewRequest("GET", "https://app.example"+target, nil)
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if got := rec.Header().Get("Location"); got != want {
			t.Errorf("%s: Location %q, want %q", target, got, want)
		}
	}
}

func TestRequireSignedIn(t *testing.T) {
	a := newTestAuth(t)
	var got *session.User
	h := a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = UserFrom(r.Context())
	}))
	rec := serve(h, "GET", "https://app.example/x", nil, signedIn(t, a, nil)...)
	if rec.Code != 200 || got == nil || got.Subject != "ada" || got.ID() != "dev|ada" {
		t.Fatalf("status %d user %+v", rec.Code, got)
	}
	// Not through Require: no user, no panic.
	if u, ok := UserFrom(httptest.NewRequest("GET", "/", nil).Context()); ok || u != nil {
		t.Fatal("UserFrom outside Require returned a user")
	}
}

func TestRequireRefusesSessions(t *testing.T) {
	a := newTestAuth(t)
	h := a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("handler reached") }))
	cookies := signedIn(t, a, func(s *session.Session) { s.User.Provider = "gone" })
	if rec := serve(h, "GET", "https://app.example/x", map[string]string{"Accept": "application/json"}, cookies...); rec.Code != 401 {
		t.Fatalf("session of an unconfigured provider: status %d, want 401", rec.Code)
	}

	// A store that allows longer sessions than the middleware: the
	// middleware's SessionLifetime still bounds them.
	long, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testKey}, Lifetime: 48 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	b, err := newAuth(t, Config{BaseURL: "https://app.example", Providers: a.s.Providers, Keys: [][]byte{testKey}, Sessions: long})
	if err != nil {
		t.Fatal(err)
	}
	cookies = signedIn(t, b, func(s *session.Session) {
		s.Created = time.Now().Add(-13 * time.Hour)
		s.Expires = time.Now().Add(time.Hour)
	})
	hb := b.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("handler reached") }))
	if rec := serve(hb, "GET", "https://app.example/x", map[string]string{"Accept": "application/json"}, cookies...); rec.Code != 401 {
		t.Fatalf("session longer than SessionLifetime: status %d, want 401", rec.Code)
	}
	// A session that has outlived its absolute lifetime, seen by an Auth
	// whose clock moved on.
	cookies = signedIn(t, a, nil)
	a.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	defer func() { a.now = time.Now }()
	if rec := serve(h, "GET", "https://app.example/x", map[string]string{"Accept": "application/json"}, cookies...); rec.Code != 401 {
		t.Fatalf("expired session: status %d, want 401", rec.Code)
	}
}

func TestRequireNilPanics(t *testing.T) {
	a := newTestAuth(t)
	defer func() {
		if recover() == nil {
			t.Fatal("Require(nil) did not panic")
		}
	}()
	a.Require(nil)
}
