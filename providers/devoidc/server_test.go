package devoidc

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestDiscovery(t *testing.T) {
	for _, path := range []string{"", "/op", "/tenants/a/"} {
		t.Run("path="+path, func(t *testing.T) {
			o := newTestOP(t, withPath(path))
			resp := o.get(strings.TrimSuffix(o.op.Issuer(), "/") + "/.well-known/openid-configuration")
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			var doc map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
				t.Fatal(err)
			}
			base := strings.TrimSuffix(o.op.Issuer(), "/")
			want := map[string]any{
				"issuer":                 o.op.Issuer(),
				"authorization_endpoint": base + "/authorize",
				"token_endpoint":         base + "/token",
				"userinfo_endpoint":      base + "/userinfo",
				"jwks_uri":               base + "/jwks",
				"revocation_endpoint":    base + "/revoke",
				"introspection_endpoint": base + "/introspect",
				"end_session_endpoint":   base + "/end_session",
				"authorization_response_iss_parameter_supported": true,
				"backchannel_logout_supported":                   true,
				"backchannel_logout_session_supported":           true,
				"request_uri_parameter_supported":                false,
			}
			for k, v := range want {
				if doc[k] != v {
					t.Errorf("%s = %v, want %v", k, doc[k], v)
				}
			}
			lists := map[string]string{
				"response_types_supported":                      "code",
				"subject_types_supported":                       "public",
				"id_token_signing_alg_values_supported":         "RS256",
				"code_challenge_methods_supported":              "S256",
				"token_endpoint_auth_methods_supported":         "client_secret_basic client_secret_post",
				"grant_types_supported":                         "authorization_code refresh_token client_credentials",
				"introspection_endpoint_auth_methods_supported": "client_secret_basic client_secret_post",
				"acr_values_supported":                          ACRPassword + " " + ACRMultiFactor,
			}
			for k, v := range lists {
				var got []string
				for _, x := range doc[k].([]any) {
					got = append(got, x.(string))
				}
				if strings.Join(got, " ") != v {
					t.Errorf("%s = %v, want %s", k, got, v)
				}
			}
			for _, k := range []string{"scopes_supported", "claims_supported"} {
				if l, _ := doc[k].([]any); len(l) == 0 {
					t.Errorf("%s is empty", k)
				}
			}
		})
	}
}

func TestRouting(t *testing.T) {
	o := newTestOP(t, withPath("/op"))
	root := o.srv.URL
	tests := []struct {
		method, url string
		want        int
	}{
		{"GET", root + "/op/jwks", http.StatusOK},
		{"GET", root + "/jwks", http.StatusNotFound},
		{"GET", root + "/.well-known/openid-configuration", http.StatusNotFound},
		{"GET", root + "/op/nope", http.StatusNotFound},
		{"GET", root + "/op/token", http.StatusMethodNotAllowed},
		{"PUT", root + "/op/authorize", http.StatusMethodNotAllowed},
		{"GET", root + "/op/revoke", http.StatusMethodNotAllowed},
		{"DELETE", root + "/op/userinfo", http.StatusMethodNotAllowed},
		{"GET", root + "/op/introspect", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+strings.TrimPrefix(tt.url, root), func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, tt.url, nil)
			resp := o.do(req)
			if resp.StatusCode != tt.want {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.want)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("missing X-Content-Type-Options: nosniff")
			}
		})
	}
}

func TestStats(t *testing.T) {
	o := newTestOP(t)
	m := o.tokens()
	o.refresh(str(m, "refresh_token"))
	o.refresh(str(m, "refresh_token")) // reuse
	o.userinfo("nope")
	o.postForm("/revoke", url.Values{"token": {"nope"}}, testClientID, testSecret)
	o.postForm("/token", url.Values{"grant_type": {"client_credentials"}}, testClientID, testSecret)
	o.postForm("/introspect", url.Values{"token": {"nope"}}, testClientID, testSecret)
	o.postForm("/introspect", url.Values{"token": {"nope"}}, testClientID, "wrong")
	want := Stats{
		AuthorizeRequests:       1,
		TokenRequests:           4,
		CodeExchanges:           1,
		Refreshes:               1,
		RefreshReuses:           1,
		Revocations:             1,
		UserInfoRequests:        1,
		ClientCredentialsGrants: 1,
		IntrospectionRequests:   2,
		GrantsRevoked:           1,
	}
	if got := o.op.Stats(); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
}
