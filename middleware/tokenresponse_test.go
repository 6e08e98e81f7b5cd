package middleware

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestUserInfoErrorNotQuoted: a UserInfo endpoint that fails with a body
// echoing the access token fails the login, and neither the error given to
// the ErrorHandler (which applications log) nor the logs quote the body.
func TestUserInfoErrorNotQuoted(t *testing.T) {
	lt := newLoginTest(t, loginOptions{userInfo: true})
	lt.op.UserInfoResponse = func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, "<html>SECRET-ECHO "+r.Header.Get("Authorization")+"</html>")
		return true
	}
	r := lt.get(lt.start("a").String())
	if r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", r.StatusCode)
	}
	if err := lt.lastErr(); err == nil || strings.Contains(err.Error(), "SECRET-ECHO") || strings.Contains(err.Error(), "Bearer") {
		t.Fatalf("error %v quotes the UserInfo body", err)
	}
	if strings.Contains(lt.logs.String(), "SECRET-ECHO") {
		t.Fatal("logs quote the UserInfo body")
	}
}

// TestTokenWithoutExpiresIn: an OpenID Connect token response without
// expires_in gives a short-lived token (TK-06), never an eternal one.
func TestTokenWithoutExpiresIn(t *testing.T) {
	lt := newLoginTest(t, loginOptions{})
	lt.op.Token = func(b map[string]any) { delete(b, "expires_in") }
	if r := lt.get(lt.start("a").String()); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", r.StatusCode)
	}
	s := loadSession(t, lt.auth, lt.jar.Cookies(lt.appURL))
	if left := time.Until(s.Tokens.Expiry); left < 9*time.Minute || left > 11*time.Minute {
		t.Fatalf("access token without expires_in expires in %v, want about 10 minutes", left)
	}
}
