// Package exampletest holds what the examples' own tests share: an
// environment from a map, and a visit of a page signed in (through
// middleware/authtest) or signed out. It is the examples' own and not
// importable by other modules; an application's tests use authtest
// directly.
package exampletest

import (
	"maps"
	"net/http"
	"net/http/httptest"
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
