package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/examples/internal/exampletest"
	"github.com/portcullis-go/portcullis/session"
)

// testEnv is a complete configuration with fake credentials. The issuer
// is a loopback port where nothing listens, so discovery fails at once and
// providers.Google returns a provider that discovers lazily: no test
// reaches Google.
func testEnv(extra map[string]string) func(string) string {
	return exampletest.Env(map[string]string{
		"GOOGLE_CLIENT_ID":     "app.apps.googleusercontent.com",
		"GOOGLE_CLIENT_SECRET": "secret",
		"GOOGLE_ISSUER":        "http://127.0.0.1:1",
		"SESSION_KEYS":         exampletest.Keys,
	}, extra)
}

var discard = slog.New(slog.DiscardHandler)

// TestRequired checks that a missing required variable stops the program
// with a message naming it.
func TestRequired(t *testing.T) {
	for _, name := range []string{"GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET"} {
		t.Run(name, func(t *testing.T) {
			_, err := run(t.Context(), testEnv(map[string]string{name: ""}), discard, nil)
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("run without %s: %v, want an error naming it", name, err)
			}
		})
	}
	t.Run("SESSION_KEYS", func(t *testing.T) {
		_, err := run(t.Context(), testEnv(map[string]string{"SESSION_KEYS": "not base64!"}), discard, nil)
		if err == nil || !strings.Contains(err.Error(), "SESSION_KEYS") {
			t.Errorf("run with a bad SESSION_KEYS: %v, want an error naming it", err)
		}
	})
}

// TestPrivate builds the application and visits /private signed in as a
// Google user (authtest.SignIn, through the app's own session store) and
// signed out.
func TestPrivate(t *testing.T) {
	auth, err := newAuth(t.Context(), testEnv(nil), discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := routes(auth)
	get := func(t *testing.T, u *session.User) *httptest.ResponseRecorder {
		return exampletest.Visit(t, h, auth, "/private", u)
	}

	t.Run("signed in", func(t *testing.T) {
		w := get(t, &session.User{Provider: "google", Subject: "1234567890", Email: "ada@example.com", Name: "Ada Lovelace"})
		body := w.Body.String()
		if w.Code != http.StatusOK {
			t.Fatalf("/private signed in: %d %s", w.Code, body)
		}
		for _, want := range []string{"<h1>Signed in</h1>", "<dd>Ada Lovelace</dd>", "<dd>ada@example.com</dd>", "<dd>1234567890</dd>", "<dd>google</dd>"} {
			if !strings.Contains(body, want) {
				t.Errorf("/private lacks %q: %s", want, body)
			}
		}
	})

	t.Run("signed out", func(t *testing.T) {
		w := get(t, nil)
		if loc := w.Header().Get("Location"); w.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/auth/login?") || !strings.Contains(loc, "return_to=%2Fprivate") {
			t.Errorf("/private signed out: %d Location %q, want 303 to /auth/login?return_to=%%2Fprivate", w.Code, loc)
		}
	})

	t.Run("public", func(t *testing.T) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `<a href="/private">`) {
			t.Errorf("/: %d %s", w.Code, w.Body)
		}
	})
}
