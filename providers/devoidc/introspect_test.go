package devoidc

import (
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"
)

// introspect asks the introspection endpoint about token as the test
// client and returns the decoded answer.
func (o *testOP) introspect(token string) map[string]any {
	o.t.Helper()
	resp, m := o.postForm("/introspect", url.Values{"token": {token}}, testClientID, testSecret)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
		o.t.Fatalf("introspect: status %d, Cache-Control %q: %v", resp.StatusCode, resp.Header.Get("Cache-Control"), m)
	}
	return m
}

// active reports whether the introspection endpoint calls token active.
func (o *testOP) active(token string) bool {
	o.t.Helper()
	return o.introspect(token)["active"] == true
}

var inactive = map[string]any{"active": false}

func TestIntrospect(t *testing.T) {
	for _, jwt := range []bool{false, true} {
		name, aud := "opaque", any(nil)
		opts := []func(*setup){withClock}
		if jwt {
			name, aud = "JWT", testAudience
			opts = append(opts, withAudience)
		}
		t.Run(name, func(t *testing.T) {
			o := newTestOP(t, opts...)
			now := float64(o.clock.Now().Unix())
			m := o.tokens()
			want := map[string]any{
				"active": true, "sub": "ada", "client_id": testClientID, "scope": testScope,
				"exp": now + 300, "iat": now, "iss": o.op.Issuer(), "token_type": "Bearer",
			}
			if aud != nil {
				want["aud"] = aud
			}
			if got := o.introspect(str(m, "access_token")); !reflect.DeepEqual(got, want) {
				t.Errorf("access token:\n got %v\nwant %v", got, want)
			}
			_, cc := o.postForm("/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}, otherClientID, otherSecret)
			want = map[string]any{
				"active": true, "sub": otherClientID, "client_id": otherClientID, "scope": "read",
				"exp": now + 300, "iat": now, "iss": o.op.Issuer(), "token_type": "Bearer",
			}
			if aud != nil {
				want["aud"] = aud
			}
			if got := o.introspect(str(cc, "access_token")); !reflect.DeepEqual(got, want) {
				t.Errorf("client_credentials token of another client:\n got %v\nwant %v", got, want)
			}

			revoked := o.tokens()
			o.postForm("/revoke", url.Values{"token": {str(revoked, "access_token")}}, testClientID, testSecret)
			grantRevoked := o.tokens()
			o.postForm("/revoke", url.Values{"token": {str(grantRevoked, "refresh_token")}}, testClientID, testSecret)
			for name, token := range map[string]string{
				"revoked access token":            str(revoked, "access_token"),
				"access token of a revoked grant": str(grantRevoked, "access_token"),
				"refresh token":                   str(m, "refresh_token"),
				"ID token":                        str(m, "id_token"),
				"unknown":                         randomToken(),
				"garbage":                         "not a token",
				"JWT-shaped garbage":              "a.b.c",
			} {
				if got := o.introspect(token); !reflect.DeepEqual(got, inactive) {
					t.Errorf("%s: %v, want only active false", name, got)
				}
			}
			o.clock.Advance(5 * time.Minute)
			if got := o.introspect(str(m, "access_token")); !reflect.DeepEqual(got, inactive) {
				t.Errorf("expired access token: %v, want only active false", got)
			}
		})
	}
}

func TestIntrospectRequestErrors(t *testing.T) {
	o := newTestOP(t)
	at := str(o.tokens(), "access_token")
	tests := []struct {
		name       string
		form       url.Values
		id, sec    string
		wantStatus int
		wantCode   string
	}{
		{"wrong secret", url.Values{"token": {at}}, testClientID, "wrong", http.StatusUnauthorized, "invalid_client"},
		{"no authentication", url.Values{"token": {at}}, "", "", http.StatusUnauthorized, "invalid_client"},
		{"missing token", url.Values{}, testClientID, testSecret, http.StatusBadRequest, "invalid_request"},
		{"repeated token", url.Values{"token": {at, at}}, testClientID, testSecret, http.StatusBadRequest, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, m := o.postForm("/introspect", tt.form, tt.id, tt.sec)
			wantOAuthError(t, resp, m, tt.wantStatus, tt.wantCode)
			if _, ok := m["active"]; ok {
				t.Error("a refused request answered about the token")
			}
		})
	}
	t.Run("client_secret_post and token_type_hint", func(t *testing.T) {
		resp, m := o.postForm("/introspect", url.Values{
			"token": {at}, "token_type_hint": {"refresh_token"}, "client_id": {otherClientID}, "client_secret": {otherSecret},
		}, "", "")
		if resp.StatusCode != http.StatusOK || m["active"] != true {
			t.Errorf("status %d: %v, want the token active", resp.StatusCode, m)
		}
	})
	if st := o.op.Stats(); st.IntrospectionRequests != len(tests)+1 {
		t.Errorf("IntrospectionRequests = %d, want %d", st.IntrospectionRequests, len(tests)+1)
	}
}
