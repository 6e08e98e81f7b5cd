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

// allThree configures Google, GitHub and an OpenID Connect provider with
// fake credentials. Every provider URL is a loopback port where nothing
// listens: discovery (Google, OIDC) fails at once and the providers are
// returned to discover lazily, GitHub makes no request at startup, and no
// test reaches the internet.
var allThree = map[string]string{
	"GOOGLE_CLIENT_ID":     "app.apps.googleusercontent.com",
	"GOOGLE_CLIENT_SECRET": "google-secret",
	"GOOGLE_ISSUER":        "http://127.0.0.1:1",
	"GITHUB_CLIENT_ID":     "Iv1.0123456789abcdef",
	"GITHUB_CLIENT_SECRET": "github-secret",
	"GITHUB_URL":           "http://127.0.0.1:1",
	"OIDC_ISSUER":          "http://127.0.0.1:1",
	"OIDC_CLIENT_ID":       "app",
	"OIDC_CLIENT_SECRET":   "oidc-secret",
	"SESSION_KEYS":         exampletest.Keys,
}

// testEnv is allThree with extra's values instead ("" unsets).
func testEnv(extra map[string]string) func(string) string {
	return exampletest.Env(allThree, extra)
}

var discard = slog.New(slog.DiscardHandler)

// TestRequired checks that a configuration that cannot be used stops the
// program with a message naming the variable to set.
func TestRequired(t *testing.T) {
	none := map[string]string{"GOOGLE_CLIENT_ID": "", "GITHUB_CLIENT_ID": "", "OIDC_ISSUER": ""}
	for _, tt := range []struct {
		name  string
		extra map[string]string
		says  []string
	}{
		{"no provider", none, []string{"GOOGLE_CLIENT_ID", "GITHUB_CLIENT_ID", "OIDC_ISSUER"}},
		{"Google without secret", map[string]string{"GOOGLE_CLIENT_SECRET": ""}, []string{"GOOGLE_CLIENT_SECRET"}},
		{"GitHub without secret", map[string]string{"GITHUB_CLIENT_SECRET": ""}, []string{"GITHUB_CLIENT_SECRET"}},
		{"OIDC without client ID", map[string]string{"OIDC_CLIENT_ID": ""}, []string{"OIDC_CLIENT_ID"}},
		{"bad SESSION_KEYS", map[string]string{"SESSION_KEYS": "not base64!"}, []string{"SESSION_KEYS"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := run(t.Context(), testEnv(tt.extra), discard, nil)
			if err == nil {
				t.Fatalf("run: no error, want one naming %q", tt.says)
			}
			for _, s := range tt.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("run: %v, want an error naming %s", err, s)
				}
			}
		})
	}
}

// TestChooser checks that /auth/login shows a button per configured
// provider, in the order Google, GitHub, OIDC, and that with one provider
// alone it goes straight to that provider (here GitHub's authorization
// endpoint at GITHUB_URL, which the test does not follow).
func TestChooser(t *testing.T) {
	t.Run("three providers", func(t *testing.T) {
		h, err := run(t.Context(), testEnv(nil), discard, nil)
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/auth/login?return_to=%2Fprivate", nil))
		body := w.Body.String()
		if w.Code != http.StatusOK {
			t.Fatalf("/auth/login: %d %s", w.Code, body)
		}
		last := -1
		for _, want := range []string{
			`href="/auth/login/google?return_to=%2Fprivate"`, "Sign in with Google",
			`href="/auth/login/github?return_to=%2Fprivate"`, "Sign in with GitHub",
			`href="/auth/login/oidc?return_to=%2Fprivate"`, "Sign in with 127.0.0.1",
		} {
			i := strings.Index(body, want)
			if i < 0 {
				t.Errorf("/auth/login lacks %q: %s", want, body)
			} else if i < last {
				t.Errorf("/auth/login: %q out of order: %s", want, body)
			}
			last = max(last, i)
		}
	})

	t.Run("one provider", func(t *testing.T) {
		h, err := run(t.Context(), testEnv(map[string]string{"GOOGLE_CLIENT_ID": "", "OIDC_ISSUER": ""}), discard, nil)
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/auth/login?return_to=%2Fprivate", nil))
		if loc := w.Header().Get("Location"); w.Code != http.StatusFound || !strings.HasPrefix(loc, "http://127.0.0.1:1/login/oauth/authorize?") {
			t.Errorf("/auth/login with GitHub alone: %d Location %q, want a redirect to GitHub's authorization endpoint", w.Code, loc)
		}
	})
}

// TestPrivate visits /private signed in with each provider (authtest.SignIn,
// through the app's own session store) and signed out.
func TestPrivate(t *testing.T) {
	auth, err := newAuth(t.Context(), testEnv(nil), discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := routes(auth)

	for _, tt := range []struct {
		user session.User
		want []string
	}{
		{session.User{Provider: "google", Subject: "1234567890", Email: "ada@example.com", Name: "Ada Lovelace"},
			[]string{"<dd>Ada Lovelace</dd>", "<dd>ada@example.com</dd>", "<dt>Subject</dt><dd>1234567890</dd>", "<dd>google</dd>"}},
		{session.User{Provider: "github", Subject: "583231", Login: "octocat", Name: "The Octocat"},
			[]string{"<dd>The Octocat</dd>", "<dt>Login</dt><dd>octocat</dd>", "<dd>github</dd>"}},
		{session.User{Provider: "oidc", Subject: "grace", Email: "grace@example.com", Name: "Grace Hopper"},
			[]string{"<dd>Grace Hopper</dd>", "<dd>grace@example.com</dd>", "<dt>Subject</dt><dd>grace</dd>", "<dd>oidc</dd>"}},
	} {
		t.Run("signed in with "+tt.user.Provider, func(t *testing.T) {
			w := exampletest.Visit(t, h, auth, "/private", &tt.user)
			body := w.Body.String()
			if w.Code != http.StatusOK || !strings.Contains(body, "<h1>Signed in</h1>") {
				t.Fatalf("/private signed in: %d %s", w.Code, body)
			}
			for _, want := range tt.want {
				if !strings.Contains(body, want) {
					t.Errorf("/private lacks %q: %s", want, body)
				}
			}
		})
	}

	t.Run("signed out", func(t *testing.T) { exampletest.SignedOut(t, h, auth, "/private") })
}
