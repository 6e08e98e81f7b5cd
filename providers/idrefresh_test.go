package providers

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/oidctest"
	"github.com/portcullis-go/portcullis/session"
)

// TestRefreshedIDTokenNonceAndAuthTime: a refreshed ID token may omit
// "nonce" and "auth_time", but when it carries them they must be the
// original's (OpenID Connect Core §12.2): "auth_time" is the time of the
// original authentication, not of the refresh.
func TestRefreshedIDTokenNonceAndAuthTime(t *testing.T) {
	authTime := time.Now().Add(-time.Hour).Unix()
	for _, tc := range []struct {
		name string
		// login edits the login's ID token (default: auth_time set);
		// refresh edits the refreshed one, which starts without nonce or
		// auth_time. nonce is the login's.
		login   func(c oidctest.Claims)
		refresh func(c oidctest.Claims, nonce string)
		denied  string // "" when the refresh is accepted
	}{
		{name: "neither", refresh: func(oidctest.Claims, string) {}},
		{name: "same nonce and auth_time", refresh: func(c oidctest.Claims, nonce string) { c["nonce"], c["auth_time"] = nonce, authTime }},
		{name: "auth_time with a fraction", refresh: func(c oidctest.Claims, _ string) { c["auth_time"] = float64(authTime) + 0.5 }},
		{name: "auth_time null", refresh: func(c oidctest.Claims, _ string) { c["auth_time"] = nil }},
		{name: "other nonce", refresh: func(c oidctest.Claims, nonce string) { c["nonce"] = nonce + "-2" }, denied: "nonce differs"},
		{name: "nonce of another flow, same length", refresh: func(c oidctest.Claims, nonce string) { c["nonce"] = strings.Repeat("n", len(nonce)) }, denied: "nonce differs"},
		{name: "auth_time of the refresh", refresh: func(c oidctest.Claims, _ string) { c["auth_time"] = time.Now().Unix() }, denied: "auth_time changed"},
		{name: "auth_time a second earlier", refresh: func(c oidctest.Claims, _ string) { c["auth_time"] = authTime - 1 }, denied: "auth_time changed"},
		{name: "auth_time not a number", refresh: func(c oidctest.Claims, _ string) { c["auth_time"] = "an hour ago" }, denied: "auth_time is not a number"},
		{name: "original without auth_time", login: func(c oidctest.Claims) { delete(c, "auth_time") },
			refresh: func(c oidctest.Claims, _ string) { c["auth_time"] = time.Now().Unix() }},
		{name: "original auth_time not a number", login: func(c oidctest.Claims) { c["auth_time"] = "then" },
			refresh: func(c oidctest.Claims, _ string) { c["auth_time"] = authTime }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, op := oidcProvider(t, false)
			var nonce string
			op.IDToken = func(c oidctest.Claims, h oidctest.Header) (oidctest.Claims, oidctest.Header) {
				if n, login := c["nonce"].(string); login {
					nonce = n
					c["auth_time"] = authTime
					if tc.login != nil {
						tc.login(c)
					}
				} else {
					tc.refresh(c, nonce) // a nil value is sent as null
				}
				return c, h
			}
			id, _, err := oidcLogin(t, p, op)
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			s := session.New(id.User, id.Tokens, time.Now(), time.Hour)
			tok, err := p.Refresh(context.Background(), s)
			if tc.denied == "" {
				if err != nil {
					t.Fatalf("refresh refused: %v", err)
				}
				if tok.IDToken == "" || tok.IDToken == s.Tokens.IDToken {
					t.Errorf("refreshed ID token not kept")
				}
				return
			}
			if !errors.Is(err, ErrDenied) {
				t.Fatalf("refresh: %v, want an error wrapping ErrDenied", err)
			}
			if msg := err.Error(); !strings.Contains(msg, "refreshed id_token: "+tc.denied) || strings.Contains(msg, nonce) {
				t.Errorf("error %q, want one about %q that does not quote the nonce", msg, tc.denied)
			}
		})
	}
}
