package providers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/internal/oidctest"
	"github.com/portcullis-go/portcullis/session"
)

// groupList returns n distinct group names.
func groupList(n int) []string {
	g := make([]string, n)
	for i := range g {
		g[i] = fmt.Sprintf("g%d", i)
	}
	return g
}

func TestClaimsDecodingTolerant(t *testing.T) {
	long := strings.Repeat("x", maxGroupLen)
	for _, tc := range []struct {
		name    string
		payload string
		want    session.User // Email, Name, Login, Picture, Groups
	}{
		{"booleans and arrays", `{"email":"a@example.com","email_verified":true,"name":"Ada","preferred_username":"ada","picture":"https://p.example/a","groups":["eng","ops"]}`,
			session.User{Email: "a@example.com", Name: "Ada", Login: "ada", Picture: "https://p.example/a", Groups: []string{"eng", "ops"}}},
		// AWS Cognito: string email_verified, its own groups claim beside
		// a plain one that holds a single group.
		{"Cognito", `{"sub":"0c2a","cognito:username":"ada","cognito:groups":["admin"],"email":"a@example.com","email_verified":"true","token_use":"id","groups":"admin"}`,
			session.User{Email: "a@example.com", Groups: []string{"admin"}}},
		// Sign in with Apple: string booleans, no name.
		{"Apple", `{"iss":"https://appleid.apple.com","sub":"001234.abcd","email":"x@privaterelay.appleid.com","email_verified":"true","is_private_email":"true","auth_time":1700000000,"nonce_supported":true}`,
			session.User{Email: "x@privaterelay.appleid.com"}},
		{"Apple, unverified", `{"email":"x@example.com","email_verified":"false","is_private_email":false}`, session.User{}},
		{"email_verified TRUE", `{"email":"a@example.com","email_verified":"TRUE"}`, session.User{Email: "a@example.com"}},
		{"email_verified True", `{"email":"a@example.com","email_verified":"True"}`, session.User{Email: "a@example.com"}},
		{"email_verified false", `{"email":"a@example.com","email_verified":false}`, session.User{}},
		{"email_verified missing", `{"email":"a@example.com"}`, session.User{}},
		{"email_verified 1", `{"email":"a@example.com","email_verified":1}`, session.User{}},
		{"email_verified null", `{"email":"a@example.com","email_verified":null}`, session.User{}},
		{"email_verified yes", `{"email":"a@example.com","email_verified":"yes"}`, session.User{}},
		{"email_verified padded", `{"email":"a@example.com","email_verified":" true"}`, session.User{}},
		{"email_verified object", `{"email":"a@example.com","email_verified":{"value":true}}`, session.User{}},
		{"email a number", `{"email":42,"email_verified":true}`, session.User{}},
		{"profile of the wrong types", `{"name":7,"preferred_username":["ada"],"picture":{"url":"x"}}`, session.User{}},
		{"profile null", `{"name":null,"preferred_username":null,"picture":null,"groups":null}`, session.User{}},
		{"groups a string", `{"groups":"eng"}`, session.User{Groups: []string{"eng"}}},
		{"groups empty string", `{"groups":""}`, session.User{}},
		{"groups a number", `{"groups":7}`, session.User{}},
		{"groups an object", `{"groups":{"eng":true}}`, session.User{}},
		{"groups mixed", `{"groups":["eng",7,null,{"x":1},["ops"],"","ops",true]}`, session.User{Groups: []string{"eng", "ops"}}},
		{"groups repeated", `{"groups":["eng","eng","ops","eng"]}`, session.User{Groups: []string{"eng", "ops"}}},
		{"group names at and over the bound", `{"groups":["` + long + `","` + long + `y","ok"]}`, session.User{Groups: []string{long, "ok"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c idClaims
			if err := json.Unmarshal([]byte(tc.payload), &c); err != nil {
				t.Fatalf("decode: %v", err)
			}
			got := session.User{Email: c.verifiedEmail(), Name: string(c.Name), Login: string(c.PreferredUsername), Picture: string(c.Picture), Groups: c.Groups}
			if got.Email != tc.want.Email || got.Name != tc.want.Name || got.Login != tc.want.Login || got.Picture != tc.want.Picture || !slices.Equal(got.Groups, tc.want.Groups) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}

	t.Run("at most maxClaimGroups", func(t *testing.T) {
		b, _ := json.Marshal(map[string]any{"groups": groupList(3 * maxClaimGroups)})
		var c profileClaims
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		if want := groupList(maxClaimGroups); !slices.Equal(c.Groups, want) {
			t.Errorf("kept %d groups, want the first %d", len(c.Groups), maxClaimGroups)
		}
		if maxClaimGroups > 1024 {
			t.Errorf("maxClaimGroups %d exceeds the session codec's bound", maxClaimGroups)
		}
	})

	// The protocol claims stay strict.
	for _, payload := range []string{`{"azp":7}`, `{"sid":{"id":"x"}}`, `{"nonce":["n"]}`} {
		var c idClaims
		if err := json.Unmarshal([]byte(payload), &c); err == nil {
			t.Errorf("%s decoded: a malformed protocol claim must refuse the token", payload)
		}
	}
}

func TestClaimTime(t *testing.T) {
	for _, tc := range []struct {
		json           string
		present, valid bool
		unix           int64
	}{
		{`1700000000`, true, true, 1700000000},
		{`1700000000.7`, true, true, 1700000000},
		{`"1700000000"`, true, true, 1700000000},
		{`"yesterday"`, true, false, 0},
		{`true`, true, false, 0},
		{`{"t":1}`, true, false, 0},
		{`null`, false, false, 0},
	} {
		var c struct {
			T claimTime `json:"t"`
		}
		if err := json.Unmarshal([]byte(`{"t":`+tc.json+`}`), &c); err != nil {
			t.Errorf("%s: %v", tc.json, err)
			continue
		}
		if c.T.present != tc.present || c.T.valid != tc.valid || c.T.unix != tc.unix {
			t.Errorf("%s: got %+v", tc.json, c.T)
		}
	}
}

// oidcProvider returns a provider for a fresh mock provider, with UserInfo
// if asked.
func oidcProvider(t *testing.T, userInfo bool) (*Provider, *oidctest.Server) {
	t.Helper()
	op := oidctest.New(t)
	p, err := OIDC(context.Background(), OIDCConfig{
		Name:         "a",
		Issuer:       op.URL,
		ClientID:     oidctest.ClientID,
		ClientSecret: oidctest.ClientSecret,
		UserInfo:     userInfo,
		HTTPClient:   op.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return p, op
}

// oidcLogin runs a code flow against op, through [Provider.Callback]: the
// authorization request, then the callback query the provider redirected
// to. It returns the flow too.
func oidcLogin(t *testing.T, p *Provider, op *oidctest.Server) (*Identity, Flow, error) {
	t.Helper()
	f := Flow{RedirectURL: "https://app.example/cb", Issuer: p.Issuer(), State: "state-1", Nonce: "nonce-" + randomHex(8),
		Verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"}
	client := op.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Get(authCodeURL(t, p, f))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize redirected to %v (%v)", loc, err)
	}
	id, err := p.Callback(context.Background(), f, loc.Query())
	return id, f, err
}

// TestClaimsDecodingTolerantLogin signs in with ID tokens and UserInfo
// responses whose profile claims have odd shapes: none fails the login.
func TestClaimsDecodingTolerantLogin(t *testing.T) {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	for _, tc := range []struct {
		name     string
		userInfo bool
		id, ui   oidctest.Claims // set (nil value: delete) in the ID token, the UserInfo response
		want     session.User
	}{
		{name: "Cognito", id: oidctest.Claims{"email_verified": "true", "cognito:groups": []string{"admin"}, "groups": "admin", "cognito:username": "ada"},
			want: session.User{Email: "user-1@example.com", Name: "Test User", Groups: []string{"admin"}}},
		{name: "Apple", id: oidctest.Claims{"email_verified": "true", "is_private_email": "true", "name": nil, "auth_time": 1700000000, "nonce_supported": true},
			want: session.User{Email: "user-1@example.com"}},
		{name: "email_verified false string", id: oidctest.Claims{"email_verified": "false"}, want: session.User{Name: "Test User"}},
		{name: "email_verified a number", id: oidctest.Claims{"email_verified": 1}, want: session.User{Name: "Test User"}},
		{name: "email_verified null", id: oidctest.Claims{"email_verified": raw("null")}, want: session.User{Name: "Test User"}},
		{name: "profile of the wrong types", id: oidctest.Claims{"name": 7, "preferred_username": []int{1}, "picture": map[string]any{"u": 1}, "email": 9},
			want: session.User{}},
		{name: "groups mixed", id: oidctest.Claims{"groups": []any{"eng", 7, map[string]any{}, "ops"}},
			want: session.User{Email: "user-1@example.com", Name: "Test User", Groups: []string{"eng", "ops"}}},
		{name: "groups an object", id: oidctest.Claims{"groups": map[string]any{"eng": true}},
			want: session.User{Email: "user-1@example.com", Name: "Test User"}},
		{name: "groups over the bound", id: oidctest.Claims{"groups": groupList(200)},
			want: session.User{Email: "user-1@example.com", Name: "Test User", Groups: groupList(maxClaimGroups)}},
		// UserInfo: go-oidc itself accepts these, and so must identify.
		{name: "UserInfo, Cognito", userInfo: true, ui: oidctest.Claims{"email": "b@example.com", "email_verified": "true", "groups": "admin", "username": "ada"},
			want: session.User{Email: "b@example.com", Name: "Test User", Groups: []string{"admin"}}},
		{name: "UserInfo, odd profile and protocol claims", userInfo: true,
			ui:   oidctest.Claims{"name": 7, "picture": []string{"x"}, "preferred_username": true, "groups": []any{1, "eng"}, "nonce": 5, "sid": map[string]any{}, "azp": 1},
			want: session.User{Email: "user-1@example.com", Name: "Test User", Groups: []string{"eng"}}},
		// UserInfo shapes go-oidc's own decoding refuses outright; portcullis
		// reads the response itself.
		{name: "UserInfo, email_verified null", userInfo: true, ui: oidctest.Claims{"email": "b@example.com", "email_verified": raw("null")},
			want: session.User{Email: "user-1@example.com", Name: "Test User"}},
		{name: "UserInfo, email_verified TRUE", userInfo: true, ui: oidctest.Claims{"email": "b@example.com", "email_verified": "TRUE"},
			want: session.User{Email: "b@example.com", Name: "Test User"}},
		{name: "UserInfo, email a number", userInfo: true, ui: oidctest.Claims{"email": 5, "email_verified": true},
			want: session.User{Email: "user-1@example.com", Name: "Test User"}},
		{name: "UserInfo, unverified email keeps the ID token's", userInfo: true, ui: oidctest.Claims{"email": "b@example.com", "email_verified": "false"},
			want: session.User{Email: "user-1@example.com", Name: "Test User"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, op := oidcProvider(t, tc.userInfo)
			edit := func(c oidctest.Claims, set oidctest.Claims) oidctest.Claims {
				for k, v := range set {
					if v == nil {
						delete(c, k)
					} else {
						c[k] = v
					}
				}
				return c
			}
			op.IDToken = func(c oidctest.Claims, h oidctest.Header) (oidctest.Claims, oidctest.Header) {
				return edit(c, tc.id), h
			}
			op.UserInfo = func(c oidctest.Claims) oidctest.Claims { return edit(c, tc.ui) }
			id, _, err := oidcLogin(t, p, op)
			if err != nil {
				t.Fatalf("login refused: %v", err)
			}
			u := id.User
			if u.Subject != oidctest.Subject || u.Email != tc.want.Email || u.Name != tc.want.Name || u.Login != tc.want.Login ||
				u.Picture != tc.want.Picture || !slices.Equal(u.Groups, tc.want.Groups) {
				t.Errorf("user %+v, want %+v", u, tc.want)
			}
		})
	}
}
