package devoidc

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestClientCredentials(t *testing.T) {
	tests := []struct {
		name      string
		jwt       bool
		form      url.Values
		id, sec   string
		post      bool // client_secret_post instead of Basic
		wantScope string
	}{
		{"opaque, no scope", false, url.Values{}, testClientID, testSecret, false, ""},
		{"opaque, scope", false, url.Values{"scope": {"read write read"}}, testClientID, testSecret, false, "read write"},
		{"JWT, scope", true, url.Values{"scope": {"read:things"}}, testClientID, testSecret, false, "read:things"},
		{"client_secret_post", true, url.Values{}, testClientID, testSecret, true, ""},
		{"special characters in the credentials", false, url.Values{}, specialClientID, specialSecret, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := []func(*setup){withClock}
			if tt.jwt {
				opts = append(opts, withAudience)
			}
			o := newTestOP(t, opts...)
			form := url.Values{"grant_type": {"client_credentials"}}
			for k, v := range tt.form {
				form[k] = v
			}
			id := tt.id
			if tt.post {
				form.Set("client_id", tt.id)
				form.Set("client_secret", tt.sec)
				id = ""
			}
			resp, m := o.postForm("/token", form, id, tt.sec)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("status %d, Cache-Control %q: %v", resp.StatusCode, resp.Header.Get("Cache-Control"), m)
			}
			if str(m, "token_type") != "Bearer" || m["expires_in"] != float64(300) || str(m, "scope") != tt.wantScope {
				t.Errorf("response = %v", m)
			}
			for _, k := range []string{"refresh_token", "id_token"} {
				if _, ok := m[k]; ok {
					t.Errorf("response has %s", k)
				}
			}
			at := str(m, "access_token")
			if tt.jwt {
				c := o.accessClaims(at)
				now := o.clock.Now().Unix()
				if c.Subject != tt.id || c.ClientID != tt.id || c.Audience != testAudience || c.Scope != tt.wantScope ||
					c.IssuedAt != now || c.Expiry != now+300 || c.AuthTime != 0 || c.ACR != "" || c.AMR != nil {
					t.Errorf("claims = %+v", c)
				}
			} else if len(at) != 43 {
				t.Errorf("access token %q, want 43 opaque characters", at)
			}
			if resp, _ := o.userinfo(at); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("userinfo with a token that names no user: %d, want 401", resp.StatusCode)
			}
			if st := o.op.Stats(); st.ClientCredentialsGrants != 1 || st.TokenRequests != 1 || st.CodeExchanges != 0 {
				t.Errorf("Stats = %+v", st)
			}
		})
	}
}

func TestClientCredentialsErrors(t *testing.T) {
	o := newTestOP(t)
	cc := func(extra ...string) url.Values {
		f := url.Values{"grant_type": {"client_credentials"}}
		for i := 0; i+1 < len(extra); i += 2 {
			f.Set(extra[i], extra[i+1])
		}
		return f
	}
	tests := []struct {
		name       string
		form       url.Values
		id, sec    string
		wantStatus int
		wantCode   string
	}{
		{"wrong secret", cc(), testClientID, "wrong", http.StatusUnauthorized, "invalid_client"},
		{"unknown client", cc(), "nobody", testSecret, http.StatusUnauthorized, "invalid_client"},
		{"no authentication", cc(), "", "", http.StatusUnauthorized, "invalid_client"},
		{"empty scope", cc("scope", ""), testClientID, testSecret, http.StatusBadRequest, "invalid_request"},
		{"only spaces", cc("scope", "   "), testClientID, testSecret, http.StatusBadRequest, "invalid_request"},
		{"quote in scope", cc("scope", `read "x"`), testClientID, testSecret, http.StatusBadRequest, "invalid_scope"},
		{"backslash in scope", cc("scope", `a\b`), testClientID, testSecret, http.StatusBadRequest, "invalid_scope"},
		{"tab in scope", cc("scope", "a\tb"), testClientID, testSecret, http.StatusBadRequest, "invalid_scope"},
		{"non-ASCII scope", cc("scope", "lecture:écrits"), testClientID, testSecret, http.StatusBadRequest, "invalid_scope"},
		{"long scope", cc("scope", strings.Repeat("s ", maxClientScope)), testClientID, testSecret, http.StatusBadRequest, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, m := o.postForm("/token", tt.form, tt.id, tt.sec)
			wantOAuthError(t, resp, m, tt.wantStatus, tt.wantCode)
		})
	}
	if st := o.op.Stats(); st.ClientCredentialsGrants != 0 {
		t.Errorf("ClientCredentialsGrants = %d after refusals only", st.ClientCredentialsGrants)
	}
}

func TestClientCredentialsRevoke(t *testing.T) {
	for _, jwt := range []bool{false, true} {
		t.Run(map[bool]string{false: "opaque", true: "JWT"}[jwt], func(t *testing.T) {
			opts := []func(*setup){}
			if jwt {
				opts = append(opts, withAudience)
			}
			o := newTestOP(t, opts...)
			_, m := o.postForm("/token", url.Values{"grant_type": {"client_credentials"}}, testClientID, testSecret)
			at := str(m, "access_token")
			// Another client cannot revoke it; its own client can.
			o.postForm("/revoke", url.Values{"token": {at}}, otherClientID, otherSecret)
			if !o.active(at) {
				t.Fatal("another client revoked the token")
			}
			o.postForm("/revoke", url.Values{"token": {at}}, testClientID, testSecret)
			if o.active(at) {
				t.Error("the token is still active after revocation")
			}
		})
	}
}
