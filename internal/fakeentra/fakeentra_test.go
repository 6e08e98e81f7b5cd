package fakeentra

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

func TestDiscoveryIssuers(t *testing.T) {
	s := New(Config{Domains: map[string]string{"contoso.onmicrosoft.com": Contoso}})
	defer s.Close()
	for tenant, want := range map[string]string{
		"common":                  s.URL + "/{tenantid}/v2.0",
		"organizations":           s.URL + "/{tenantid}/v2.0",
		"consumers":               s.URL + "/" + Consumers + "/v2.0",
		Contoso:                   s.URL + "/" + Contoso + "/v2.0",
		"contoso.onmicrosoft.com": s.URL + "/" + Contoso + "/v2.0",
		"unknown.example":         "",
	} {
		resp, err := http.Get(s.URL + "/" + tenant + "/v2.0/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		var doc struct{ Issuer string }
		json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if doc.Issuer != want || (want == "") != (resp.StatusCode == http.StatusBadRequest) {
			t.Errorf("%s: %d issuer %q, want %q", tenant, resp.StatusCode, doc.Issuer, want)
		}
	}
}

func TestAuthorizeAndTokenChecks(t *testing.T) {
	const redirect = "https://app.example/auth/callback/entra"
	s := New(Config{RedirectURIs: []string{redirect}})
	defer s.Close()
	c := *s.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	verifier := strings.Repeat("v", 43)
	authorize := func(q url.Values) *http.Response {
		resp, err := c.Get(s.URL + "/common/oauth2/v2.0/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	q := url.Values{"client_id": {ClientID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid"},
		"state": {"s"}, "code_challenge": {opkit.S256Challenge(verifier)}, "code_challenge_method": {"S256"}}
	bad := url.Values{}
	for k, v := range q {
		bad[k] = v
	}
	bad.Set("redirect_uri", "https://evil.example/cb")
	if resp := authorize(bad); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unregistered redirect URI: %d, want an error page", resp.StatusCode)
	}
	resp := authorize(q)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("code")
	if code == "" || loc.Query().Has("iss") {
		t.Fatalf("callback %s: want a code and no iss", loc)
	}
	token := func(tenant, verifier string) int {
		resp, err := c.PostForm(s.URL+"/"+tenant+"/oauth2/v2.0/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {redirect}, "code_verifier": {verifier}, "client_id": {ClientID}, "client_secret": {ClientSecret}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := token("common", strings.Repeat("w", 43)); st != http.StatusBadRequest {
		t.Errorf("wrong verifier: %d", st)
	}
	if st := token(Contoso, verifier); st != http.StatusBadRequest {
		t.Errorf("code redeemed at another tenant: %d", st)
	}
	if st := token("common", verifier); st != http.StatusOK {
		t.Errorf("good request: %d", st)
	}
	if st := token("common", verifier); st != http.StatusBadRequest {
		t.Errorf("code reused: %d", st)
	}
}
