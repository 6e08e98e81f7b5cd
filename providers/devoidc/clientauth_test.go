package devoidc

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestClientAuthentication(t *testing.T) {
	o := newTestOP(t)
	tests := []struct {
		name       string
		auth       func(*http.Request, url.Values)
		wantStatus int
		wantErr    string
		wantBasic  bool // WWW-Authenticate: Basic
	}{
		{"basic", func(r *http.Request, f url.Values) { r.SetBasicAuth(testClientID, testSecret) }, 200, "", false},
		{"post", func(r *http.Request, f url.Values) {
			f.Set("client_id", testClientID)
			f.Set("client_secret", testSecret)
		}, 200, "", false},
		{"basic special characters, form-urlencoded", func(r *http.Request, f url.Values) {
			r.SetBasicAuth(url.QueryEscape(specialClientID), url.QueryEscape(specialSecret))
		}, 200, "", false},
		{"post special characters", func(r *http.Request, f url.Values) {
			f.Set("client_id", specialClientID)
			f.Set("client_secret", specialSecret)
		}, 200, "", false},
		{"basic special characters, not encoded", func(r *http.Request, f url.Values) { r.SetBasicAuth(specialClientID, specialSecret) }, 401, "invalid_client", true},
		{"basic wrong secret", func(r *http.Request, f url.Values) { r.SetBasicAuth(testClientID, "wrong") }, 401, "invalid_client", true},
		{"basic other client's secret", func(r *http.Request, f url.Values) { r.SetBasicAuth(testClientID, otherSecret) }, 401, "invalid_client", true},
		{"basic unknown client", func(r *http.Request, f url.Values) { r.SetBasicAuth("nope", testSecret) }, 401, "invalid_client", true},
		{"basic empty secret", func(r *http.Request, f url.Values) { r.SetBasicAuth(testClientID, "") }, 401, "invalid_client", true},
		{"malformed Authorization", func(r *http.Request, f url.Values) { r.Header.Set("Authorization", "Basic !!!") }, 401, "invalid_client", true},
		{"post wrong secret", func(r *http.Request, f url.Values) { f.Set("client_id", testClientID); f.Set("client_secret", "wrong") }, 401, "invalid_client", false},
		{"post unknown client", func(r *http.Request, f url.Values) { f.Set("client_id", "nope"); f.Set("client_secret", "x") }, 401, "invalid_client", false},
		{"post without secret", func(r *http.Request, f url.Values) { f.Set("client_id", testClientID) }, 401, "invalid_client", false},
		{"no authentication", func(r *http.Request, f url.Values) {}, 401, "invalid_client", false},
		{"both methods", func(r *http.Request, f url.Values) {
			r.SetBasicAuth(testClientID, testSecret)
			f.Set("client_secret", testSecret)
		}, 400, "invalid_request", false},
		{"basic with other client_id in body", func(r *http.Request, f url.Values) {
			r.SetBasicAuth(testClientID, testSecret)
			f.Set("client_id", otherClientID)
		}, 401, "invalid_client", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			verifier, _ := pkce()
			clientID := testClientID
			if strings.Contains(tt.name, "special") {
				clientID = specialClientID
			}
			form := url.Values{
				"grant_type":    {"authorization_code"},
				"code":          {o.codeFor(clientID, verifier)},
				"code_verifier": {verifier},
				"redirect_uri":  {testRedirect},
			}
			req, _ := http.NewRequest(http.MethodPost, o.url("/token"), nil)
			tt.auth(req, form)
			body := form.Encode()
			req.Body = io.NopCloser(strings.NewReader(body))
			req.ContentLength = int64(len(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp := o.do(req)
			var m map[string]any
			decodeJSON(t, resp, &m)
			if resp.StatusCode != tt.wantStatus || (tt.wantErr != "" && m["error"] != tt.wantErr) {
				t.Fatalf("got %d %v, want %d %s", resp.StatusCode, m, tt.wantStatus, tt.wantErr)
			}
			if got := strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic"); got != tt.wantBasic {
				t.Errorf("WWW-Authenticate = %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}
