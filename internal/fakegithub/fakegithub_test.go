package fakegithub

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// code runs the authorization request and returns the code.
func code(t *testing.T, s *Server, extra url.Values) string {
	t.Helper()
	q := url.Values{"client_id": {ClientID}, "redirect_uri": {"https://app.example/cb"}, "state": {"st"}, "scope": {"read:user user:email read:org"}}
	for k, v := range extra {
		q[k] = v
	}
	c := *s.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(s.URL + PathAuthorize + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("state") != "st" {
		t.Fatalf("authorize: %d %s", resp.StatusCode, loc)
	}
	return loc.Query().Get("code")
}

func post(t *testing.T, s *Server, form url.Values, accept string) (string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+PathToken, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token endpoint answered %d; GitHub answers 200 even for errors", resp.StatusCode)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.Header.Get("Content-Type"), string(b)
}

func TestTokenEndpointShapes(t *testing.T) {
	s := New(Config{RedirectURIs: []string{"https://app.example/cb"}})
	defer s.Close()
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	pkce := url.Values{"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	creds := func(code string, more ...string) url.Values {
		f := url.Values{"client_id": {ClientID}, "client_secret": {ClientSecret}, "code": {code}, "redirect_uri": {"https://app.example/cb"}}
		for i := 0; i+1 < len(more); i += 2 {
			f.Set(more[i], more[i+1])
		}
		return f
	}
	for _, tc := range []struct {
		name, accept string
		form         func() url.Values
		wantType     string
		want         string
	}{
		{"form-encoded by default", "", func() url.Values { return creds(code(t, s, nil)) }, "application/x-www-form-urlencoded", "token_type=bearer"},
		{"JSON when asked", "application/json", func() url.Values { return creds(code(t, s, nil)) }, "application/json", `"scope":"read:org,read:user,user:email"`},
		{"wrong secret", "application/json", func() url.Values { f := creds(code(t, s, nil)); f.Set("client_secret", "x"); return f }, "application/json", `"error":"incorrect_client_credentials"`},
		{"unknown code", "", func() url.Values { return creds("0123456789abcdef0123") }, "application/x-www-form-urlencoded", "error=bad_verification_code"},
		{"PKCE verifier checked", "", func() url.Values { return creds(code(t, s, pkce), "code_verifier", strings.Repeat("w", 43)) }, "application/x-www-form-urlencoded", "error=bad_verification_code"},
		{"PKCE verifier accepted", "", func() url.Values { return creds(code(t, s, pkce), "code_verifier", verifier) }, "application/x-www-form-urlencoded", "access_token=gho_"},
		{"redirect_uri must match", "", func() url.Values {
			f := creds(code(t, s, nil))
			f.Set("redirect_uri", "https://evil.example/cb")
			return f
		}, "application/x-www-form-urlencoded", "error=redirect_uri_mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct, body := post(t, s, tc.form(), tc.accept)
			if !strings.HasPrefix(ct, tc.wantType) || !strings.Contains(body, tc.want) {
				t.Fatalf("%s %s, want %s with %s", ct, body, tc.wantType, tc.want)
			}
		})
	}
}

func TestMembershipAnswers(t *testing.T) {
	s := New(Config{RedirectURIs: []string{"https://app.example/cb"}, Orgs: map[string]bool{"acme": true, "other": false}, Teams: map[string]string{"acme/ops": "pending"}})
	defer s.Close()
	_, body := post(t, s, url.Values{"client_id": {ClientID}, "client_secret": {ClientSecret}, "code": {code(t, s, nil)}, "redirect_uri": {"https://app.example/cb"}}, "")
	form, _ := url.ParseQuery(body)
	tok := form.Get("access_token")
	if tok == "" {
		t.Fatalf("no access token: %s", body)
	}
	for _, tc := range []struct {
		path   string
		auth   string
		status int
	}{
		{"/user", "Bearer " + tok, 200},
		{"/user", "token " + tok, 200},
		{"/user", "Bearer nope", 401},
		{"/user/emails", "Bearer " + tok, 200},
		{"/orgs/acme/members/octocat", "Bearer " + tok, 204},
		{"/orgs/other/members/octocat", "Bearer " + tok, 302},
		{"/orgs/ghost/members/octocat", "Bearer " + tok, 404},
		{"/orgs/acme/teams/ops/memberships/octocat", "Bearer " + tok, 200},
		{"/orgs/acme/teams/dev/memberships/octocat", "Bearer " + tok, 404},
	} {
		t.Run(tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, s.APIURL+tc.path, nil)
			req.Header.Set("Authorization", tc.auth)
			c := *s.Client()
			c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("%s: %d, want %d", tc.path, resp.StatusCode, tc.status)
			}
			if tc.status == 302 && !strings.HasSuffix(resp.Header.Get("Location"), "/orgs/other/public_members/octocat") {
				t.Errorf("Location %q", resp.Header.Get("Location"))
			}
		})
	}
}
