package devoidc

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCodeExchange(t *testing.T) {
	o := newTestOP(t, withClock)
	code, verifier := o.code(nil)
	resp, m := o.exchange(code, verifier)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %v", resp.StatusCode, m)
	}
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("headers = %v", resp.Header)
	}
	if str(m, "token_type") != "Bearer" || m["expires_in"] != float64(300) || str(m, "scope") != testScope {
		t.Errorf("response = %v", m)
	}
	at, rt := str(m, "access_token"), str(m, "refresh_token")
	if len(at) != 43 || len(rt) != 43 || at == rt {
		t.Errorf("access token %q, refresh token %q: want two distinct random tokens", at, rt)
	}

	var c idTokenClaims
	if err := o.op.keys.verify(str(m, "id_token"), &c); err != nil {
		t.Fatal(err)
	}
	now := o.clock.Now().Unix()
	sum := sha256.Sum256([]byte(at))
	want := idTokenClaims{
		Issuer: o.op.Issuer(), Subject: "ada", Audience: testClientID,
		IssuedAt: now, Expiry: now + 300, AuthTime: now, ACR: ACRPassword, AMR: []string{"pwd"}, Nonce: testNonce,
		AtHash: base64.RawURLEncoding.EncodeToString(sum[:16]), SID: c.SID,
	}
	if c.SID == "" {
		t.Error("no sid")
	}
	got := c
	got.userClaims = userClaims{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("claims = %+v\nwant     %+v", got, want)
	}
	if c.Name != "Ada Lovelace" || c.Email != "ada@example.com" || c.EmailVerified == nil || !*c.EmailVerified ||
		c.PreferredUsername != "ada" || len(c.Groups) != 2 {
		t.Errorf("profile claims = %+v", c.userClaims)
	}
	if h := jwtHeaderOf(t, str(m, "id_token")); h.Typ != "JWT" || h.Kid == "" {
		t.Errorf("header = %+v", h)
	}
}

// TestPKCE covers RFC 7636 from both ends: the authorization request must
// carry an S256 challenge, and the token request the matching verifier.
func TestPKCE(t *testing.T) {
	o := newTestOP(t)
	_, challenge := pkce()
	for name, tt := range map[string]struct {
		overrides map[string]string
		want      string
	}{
		"missing challenge": {map[string]string{"code_challenge": ""}, "invalid_request"},
		"plain method":      {map[string]string{"code_challenge_method": "plain"}, "invalid_request"},
	} {
		t.Run(name, func(t *testing.T) {
			q := redirectParams(t, o.authorize(authorizeQuery(challenge, tt.overrides)), testRedirect)
			if q.Get("error") != tt.want || q.Has("code") {
				t.Errorf("redirect params = %v, want error=%s", q, tt.want)
			}
		})
	}

	other, _ := pkce()
	tests := []struct {
		name     string
		verifier func(good string) string
		want     string
	}{
		{"wrong verifier", func(string) string { return other }, "invalid_grant"},
		{"challenge as verifier", func(string) string { return challenge }, "invalid_grant"},
		{"missing verifier", func(string) string { return "" }, "invalid_request"},
		{"short verifier", func(string) string { return "abc" }, "invalid_request"},
		{"long verifier", func(string) string { return strings.Repeat("a", 129) }, "invalid_request"},
		{"bad characters", func(g string) string { return g[:42] + "+" }, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, good := o.code(nil)
			resp, m := o.exchange(code, tt.verifier(good))
			wantOAuthError(t, resp, m, http.StatusBadRequest, tt.want)
			// A malformed request leaves the code alone; a wrong verifier
			// spends it.
			resp, m = o.exchange(code, good)
			if tt.want == "invalid_request" && resp.StatusCode != http.StatusOK {
				t.Errorf("after %s, the good verifier failed: %d %v", tt.name, resp.StatusCode, m)
			}
			if tt.want == "invalid_grant" {
				wantOAuthError(t, resp, m, http.StatusBadRequest, "invalid_grant")
			}
		})
	}
}

// TestCodeReplay checks RFC 6749 §4.1.2: a second use of a code fails and
// revokes the tokens issued from the first.
func TestCodeReplay(t *testing.T) {
	o := newTestOP(t)
	code, verifier := o.code(nil)
	resp, first := o.exchange(code, verifier)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("first exchange: %d %v", resp.StatusCode, first)
	}
	if resp, _ := o.userinfo(str(first, "access_token")); resp.StatusCode != http.StatusOK {
		t.Fatalf("userinfo before replay: %d", resp.StatusCode)
	}
	resp, m := o.exchange(code, verifier)
	wantOAuthError(t, resp, m, http.StatusBadRequest, "invalid_grant")
	if resp, _ := o.userinfo(str(first, "access_token")); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("userinfo with the first access token after replay: %d, want 401", resp.StatusCode)
	}
	resp, m = o.refresh(str(first, "refresh_token"))
	wantOAuthError(t, resp, m, http.StatusBadRequest, "invalid_grant")
	if st := o.op.Stats(); st.CodeExchanges != 1 || st.GrantsRevoked != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestCodeBinding(t *testing.T) {
	o := newTestOP(t, withClock)
	tests := []struct {
		name string
		form func(code, verifier string) url.Values
		id   string
		sec  string
		pre  func()
	}{
		{"other client", nil, otherClientID, otherSecret, nil},
		{"other redirect_uri", func(c, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "code_verifier": {v}, "redirect_uri": {otherRedirect}}
		}, "", "", nil},
		{"expired", nil, "", "", func() { o.clock.Advance(61 * time.Second) }},
		{"unknown code", func(c, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {randomToken()}, "code_verifier": {v}, "redirect_uri": {testRedirect}}
		}, "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, verifier := o.code(nil)
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}, "redirect_uri": {testRedirect}}
			if tt.form != nil {
				form = tt.form(code, verifier)
			}
			id, sec := testClientID, testSecret
			if tt.id != "" {
				id, sec = tt.id, tt.sec
			}
			if tt.pre != nil {
				tt.pre()
			}
			resp, m := o.postForm("/token", form, id, sec)
			wantOAuthError(t, resp, m, http.StatusBadRequest, "invalid_grant")
		})
	}
}

func TestTokenRequestErrors(t *testing.T) {
	o := newTestOP(t)
	tests := []struct {
		name string
		form url.Values
		want string
	}{
		{"missing grant_type", url.Values{}, "invalid_request"},
		{"unsupported grant_type", url.Values{"grant_type": {"password"}}, "unsupported_grant_type"},
		{"device_code", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}}, "unsupported_grant_type"},
		{"repeated parameter", url.Values{"grant_type": {"refresh_token", "refresh_token"}}, "invalid_request"},
		{"missing code", url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {testRedirect}, "code_verifier": {randomToken()}}, "invalid_request"},
		{"missing redirect_uri", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "code_verifier": {randomToken()}}, "invalid_request"},
		{"missing refresh_token", url.Values{"grant_type": {"refresh_token"}}, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, m := o.postForm("/token", tt.form, testClientID, testSecret)
			wantOAuthError(t, resp, m, http.StatusBadRequest, tt.want)
		})
	}
	t.Run("parameters in the query are ignored", func(t *testing.T) {
		code, verifier := o.code(nil)
		q := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}, "redirect_uri": {testRedirect}}
		req, _ := http.NewRequest(http.MethodPost, o.url("/token")+"?"+q.Encode(), nil)
		req.SetBasicAuth(testClientID, testSecret)
		resp := o.do(req)
		var m map[string]any
		decodeJSON(t, resp, &m)
		wantOAuthError(t, resp, m, http.StatusBadRequest, "invalid_request")
	})
}
