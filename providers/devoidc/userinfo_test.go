package devoidc

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestUserInfo(t *testing.T) {
	o := newTestOP(t)
	at := str(o.tokens(), "access_token")
	tests := []struct {
		name       string
		method     string
		query      string
		auth       string
		wantStatus int
		wantAuth   string // substring of WWW-Authenticate
	}{
		{"bearer GET", "GET", "", "Bearer " + at, 200, ""},
		{"bearer POST", "POST", "", "Bearer " + at, 200, ""},
		{"lower-case scheme", "GET", "", "bearer " + at, 200, ""},
		{"no credentials", "GET", "", "", 401, `Bearer realm="devoidc"`},
		{"token in query", "GET", "access_token=" + url.QueryEscape(at), "", 400, `error="invalid_request"`},
		{"token in query and header", "GET", "access_token=" + url.QueryEscape(at), "Bearer " + at, 400, `error="invalid_request"`},
		{"unknown token", "GET", "", "Bearer " + randomToken(), 401, `error="invalid_token"`},
		{"basic scheme", "GET", "", "Basic " + at, 401, `error="invalid_token"`},
		{"empty bearer", "GET", "", "Bearer ", 401, `error="invalid_token"`},
		{"refresh token as access token", "GET", "", "Bearer " + str(o.tokens(), "refresh_token"), 401, `error="invalid_token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := o.url("/userinfo")
			if tt.query != "" {
				u += "?" + tt.query
			}
			req, _ := http.NewRequest(tt.method, u, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp := o.do(req)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", resp.Header.Get("Cache-Control"))
			}
			if got := resp.Header.Get("WWW-Authenticate"); !strings.Contains(got, tt.wantAuth) || (tt.wantAuth == "") != (got == "") {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.wantAuth)
			}
			if tt.wantStatus != 200 {
				return
			}
			var m map[string]any
			decodeJSON(t, resp, &m)
			if m["sub"] != "ada" || m["name"] != "Ada Lovelace" || m["email"] != "ada@example.com" || m["email_verified"] != true {
				t.Errorf("claims = %v", m)
			}
		})
	}
}

func TestUserInfoScope(t *testing.T) {
	o := newTestOP(t)
	resp, m := o.exchange(o.code(map[string]string{"scope": "openid"}))
	if resp.StatusCode != http.StatusOK {
		t.Fatal(m)
	}
	_, info := o.userinfo(str(m, "access_token"))
	if len(info) != 1 || info["sub"] != "ada" {
		t.Errorf("scope openid released %v, want only sub", info)
	}
}
