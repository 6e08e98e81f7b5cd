package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/examples/internal/exampletest"
	"github.com/portcullis-go/portcullis/internal/fakeapple"
	"github.com/portcullis-go/portcullis/session"
)

var discard = slog.New(slog.DiscardHandler)

// testEnv is a complete configuration for the Sign in with Apple stand-in
// fa (internal/fakeapple), with its .p8 key written to a file, and the
// application at baseURL.
func testEnv(t *testing.T, fa *fakeapple.Server, baseURL string, extra map[string]string) func(string) string {
	keyFile := filepath.Join(t.TempDir(), "AuthKey_"+fakeapple.KeyID+".p8")
	if err := os.WriteFile(keyFile, fa.PrivateKeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return exampletest.Env(map[string]string{
		"APPLE_TEAM_ID":     fakeapple.TeamID,
		"APPLE_CLIENT_ID":   fakeapple.ServicesID,
		"APPLE_KEY_ID":      fakeapple.KeyID,
		"APPLE_PRIVATE_KEY": keyFile,
		"APPLE_AUTHORITY":   fa.URL,
		"BASE_URL":          baseURL,
		"SESSION_KEYS":      exampletest.Keys,
	}, extra)
}

// TestRequired checks that a missing or unusable setting stops the program
// with a message naming it.
func TestRequired(t *testing.T) {
	fa := fakeapple.New(fakeapple.Config{})
	defer fa.Close()
	for _, tc := range []struct {
		name, value string
	}{
		{"APPLE_TEAM_ID", ""},
		{"APPLE_CLIENT_ID", ""},
		{"APPLE_KEY_ID", ""},
		{"APPLE_PRIVATE_KEY", ""},
		{"APPLE_PRIVATE_KEY", "/nonexistent/AuthKey.p8"},
		{"SESSION_KEYS", "not base64!"},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			_, err := run(t.Context(), testEnv(t, fa, "http://127.0.0.1:8080", map[string]string{tc.name: tc.value}), discard, fa.Client())
			if err == nil || !strings.Contains(err.Error(), tc.name) {
				t.Errorf("run with %s=%q: %v, want an error naming it", tc.name, tc.value, err)
			}
		})
	}
}

// TestSignIn signs in through the whole application against the stand-in:
// /private sends the browser to Apple, whose page posts the answer back
// (form_post); the first sign-in shows the name Apple sent, the second
// says it was not sent; both show the verified email and the subject.
func TestSignIn(t *testing.T) {
	app := httptest.NewServer(nil)
	defer app.Close()
	fa := fakeapple.New(fakeapple.Config{RedirectURIs: []string{app.URL + "/auth/callback/apple"}})
	defer fa.Close()
	h, err := run(t.Context(), testEnv(t, fa, app.URL, nil), discard, fa.Client())
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = h

	for i, name := range []string{"<dd>Ada Lovelace</dd>", "(not sent: Apple sends the name on the first sign-in only)"} {
		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Jar: jar}
		// Following redirects: /private, /auth/login, /auth/login/apple,
		// Apple's page.
		req, _ := http.NewRequest("GET", app.URL+"/private", nil)
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		action, form, err := fakeapple.ParseFormPost(page)
		if err != nil {
			t.Fatalf("sign-in %d: %v: %s", i+1, err, page)
		}
		// The browser submits the form, and follows the 303 to /private.
		resp, err = browser.PostForm(action, form)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/private" {
			t.Fatalf("sign-in %d: %d at %s: %s", i+1, resp.StatusCode, resp.Request.URL, body)
		}
		for _, want := range []string{"<h1>Signed in</h1>", name, "<dd>x7k2m9p4qz@privaterelay.appleid.com</dd>", "<dd>001234.0a1b2c3d4e5f.1234</dd>"} {
			if !strings.Contains(string(body), want) {
				t.Errorf("sign-in %d: /private lacks %q: %s", i+1, want, body)
			}
		}
	}
	if q := fa.Requests(fakeapple.PathAuthorize)[0].Query; q.Get("scope") != "openid name email" || q.Get("response_mode") != "form_post" {
		t.Errorf("authorization request %v", q)
	}
}

// TestPrivate visits /private signed in without an email, signed out, and
// the public page.
func TestPrivate(t *testing.T) {
	fa := fakeapple.New(fakeapple.Config{})
	defer fa.Close()
	auth, err := newAuth(t.Context(), testEnv(t, fa, "http://127.0.0.1:8080", nil), discard, fa.Client())
	if err != nil {
		t.Fatal(err)
	}
	h := routes(auth)
	w := exampletest.Visit(t, h, auth, "/private", &session.User{Provider: "apple", Subject: "001234.abc.1234", Name: "Ada"})
	if body := w.Body.String(); w.Code != http.StatusOK || !strings.Contains(body, "(no verified email)") || !strings.Contains(body, "<dd>001234.abc.1234</dd>") {
		t.Errorf("/private without email: %d %s", w.Code, body)
	}
	exampletest.SignedOut(t, h, auth, "/private")
	exampletest.Public(t, h)
}
