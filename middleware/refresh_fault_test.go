package middleware

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/oidctest"
)

// refreshFixture signs in through the mock provider and returns the
// session cookies and a handler behind Require that writes the access
// token it sees.
func refreshFixture(t *testing.T, o loginOptions) (*loginTest, []*http.Cookie, http.Handler) {
	t.Helper()
	lt := newLoginTest(t, o)
	if r := lt.get(lt.start("a").String()); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", r.StatusCode)
	}
	var cookies []*http.Cookie
	for _, c := range lt.jar.Cookies(lt.appURL) {
		if strings.HasPrefix(c.Name, "portcullis") {
			cookies = append(cookies, c)
		}
	}
	h := lt.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := SessionFrom(r.Context())
		io.WriteString(w, s.Tokens.AccessToken)
	}))
	return lt, cookies, h
}

// call runs one API request with cookies through h.
func call(h http.Handler, cookies []*http.Cookie, hdr map[string]string) *httptest.ResponseRecorder {
	if hdr == nil {
		hdr = map[string]string{"Accept": "application/json"}
	}
	return serve(h, "GET", "http://app.test/token", hdr, cookies...)
}

// sessionCleared reports whether the response expires the session cookie.
func sessionCleared(rec *httptest.ResponseRecorder) bool {
	for _, c := range rec.Result().Cookies() {
		if c.Name == "portcullis" && c.MaxAge < 0 {
			return true
		}
	}
	return false
}

// originalToken returns the access token of the signed-in session.
func originalToken(t *testing.T, h http.Handler, cookies []*http.Cookie) string {
	t.Helper()
	rec := call(h, cookies, nil)
	if rec.Code != 200 || rec.Body.Len() == 0 {
		t.Fatalf("before any refresh: %d", rec.Code)
	}
	return rec.Body.String()
}

// The mock provider's tokens live an hour; RefreshBefore is a minute.
const (
	dueButValid = 59*time.Minute + 30*time.Second
	expired     = 61 * time.Minute
)

// TestRefreshFaults injects token-endpoint failures. Transient ones keep
// the session and its token while it is valid, back off, and fail with 502
// once the token has expired; invalid_grant ends the session.
func TestRefreshFaults(t *testing.T) {
	for _, tc := range []struct {
		name      string
		timeout   time.Duration
		fault     func(lt *loginTest)
		transient bool
	}{
		{"slow beyond the timeout", 2 * time.Second, func(lt *loginTest) {
			lt.op.TokenResponse = func(w http.ResponseWriter, r *http.Request) bool {
				select {
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
				return true
			}
		}, true},
		{"HTTP 500", 0, func(lt *loginTest) {
			lt.op.TokenResponse = func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(500)
				io.WriteString(w, `{"error":"server_error"}`)
				return true
			}
		}, true},
		{"garbage JSON", 0, func(lt *loginTest) {
			lt.op.TokenResponse = func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"access_token": "x", "expires_in": `)
				return true
			}
		}, true},
		{"connection dropped", 0, func(lt *loginTest) {
			lt.op.TokenResponse = func(w http.ResponseWriter, r *http.Request) bool {
				conn, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					conn.Close()
				}
				return true
			}
		}, true},
		{"connection refused", 0, func(lt *loginTest) { lt.op.Close() }, true},
		{"invalid_grant", 0, func(lt *loginTest) {
			lt.op.TokenResponse = func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(400)
				io.WriteString(w, `{"error":"invalid_grant","error_description":"<script>grant revoked</script>"}`)
				return true
			}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lt, cookies, h := refreshFixture(t, loginOptions{timeout: tc.timeout})
			old := originalToken(t, h, cookies)
			tc.fault(lt)
			tokenCalls := func() int { return len(lt.op.Requests(oidctest.PathToken)) }
			before := tokenCalls()

			later(lt.auth, dueButValid)
			rec := call(h, cookies, nil)
			if !tc.transient {
				if rec.Code != http.StatusUnauthorized || !sessionCleared(rec) || strings.Contains(rec.Body.String(), "script") {
					t.Fatalf("invalid_grant: status %d, session cleared %v, body %s", rec.Code, sessionCleared(rec), rec.Body)
				}
				// A browser is sent to sign in again; the memo answers
				// without another token-endpoint call.
				rec = call(h, cookies, map[string]string{"Sec-Fetch-Mode": "navigate"})
				if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/auth/login") {
					t.Fatalf("browser after invalid_grant: %d %s", rec.Code, rec.Header().Get("Location"))
				}
				if n := tokenCalls() - before; n != 1 {
					t.Fatalf("token endpoint called %d times, want 1", n)
				}
				return
			}
			// Transient, token still valid: the request succeeds with the
			// current token and the session is kept.
			if rec.Code != 200 || rec.Body.String() != old || sessionCleared(rec) {
				t.Fatalf("transient, token valid: status %d, same token %v, cleared %v", rec.Code, rec.Body.String() == old, sessionCleared(rec))
			}
			// An immediate retry is held back (backoff): no new call.
			if tc.name != "connection refused" {
				n := tokenCalls()
				if rec := call(h, cookies, nil); rec.Code != 200 || tokenCalls() != n {
					t.Fatalf("retry during backoff: status %d, token endpoint calls %d → %d", rec.Code, n, tokenCalls())
				}
			}
			// Transient, token expired: never passed on as valid; 502, and
			// the session stays for a later attempt.
			later(lt.auth, expired)
			rec = call(h, cookies, nil)
			if rec.Code != http.StatusBadGateway || sessionCleared(rec) || strings.Contains(rec.Body.String(), old) {
				t.Fatalf("transient, token expired: status %d, cleared %v", rec.Code, sessionCleared(rec))
			}
			if strings.Contains(lt.logs.String(), old) {
				t.Fatal("the access token reached the logs")
			}
		})
	}
}

// TestRefreshedIDTokenMustMatch: a refreshed ID token must keep iss, sub,
// aud and azp (OpenID Connect Core §12.2); otherwise the session ends.
func TestRefreshedIDTokenMustMatch(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(c oidctest.Claims)
		token func(b map[string]any)
		ok    bool
	}{
		{name: "honest", ok: true},
		{name: "no id_token in the response", token: func(b map[string]any) { delete(b, "id_token") }, ok: true},
		{name: "no new refresh token", token: func(b map[string]any) { delete(b, "refresh_token") }, ok: true},
		{name: "sub changed", edit: func(c oidctest.Claims) { c["sub"] = "someone-else" }},
		{name: "iss changed", edit: func(c oidctest.Claims) { c["iss"] = "https://other.example" }},
		{name: "aud changed", edit: func(c oidctest.Claims) {
			c["aud"] = []string{oidctest.ClientID, "trusted"}
			c["azp"] = oidctest.ClientID
		}},
		{name: "untrusted aud", edit: func(c oidctest.Claims) {
			c["aud"] = []string{oidctest.ClientID, "stranger"}
			c["azp"] = oidctest.ClientID
		}},
		{name: "azp added", edit: func(c oidctest.Claims) { c["azp"] = oidctest.ClientID }},
		{name: "expired", edit: func(c oidctest.Claims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }},
		{name: "at_hash wrong", edit: func(c oidctest.Claims) { c["at_hash"] = oidctest.AtHash("other") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lt, cookies, h := refreshFixture(t, loginOptions{extraAudiences: []string{"trusted"}})
			old := originalToken(t, h, cookies)
			if tc.edit != nil {
				lt.op.IDToken = func(c oidctest.Claims, hd oidctest.Header) (oidctest.Claims, oidctest.Header) {
					tc.edit(c)
					return c, hd
				}
			}
			lt.op.Token = tc.token
			later(lt.auth, dueButValid)
			rec := call(h, cookies, nil)
			if tc.ok {
				if rec.Code != 200 || rec.Body.String() == old || len(rec.Result().Cookies()) == 0 {
					t.Fatalf("status %d, new token %v, cookies %d", rec.Code, rec.Body.String() != old, len(rec.Result().Cookies()))
				}
				return
			}
			if rec.Code != http.StatusUnauthorized || !sessionCleared(rec) {
				t.Fatalf("status %d, session cleared %v; want 401 and the session ended", rec.Code, sessionCleared(rec))
			}
		})
	}
}
