package devoidc

import (
	"net/http"
	"net/url"
	"testing"
)

func TestRevoke(t *testing.T) {
	o := newTestOP(t)
	tests := []struct {
		name            string
		token           func(m map[string]any) string
		hint            string
		id, secret      string
		wantStatus      int
		wantAccessAlive bool
		wantGrantAlive  bool
	}{
		{"refresh token", func(m map[string]any) string { return str(m, "refresh_token") }, "refresh_token", testClientID, testSecret, 200, false, false},
		{"refresh token, no hint", func(m map[string]any) string { return str(m, "refresh_token") }, "", testClientID, testSecret, 200, false, false},
		{"refresh token, wrong hint", func(m map[string]any) string { return str(m, "refresh_token") }, "access_token", testClientID, testSecret, 200, false, false},
		{"access token", func(m map[string]any) string { return str(m, "access_token") }, "access_token", testClientID, testSecret, 200, false, true},
		{"unknown token", func(map[string]any) string { return randomToken() }, "", testClientID, testSecret, 200, true, true},
		{"another client's token", func(m map[string]any) string { return str(m, "refresh_token") }, "", otherClientID, otherSecret, 200, true, true},
		{"wrong secret", func(m map[string]any) string { return str(m, "refresh_token") }, "", testClientID, "wrong", 401, true, true},
		{"missing token", func(map[string]any) string { return "" }, "", testClientID, testSecret, 400, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := o.tokens()
			form := url.Values{}
			if tok := tt.token(m); tok != "" {
				form.Set("token", tok)
			}
			if tt.hint != "" {
				form.Set("token_type_hint", tt.hint)
			}
			resp, body := o.postForm("/revoke", form, tt.id, tt.secret)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d %v, want %d", resp.StatusCode, body, tt.wantStatus)
			}
			if tt.wantStatus == 200 && body != nil {
				t.Errorf("body = %v, want empty", body)
			}
			if resp, _ := o.userinfo(str(m, "access_token")); (resp.StatusCode == http.StatusOK) != tt.wantAccessAlive {
				t.Errorf("access token: userinfo %d, want alive=%v", resp.StatusCode, tt.wantAccessAlive)
			}
			if resp, _ := o.refresh(str(m, "refresh_token")); (resp.StatusCode == http.StatusOK) != tt.wantGrantAlive {
				t.Errorf("refresh: %d, want alive=%v", resp.StatusCode, tt.wantGrantAlive)
			}
		})
	}
	if st := o.op.Stats(); st.Revocations != 6 {
		t.Errorf("Revocations = %d, want 6 (authenticated, well-formed requests)", st.Revocations)
	}
}
