// Package exampletest holds what the examples' own tests share: an
// environment from a map, the check that missing variables stop a
// program, a visit of a page signed in (through middleware/authtest) or
// signed out, and the checks of the signed-out redirect and the public
// page. It is the examples' own and not
// importable by other modules; an application's tests use authtest
// directly.
package exampletest

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/middleware/authtest"
	"github.com/portcullis-go/portcullis/session"
)

// Keys is a SESSION_KEYS value for tests (one 32-byte key, base64).
const Keys = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// Env returns a getenv over base with extra's entries on top (an empty
// value unsets a variable).
func Env(base, extra map[string]string) func(string) string {
	env := maps.Clone(base)
	maps.Copy(env, extra)
	return func(k string) string { return env[k] }
}

// Visit sends a browser navigation to h for path, signed in as u through
// auth's own session store when u is not nil, and returns the response.
func Visit(t *testing.T, h http.Handler, auth *middleware.Auth, path string, u *session.User) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", "http://127.0.0.1:8080"+path, nil)
	r.Header.Set("Sec-Fetch-Mode", "navigate")
	if u != nil {
		authtest.SignIn(t, auth, r, *u, session.Tokens{})
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// Required calls build once with each of names unset and once with
// SESSION_KEYS not base64, each in a subtest named after the variable, and
// fails unless every error names the variable. build runs the program
// with its complete test configuration changed by extra.
func Required(t *testing.T, build func(t *testing.T, extra map[string]string) error, names ...string) {
	t.Helper()
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			err := build(t, map[string]string{name: ""})
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("run without %s: %v, want an error naming it", name, err)
			}
		})
	}
	t.Run("SESSION_KEYS", func(t *testing.T) {
		err := build(t, map[string]string{"SESSION_KEYS": "not base64!"})
		if err == nil || !strings.Contains(err.Error(), "SESSION_KEYS") {
			t.Errorf("run with a bad SESSION_KEYS: %v, want an error naming it", err)
		}
	})
}

// SignedOut visits path signed out and fails unless the answer is a 303
// to /auth/login with path as return_to.
func SignedOut(t *testing.T, h http.Handler, auth *middleware.Auth, path string) {
	t.Helper()
	w := Visit(t, h, auth, path, nil)
	if loc := w.Header().Get("Location"); w.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/auth/login?") || !strings.Contains(loc, "return_to="+url.QueryEscape(path)) {
		t.Errorf("%s signed out: %d Location %q, want 303 to /auth/login?return_to=%s", path, w.Code, loc, url.QueryEscape(path))
	}
}

// Public gets / and fails unless it answers 200 with a link to /private.
func Public(t *testing.T, h http.Handler) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `<a href="/private">`) {
		t.Errorf("/: %d %s", w.Code, w.Body)
	}
}
