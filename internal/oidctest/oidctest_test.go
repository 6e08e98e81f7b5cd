package oidctest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const testRedirect = "http://127.0.0.1:1/callback/test"

// authorize runs an authorization request and returns the callback query
// and the PKCE verifier it used.
func authorize(t *testing.T, s *Server, nonce string) (url.Values, string) {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {ClientID},
		"redirect_uri":          {testRedirect},
		"scope":                 {"openid email"},
		"state":                 {"st-1"},
		"nonce":                 {nonce},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"},
	}
	c := s.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(s.URL + PathAuthorize + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != testRedirect {
		t.Fatalf("authorize redirected to %q, want %q", got, testRedirect)
	}
	return loc.Query(), verifier
}

// tokenRequest posts form to the token endpoint with client_secret_basic
// (unless basic is false) and returns the status and decoded JSON.
func tokenRequest(t *testing.T, s *Server, form url.Values, basic bool) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+PathToken, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(url.QueryEscape(ClientID), url.QueryEscape(ClientSecret))
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("token endpoint: not JSON: %q", b)
	}
	return resp.StatusCode, body
}

func codeForm(code, verifier string) url.Values {
	return url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {testRedirect},
		"code_verifier": {verifier},
	}
}

// login runs authorize and token requests and returns the token response.
func login(t *testing.T, s *Server, nonce string) map[string]any {
	t.Helper()
	cb, verifier := authorize(t, s, nonce)
	status, body := tokenRequest(t, s, codeForm(cb.Get("code"), verifier), true)
	if status != http.StatusOK {
		t.Fatalf("token endpoint: status %d, body %v", status, body)
	}
	return body
}

// verifier returns go-oidc's verifier for s, pinned to algs.
func verifier(t *testing.T, s *Server, algs ...string) *oidc.IDTokenVerifier {
	t.Helper()
	ctx := oidc.ClientContext(context.Background(), s.Client())
	p, err := oidc.NewProvider(ctx, s.URL)
	if err != nil {
		t.Fatalf("go-oidc refuses the discovery document: %v", err)
	}
	return p.VerifierContext(ctx, &oidc.Config{ClientID: ClientID, SupportedSigningAlgs: algs})
}

func TestDiscoveryAcceptedByGoOIDC(t *testing.T) {
	for _, opts := range [][]Option{nil, {WithTLS()}, {WithECKey(), WithIssParameter(false)}} {
		s := New(t, opts...)
		ctx := oidc.ClientContext(context.Background(), s.Client())
		p, err := oidc.NewProvider(ctx, s.URL)
		if err != nil {
			t.Fatalf("NewProvider: %v", err)
		}
		ep := p.Endpoint()
		if ep.AuthURL != s.URL+PathAuthorize || ep.TokenURL != s.URL+PathToken || p.UserInfoEndpoint() != s.URL+PathUserInfo {
			t.Errorf("endpoints %+v, userinfo %q", ep, p.UserInfoEndpoint())
		}
		var meta struct {
			IssParam bool     `json:"authorization_response_iss_parameter_supported"`
			Algs     []string `json:"id_token_signing_alg_values_supported"`
		}
		if err := p.Claims(&meta); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: iss parameter %v, algs %v", s.URL, meta.IssParam, meta.Algs)
	}
}

func TestDefaultIDTokenVerifies(t *testing.T) {
	s := New(t)
	body := login(t, s, "nonce-1")
	if body["token_type"] != "Bearer" || body["access_token"] == "" || body["refresh_token"] == "" {
		t.Fatalf("token response %v", body)
	}
	idt, err := verifier(t, s, "RS256").Verify(context.Background(), body["id_token"].(string))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if idt.Subject != Subject || idt.Nonce != "nonce-1" || idt.Issuer != s.URL {
		t.Errorf("claims: sub %q nonce %q iss %q", idt.Subject, idt.Nonce, idt.Issuer)
	}
	if err := idt.VerifyAccessToken(body["access_token"].(string)); err != nil {
		t.Errorf("at_hash: %v", err)
	}
}

// TestSigningChoices checks every Signing against go-oidc pinned to RS256:
// only the honest ones verify.
func TestSigningChoices(t *testing.T) {
	s := New(t, WithECKey())
	v := verifier(t, s, "RS256")
	cases := []struct {
		name string
		h    Header
		ok   bool
	}{
		{"RS256", Header{}, true},
		{"kid absent", Header{Extra: map[string]any{"kid": nil}}, true},
		{"unpublished key", Header{Sign: SignRS256Unpublished}, false},
		{"ES256 not pinned", Header{Sign: SignES256}, false},
		{"HS256 confusion", Header{Sign: SignHS256Confusion}, false},
		{"none", Header{Sign: SignNone}, false},
		{"None", Header{Sign: SignNone, Alg: "None"}, false},
		{"NONE", Header{Sign: SignNone, Alg: "NONE"}, false},
		{"corrupted", Header{Sign: SignCorrupted}, false},
		{"embedded jwk", Header{Sign: SignEmbeddedJWK}, false},
		{"jku", Header{Sign: SignJKU}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s.IDToken = func(c Claims, _ Header) (Claims, Header) { return c, tc.h }
			raw := login(t, s, "n")["id_token"].(string)
			_, err := v.Verify(context.Background(), raw)
			if tc.ok && err != nil {
				t.Errorf("Verify: %v", err)
			}
			if !tc.ok && err == nil {
				t.Errorf("Verify accepted %s", raw)
			}
		})
	}
	if n := len(s.Requests(PathAttackerJWKS)); n != 0 {
		t.Errorf("attacker key set fetched %d times", n)
	}
	// The EC key is real: go-oidc pinned to ES256 accepts it.
	s.IDToken = func(c Claims, _ Header) (Claims, Header) { return c, Header{Sign: SignES256} }
	if _, err := verifier(t, s, "ES256").Verify(context.Background(), login(t, s, "n")["id_token"].(string)); err != nil {
		t.Errorf("ES256 pinned: %v", err)
	}
}

func TestRotate(t *testing.T) {
	s := New(t)
	v := verifier(t, s, "RS256")
	old := login(t, s, "n")["id_token"].(string)
	s.Rotate(false)
	if _, err := v.Verify(context.Background(), login(t, s, "n")["id_token"].(string)); err != nil {
		t.Errorf("token of the rotated key: %v", err)
	}
	if _, err := v.Verify(context.Background(), old); err == nil {
		t.Error("token of the unpublished old key accepted")
	}
}

// TestServersHaveOwnKeys: an attacker's server signs with its own "k1",
// which the honest server's key set does not verify.
func TestServersHaveOwnKeys(t *testing.T) {
	honest, attacker := New(t), New(t)
	now := time.Now()
	tok := attacker.Sign(Claims{"iss": honest.URL, "sub": "x", "aud": ClientID, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}, Header{})
	if _, err := verifier(t, honest, "RS256").Verify(context.Background(), tok); err == nil {
		t.Error("honest provider's key set verifies the attacker's token")
	}
}

func TestTokenEndpointChecks(t *testing.T) {
	s := New(t)
	cb, good := authorize(t, s, "n")
	code := cb.Get("code")
	if cb.Get("state") != "st-1" || cb.Get("iss") != s.URL || code == "" {
		t.Fatalf("callback query %v", cb)
	}
	// A wrong verifier consumes the code: it is one-time, like a real OP
	// that revokes a code on a failed redemption.
	if status, body := tokenRequest(t, s, codeForm(code, oauth2.GenerateVerifier()), true); status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("wrong verifier: %d %v", status, body)
	}
	if status, body := tokenRequest(t, s, codeForm(code, good), true); status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("code reused after a failure: %d %v", status, body)
	}

	cb, good = authorize(t, s, "n")
	if status, _ := tokenRequest(t, s, codeForm(cb.Get("code"), good), true); status != 200 {
		t.Fatalf("honest redemption: %d", status)
	}
	if status, body := tokenRequest(t, s, codeForm(cb.Get("code"), good), true); status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("reused code: %d %v", status, body)
	}

	cases := map[string]func(f url.Values) bool{ // returns basic auth or not
		"no verifier":      func(f url.Values) bool { f.Del("code_verifier"); return true },
		"other redirect":   func(f url.Values) bool { f.Set("redirect_uri", testRedirect+"/"); return true },
		"no client auth":   func(f url.Values) bool { return false },
		"secret in body":   func(f url.Values) bool { f.Set("client_secret", ClientSecret); return true },
		"wrong grant_type": func(f url.Values) bool { f.Set("grant_type", "password"); return true },
		"repeated code":    func(f url.Values) bool { f.Add("code", "x"); return true },
		"verifier is plain": func(f url.Values) bool {
			f.Set("code_verifier", oauth2.S256ChallengeFromVerifier(f.Get("code_verifier")))
			return true
		},
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			cb, v := authorize(t, s, "n")
			f := codeForm(cb.Get("code"), v)
			if status, body := tokenRequest(t, s, f, edit(f)); status < 400 || body["error"] == nil {
				t.Errorf("accepted: %d %v", status, body)
			}
		})
	}
}

func TestRequestLogAndHooks(t *testing.T) {
	s := New(t)
	s.Authorize = func(q url.Values) url.Values {
		q.Del("iss")
		q.Set("error", "access_denied")
		return q
	}
	cb, _ := authorize(t, s, "n")
	if cb.Has("iss") || cb.Get("error") != "access_denied" {
		t.Errorf("Authorize hook not applied: %v", cb)
	}
	s.Authorize = nil
	if n := len(s.Requests(PathToken)); n != 0 {
		t.Errorf("token requests before any: %d", n)
	}
	body := login(t, s, "n")
	reqs := s.Requests(PathAuthorize)
	if len(reqs) != 2 || reqs[1].Form.Get("nonce") != "n" {
		t.Fatalf("authorize log: %d requests", len(reqs))
	}
	tok := s.Requests(PathToken)
	if len(tok) != 1 || tok[0].PostForm.Get("code_verifier") == "" || tok[0].Method != http.MethodPost {
		t.Fatalf("token log: %+v", tok)
	}
	if b, _ := io.ReadAll(tok[0].Body); !strings.Contains(string(b), "code_verifier=") {
		t.Errorf("recorded body %q", b)
	}
	secrets := strings.Join(s.Secrets(), " ")
	for _, k := range []string{"access_token", "refresh_token", "id_token"} {
		if !strings.Contains(secrets, body[k].(string)) {
			t.Errorf("Secrets lacks the %s", k)
		}
	}

	s.TokenResponse = func(w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, "<html>down</html>", http.StatusInternalServerError)
		return true
	}
	resp, err := http.Post(s.URL+PathToken, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 || len(s.Requests(PathToken)) != 2 {
		t.Errorf("TokenResponse hook: status %d, %d requests", resp.StatusCode, len(s.Requests(PathToken)))
	}
}

func TestUserInfoBearerOnly(t *testing.T) {
	s := New(t)
	at := login(t, s, "n")["access_token"].(string)
	get := func(auth string) int {
		req, _ := http.NewRequest(http.MethodGet, s.URL+PathUserInfo, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get("Bearer " + at); got != 200 {
		t.Errorf("issued token: %d", got)
	}
	for _, auth := range []string{"", "Bearer nope", "Basic " + at} {
		if got := get(auth); got != 401 {
			t.Errorf("Authorization %q: %d, want 401", auth, got)
		}
	}
	s.UserInfo = func(c Claims) Claims { c["sub"] = "someone-else"; return c }
	ctx := oidc.ClientContext(context.Background(), s.Client())
	p, err := oidc.NewProvider(ctx, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	ui, err := p.UserInfo(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: at, TokenType: "Bearer"}))
	if err != nil || ui.Subject != "someone-else" {
		t.Errorf("UserInfo hook: %v %v", ui, err)
	}
}

func TestRefreshRotates(t *testing.T) {
	s := New(t)
	rt := login(t, s, "n")["refresh_token"].(string)
	f := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	status, body := tokenRequest(t, s, f, true)
	if status != 200 || body["refresh_token"] == rt {
		t.Fatalf("refresh: %d %v", status, body)
	}
	if _, err := verifier(t, s, "RS256").Verify(context.Background(), body["id_token"].(string)); err != nil {
		t.Errorf("refreshed ID token: %v", err)
	}
	if status, _ := tokenRequest(t, s, f, true); status != 400 {
		t.Errorf("refresh token reused: %d", status)
	}
}

func TestIntrospection(t *testing.T) {
	s := New(t)
	at := login(t, s, "n")["access_token"].(string)
	issued := s.IssueAccessToken("api:read", time.Hour)
	gone := s.IssueAccessToken("api:read", -time.Second)
	post := func(form url.Values, basic bool) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, s.URL+PathIntrospect, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basic {
			req.SetBasicAuth(ClientID, ClientSecret)
		}
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	tests := []struct {
		name   string
		form   url.Values
		basic  bool
		status int
		active bool
	}{
		{"token from the token endpoint", url.Values{"token": {at}}, true, 200, true},
		{"IssueAccessToken, with hint", url.Values{"token": {issued}, "token_type_hint": {"access_token"}}, true, 200, true},
		{"expired", url.Values{"token": {gone}}, true, 200, false},
		{"unknown", url.Values{"token": {"nope"}}, true, 200, false},
		{"no client authentication", url.Values{"token": {at}}, false, 401, false},
		{"secret in the body", url.Values{"token": {at}, "client_secret": {ClientSecret}}, true, 401, false},
		{"no token", url.Values{}, true, 400, false},
		{"repeated token", url.Values{"token": {at, at}}, true, 400, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(tt.form, tt.basic)
			if status != tt.status || (status == 200 && body["active"] != tt.active) {
				t.Fatalf("status %d, body %v; want %d, active %v", status, body, tt.status, tt.active)
			}
			if tt.active && (body["sub"] != Subject || body["client_id"] != ClientID || body["iss"] != s.URL) {
				t.Errorf("active answer %v", body)
			}
		})
	}
	s.Introspection = func(token string, c Claims) Claims {
		if token == "chosen" {
			return Claims{"active": true, "aud": "api"}
		}
		return c
	}
	if _, body := post(url.Values{"token": {"chosen"}}, true); body["active"] != true || body["aud"] != "api" {
		t.Errorf("Introspection hook: %v", body)
	}
	s.IntrospectionResponse = func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	}
	if status, _ := post(url.Values{"token": {at}}, true); status != 503 {
		t.Errorf("IntrospectionResponse hook: %d", status)
	}
	if n := len(s.Requests(PathIntrospect)); n != len(tests)+2 {
		t.Errorf("%d introspection requests recorded, want %d", n, len(tests)+2)
	}
	if !strings.Contains(strings.Join(s.Secrets(), " "), issued) {
		t.Error("Secrets lacks the IssueAccessToken token")
	}
	doc := map[string]any{}
	resp, err := http.Get(s.URL + PathDiscovery)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if doc["introspection_endpoint"] != s.URL+PathIntrospect {
		t.Errorf("discovery introspection_endpoint %v", doc["introspection_endpoint"])
	}
}
