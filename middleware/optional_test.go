package middleware

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/sharedmem"
)

// homeHandler answers "hello <name>" for a signed-in request and
// "anonymous" otherwise.
func homeHandler(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := UserFrom(r.Context())
		_, sok := SessionFrom(r.Context())
		if ok != sok {
			t.Error("UserFrom and SessionFrom disagree")
		}
		if !ok {
			io.WriteString(w, "anonymous")
			return
		}
		io.WriteString(w, "hello "+u.Name)
	})
}

// TestOptional: anonymous requests and signed-in ones both reach the
// handler, only the latter with a user; no redirect, no 401; responses
// vary on the cookie and a signed-in one is private.
func TestOptional(t *testing.T) {
	e := newE2E(t, false)
	h := e.auth.Optional(homeHandler(t))
	nav := map[string]string{"Accept": "text/html", "Sec-Fetch-Mode": "navigate"}

	rec := serve(h, http.MethodGet, e.app.URL+"/", nav)
	if rec.Code != 200 || rec.Body.String() != "anonymous" || len(rec.Result().Cookies()) != 0 {
		t.Fatalf("anonymous: %d %q, %d cookies", rec.Code, rec.Body, len(rec.Result().Cookies()))
	}
	if !slices.Contains(rec.Header().Values("Vary"), "Cookie") {
		t.Errorf("anonymous response without Vary: Cookie: %v", rec.Header())
	}

	refreshApp(e)
	cookies := e.login()
	rec = serve(h, http.MethodGet, e.app.URL+"/", nav, cookies...)
	if rec.Code != 200 || rec.Body.String() != "hello Ada Lovelace" {
		t.Fatalf("signed in: %d %q", rec.Code, rec.Body)
	}
	if !slices.Contains(rec.Header().Values("Vary"), "Cookie") || !strings.Contains(rec.Header().Get("Cache-Control"), "private") {
		t.Errorf("signed-in response not private: %v", rec.Header())
	}

	// A junk cookie is anonymous, not an error.
	junk := []*http.Cookie{{Name: cookies[0].Name, Value: "junk"}}
	if rec := serve(h, http.MethodGet, e.app.URL+"/", nav, junk...); rec.Code != 200 || rec.Body.String() != "anonymous" {
		t.Fatalf("junk cookie: %d %q", rec.Code, rec.Body)
	}
}

// TestOptionalRefreshes: a session whose token is due is refreshed before
// the handler runs, and the rotated cookie reaches the browser.
func TestOptionalRefreshes(t *testing.T) {
	e := newE2E(t, false)
	refreshApp(e)
	cookies := e.login()
	h := e.auth.Optional(homeHandler(t))
	later(e.auth, 4*time.Minute+30*time.Second) // devoidc's tokens live 5 minutes
	rec := serve(h, http.MethodGet, e.app.URL+"/", nil, cookies...)
	if rec.Code != 200 || rec.Body.String() != "hello Ada Lovelace" {
		t.Fatalf("due for refresh: %d %q", rec.Code, rec.Body)
	}
	if len(rec.Result().Cookies()) == 0 {
		t.Fatal("the refreshed session was not saved")
	}
	if st := e.op.Stats(); st.Refreshes != 1 || st.RefreshReuses != 0 {
		t.Fatalf("provider: %+v, want one refresh", st)
	}
}

// TestOptionalEndedSession: after logout, a copy of the cookie is
// anonymous on an Optional page (200, no user), as it is 401 behind
// Require.
func TestOptionalEndedSession(t *testing.T) {
	e := newE2E(t, false)
	refreshApp(e)
	cookies := e.login()
	if resp, _ := e.do(http.MethodPost, "/auth/logout", map[string]string{"Origin": e.app.URL, "Sec-Fetch-Site": "same-origin"}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	h := e.auth.Optional(homeHandler(t))
	if rec := serve(h, http.MethodGet, e.app.URL+"/", nil, cookies...); rec.Code != 200 || rec.Body.String() != "anonymous" {
		t.Fatalf("copied cookie after logout: %d %q, want anonymous", rec.Code, rec.Body)
	}
}

// TestOptionalStoreDown: a revocation list that cannot answer makes the
// request anonymous (the page stays up, nobody unchecked is signed in),
// reported as a store_error event.
func TestOptionalStoreDown(t *testing.T) {
	st := sharedmem.New(nil)
	e := newE2E(t, false, func(c *Config) { c.Shared = st })
	refreshApp(e)
	cookies := e.login()
	st.SetDown(true)
	later(e.auth, 2*time.Second) // past SharedStaleness
	h := e.auth.Optional(homeHandler(t))
	if rec := serve(h, http.MethodGet, e.app.URL+"/", nil, cookies...); rec.Code != 200 || rec.Body.String() != "anonymous" {
		t.Fatalf("store down: %d %q, want anonymous", rec.Code, rec.Body)
	}
	if !strings.Contains(e.logs.String(), "event=store_error") {
		t.Errorf("no store_error event:\n%s", e.logs)
	}
	st.SetDown(false)
	if rec := serve(h, http.MethodGet, e.app.URL+"/", nil, cookies...); rec.Code != 200 || rec.Body.String() != "hello Ada Lovelace" {
		t.Fatalf("store back: %d %q", rec.Code, rec.Body)
	}
}
