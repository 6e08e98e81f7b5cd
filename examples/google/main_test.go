package main

import (
	"log/slog"
	"net/http"
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
	exampletest.Required(t, func(t *testing.T, extra map[string]string) error {
		_, err := run(t.Context(), testEnv(extra), discard, nil)
		return err
	}, "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET")
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

	t.Run("signed in", func(t *testing.T) {
		w := exampletest.Visit(t, h, auth, "/private", &session.User{Provider: "google", Subject: "1234567890", Email: "ada@example.com", Name: "Ada Lovelace"})
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

	t.Run("signed out", func(t *testing.T) { exampletest.SignedOut(t, h, auth, "/private") })

	t.Run("public", func(t *testing.T) { exampletest.Public(t, h) })
}
