package main

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/examples/internal/exampletest"
	"github.com/portcullis-go/portcullis/session"
)

// testEnv is a complete configuration with fake credentials. GITHUB_URL is
// a loopback port where nothing listens: providers.GitHub makes no request
// at startup and these tests sign in without GitHub, but should one ever
// reach out, it would not reach the internet.
func testEnv(extra map[string]string) func(string) string {
	return exampletest.Env(map[string]string{
		"GITHUB_CLIENT_ID":     "Iv1.0123456789abcdef",
		"GITHUB_CLIENT_SECRET": "secret",
		"GITHUB_URL":           "http://127.0.0.1:1",
		"SESSION_KEYS":         exampletest.Keys,
	}, extra)
}

var discard = slog.New(slog.DiscardHandler)

// TestRequired checks that a missing or unusable variable stops the
// program with a message naming it.
func TestRequired(t *testing.T) {
	exampletest.Required(t, func(t *testing.T, extra map[string]string) error {
		_, err := run(t.Context(), testEnv(extra), discard, nil)
		return err
	}, "GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET")
}

// TestPrivate builds the application and visits /private signed in as a
// GitHub user (authtest.SignIn, through the app's own session store) and
// signed out.
func TestPrivate(t *testing.T) {
	auth, err := newAuth(t.Context(), testEnv(map[string]string{"GITHUB_ORG": "acme"}), discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := routes(auth)

	t.Run("signed in", func(t *testing.T) {
		w := exampletest.Visit(t, h, auth, "/private", &session.User{Provider: "github", Subject: "583231", Login: "octocat", Name: "The Octocat", Email: "octocat@example.com", Groups: []string{"acme"}})
		body := w.Body.String()
		if w.Code != http.StatusOK {
			t.Fatalf("/private signed in: %d %s", w.Code, body)
		}
		for _, want := range []string{"<h1>Signed in</h1>", "<dd>The Octocat</dd>", "<dd>octocat@example.com</dd>", "<dd>octocat</dd>", "<dd>583231</dd>", "<dd>github</dd>", "<dt>Organisations</dt><dd>acme </dd>"} {
			if !strings.Contains(body, want) {
				t.Errorf("/private lacks %q: %s", want, body)
			}
		}
	})

	t.Run("signed out", func(t *testing.T) { exampletest.SignedOut(t, h, auth, "/private") })

	t.Run("public", func(t *testing.T) { exampletest.Public(t, h) })
}
