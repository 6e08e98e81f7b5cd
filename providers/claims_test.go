package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

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
			var raw map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tc.payload), &raw); err != nil {
				t.Fatal(err)
			}
			c, err := idClaimsOf(raw)
			if err != nil {
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
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(payload), &raw); err != nil {
			t.Fatal(err)
		}
		if _, err := idClaimsOf(raw); err == nil {
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

// keepProvider returns a provider for a fresh mock provider, configured by
// cfg (its name, issuer, client and HTTP client are filled in).
func keepProvider(t *testing.T, cfg OIDCConfig) (*Provider, *oidctest.Server) {
	t.Helper()
	op := oidctest.New(t)
	cfg.Name, cfg.Issuer, cfg.ClientID, cfg.ClientSecret, cfg.HTTPClient = "a", op.URL, oidctest.ClientID, oidctest.ClientSecret, op.Client()
	p, err := OIDC(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p, op
}

// TestLoginClaimsMerged: Identity.Claims holds every claim of the ID token
// and of UserInfo, UserInfo's over the profile claims but never over the
// protocol claims; KeepClaims copies the chosen ones, compacted, into
// User.Claims.
func TestLoginClaimsMerged(t *testing.T) {
	p, op := keepProvider(t, OIDCConfig{UserInfo: true, KeepClaims: []string{"department", "tid", "absent", "realm_access"}})
	op.IDToken = func(c oidctest.Claims, h oidctest.Header) (oidctest.Claims, oidctest.Header) {
		c["tid"] = "tenant-1"
		c["department"] = "from the token"
		c["realm_access"] = map[string]any{"roles": []string{"admin"}}
		c["acr"], c["amr"], c["sid"], c["jti"], c["auth_time"] = "urn:id", []string{"pwd"}, "sid-1", "jti-1", time.Now().Unix()
		return c, h
	}
	// UserInfo tries to replace every protocol claim (but sub, which must
	// match, or the login is refused).
	protocol := []string{"iss", "aud", "exp", "iat", "nbf", "nonce", "azp", "at_hash", "c_hash", "auth_time", "acr", "amr", "sid", "jti"}
	op.UserInfo = func(c oidctest.Claims) oidctest.Claims {
		c["department"] = "from UserInfo"
		c["name"] = "UserInfo Name"
		c["only_userinfo"] = []int{1, 2}
		for _, n := range protocol {
			c[n] = "forged"
		}
		return c
	}
	id, _, err := oidcLogin(t, p, op)
	if err != nil {
		t.Fatalf("login refused: %v", err)
	}
	for name, want := range map[string]string{
		"department":    `"from UserInfo"`,
		"name":          `"UserInfo Name"`,
		"only_userinfo": `[1,2]`,
		"tid":           `"tenant-1"`,
		"sub":           `"` + oidctest.Subject + `"`,
		"iss":           `"` + op.URL + `"`,
		"acr":           `"urn:id"`,
		"sid":           `"sid-1"`,
	} {
		if got := string(id.Claims[name]); got != want {
			t.Errorf("Identity.Claims[%q] = %s, want %s", name, got, want)
		}
	}
	for _, n := range protocol {
		if string(id.Claims[n]) == `"forged"` {
			t.Errorf("UserInfo replaced the protocol claim %q", n)
		}
	}
	if id.User.Name != "UserInfo Name" {
		t.Errorf("User.Name %q", id.User.Name)
	}
	want := map[string]string{"department": `"from UserInfo"`, "tid": `"tenant-1"`, "realm_access": `{"roles":["admin"]}`}
	if len(id.User.Claims) != len(want) {
		t.Errorf("kept %d claims (%s), want %d", len(id.User.Claims), id.User.Claims, len(want))
	}
	for name, v := range want {
		if got := string(id.User.Claims[name]); got != v {
			t.Errorf("User.Claims[%q] = %s, want %s", name, got, v)
		}
	}
	var roles struct{ Roles []string }
	if ok, err := id.User.Claim("realm_access", &roles); !ok || err != nil || !slices.Equal(roles.Roles, []string{"admin"}) {
		t.Errorf("User.Claim(realm_access) = %v, %v, %+v", ok, err, roles)
	}

	t.Run("without KeepClaims nothing is kept", func(t *testing.T) {
		p, op := keepProvider(t, OIDCConfig{})
		id, _, err := oidcLogin(t, p, op)
		if err != nil {
			t.Fatal(err)
		}
		if id.User.Claims != nil || len(id.Claims) == 0 || string(id.Claims["nonce"]) == "" {
			t.Errorf("User.Claims %s, Identity.Claims %s", id.User.Claims, id.Claims)
		}
	})
}

// TestKeepCompacts: a kept value is stored compact, and its size is
// counted compact.
func TestKeepCompacts(t *testing.T) {
	spaced := json.RawMessage("{ \"roles\" :\n [ \"a\" ,\t\"b\" ] }" + strings.Repeat(" ", maxKeptValue))
	kept, err := keep(map[string]json.RawMessage{"r": spaced, "x": json.RawMessage(`1`)}, []string{"r"})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(kept["r"]); got != `{"roles":["a","b"]}` || len(kept) != 1 {
		t.Errorf("kept %s", kept)
	}
	if kept, err := keep(map[string]json.RawMessage{"x": json.RawMessage(`1`)}, []string{"r"}); kept != nil || err != nil {
		t.Errorf("nothing to keep: %s, %v", kept, err)
	}
}

func TestKeepClaimsRefused(t *testing.T) {
	many := make([]string, maxKeepClaims+1)
	for i := range many {
		many[i] = fmt.Sprintf("c%d", i)
	}
	for _, tc := range []struct {
		name  string
		names []string
		want  string
	}{
		{"too many", many, "at most 16"},
		{"empty name", []string{"tid", ""}, "empty name"},
		{"duplicate", []string{"tid", "dept", "tid"}, `"tid" twice`},
		{"sub", []string{"sub"}, `"sub" is a protocol claim`},
		{"nonce", []string{"tid", "nonce"}, `"nonce" is a protocol claim`},
		{"amr", []string{"amr"}, `"amr" is a protocol claim`},
		{"jti", []string{"jti"}, `"jti" is a protocol claim`},
		{"name too long", []string{strings.Repeat("n", maxKeptName+1)}, "at most 256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Refused before any network call: the issuer does not exist.
			_, err := OIDC(context.Background(), OIDCConfig{Name: "a", Issuer: "https://idp.invalid", ClientID: "c", KeepClaims: tc.names})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "KeepClaims") {
				t.Errorf("OIDC = %v, want an error about KeepClaims with %q", err, tc.want)
			}
			_, err = Google(context.Background(), GoogleConfig{ClientID: "c", Issuer: "https://idp.invalid", KeepClaims: tc.names})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Google = %v, want an error with %q", err, tc.want)
			}
		})
	}
	// Control: 16 custom names are accepted.
	p, op := keepProvider(t, OIDCConfig{KeepClaims: many[:maxKeepClaims]})
	if _, _, err := oidcLogin(t, p, op); err != nil {
		t.Fatalf("16 kept claim names: %v", err)
	}
}

// TestClaimsBounds: a login whose claims, or kept claims, are too large
// is refused with an error wrapping ErrInvalidResponse that names the
// claim and holds no value; at the bounds it is accepted.
func TestClaimsBounds(t *testing.T) {
	const secret = "SECRET-CLAIM-VALUE"
	str := func(n int) string { return secret + strings.Repeat("v", n-len(secret)-2) } // JSON length n
	for _, tc := range []struct {
		name   string
		claims oidctest.Claims
		reason string // "" accepted
		claim  string
	}{
		{"kept value at the bound", oidctest.Claims{"dept": str(maxKeptValue)}, "", ""},
		{"kept value over the bound", oidctest.Claims{"dept": str(maxKeptValue + 1)}, "kept_claim_too_large", "dept"},
		// Four names of 4 bytes: 16 bytes of names.
		{"kept values together at the bound", oidctest.Claims{"dept": str(1024), "team": str(1024), "site": str(1024), "role": str(4096 - 3072 - 16)}, "", ""},
		{"kept values together over the bound", oidctest.Claims{"dept": str(1024), "team": str(1024), "site": str(1024), "role": str(4096 - 3072 - 15)}, "kept_claims_too_large", "role"},
		{"unkept claim of 60 KiB", oidctest.Claims{"blob": str(60 << 10)}, "", ""},
		{"claims over 64 KiB", oidctest.Claims{"blob": str(maxClaimsSize)}, "claims_too_large", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, op := keepProvider(t, OIDCConfig{KeepClaims: []string{"dept", "team", "site", "role"}})
			op.IDToken = func(c oidctest.Claims, h oidctest.Header) (oidctest.Claims, oidctest.Header) {
				for k, v := range tc.claims {
					c[k] = v
				}
				return c, h
			}
			id, _, err := oidcLogin(t, p, op)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if len(id.User.Claims) != len(tc.claims) && tc.claims["blob"] == nil {
					t.Errorf("kept %d claims, want %d", len(id.User.Claims), len(tc.claims))
				}
				return
			}
			var checked interface {
				Reason() string
				Claim() string
			}
			if !errors.Is(err, ErrInvalidResponse) || !errors.As(err, &checked) || checked.Reason() != tc.reason || checked.Claim() != tc.claim {
				t.Fatalf("err = %v, want ErrInvalidResponse with reason %s and claim %q", err, tc.reason, tc.claim)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error quotes the claim's value: %.200s", err)
			}
			if tc.claim != "" && !strings.Contains(err.Error(), `"`+tc.claim+`"`) {
				t.Errorf("the error does not name the claim: %v", err)
			}
		})
	}
}

// TestGroupsIncomplete: GroupsIncomplete is set when groups were dropped
// or the provider says the groups are elsewhere (a distributed claim, the
// way Entra ID reports a groups overage), and only then.
func TestGroupsIncomplete(t *testing.T) {
	overage := oidctest.Claims{
		"_claim_names":   map[string]string{"groups": "src1"},
		"_claim_sources": map[string]any{"src1": map[string]string{"endpoint": "https://graph.example/v1.0/users/u/getMemberObjects"}},
	}
	long := strings.Repeat("g", maxGroupLen+1)
	for _, tc := range []struct {
		name           string
		groupsClaim    []string
		userInfo       bool
		id, ui         oidctest.Claims
		wantGroups     []string
		wantIncomplete bool
	}{
		{name: "maxClaimGroups groups", id: oidctest.Claims{"groups": groupList(maxClaimGroups)}, wantGroups: groupList(maxClaimGroups)},
		{name: "one group over the bound", id: oidctest.Claims{"groups": groupList(maxClaimGroups + 1)}, wantGroups: groupList(maxClaimGroups), wantIncomplete: true},
		{name: "repeats at the bound are no loss", id: oidctest.Claims{"groups": append(groupList(maxClaimGroups), "g0", "", "g1")}, wantGroups: groupList(maxClaimGroups)},
		{name: "a name too long", id: oidctest.Claims{"groups": []string{"eng", long}}, wantGroups: []string{"eng"}, wantIncomplete: true},
		{name: "a lone name too long", id: oidctest.Claims{"groups": long}, wantIncomplete: true},
		{name: "non-strings are no groups", id: oidctest.Claims{"groups": []any{"eng", 7, nil}}, wantGroups: []string{"eng"}},
		{name: "Entra overage", id: overage, wantIncomplete: true},
		{name: "overage of another claim", groupsClaim: []string{"roles"}, id: mergeClaimsForTest(overage, oidctest.Claims{"roles": []string{"r"}}), wantGroups: []string{"r"}},
		{name: "overage at a configured claim", groupsClaim: []string{"roles"},
			id: oidctest.Claims{"_claim_names": map[string]string{"roles": "s"}, "_claim_sources": map[string]any{"s": map[string]string{"endpoint": "https://x.example"}}}, wantIncomplete: true},
		{name: "nested path over the bound", groupsClaim: []string{"realm_access", "roles"}, id: oidctest.Claims{"realm_access": map[string]any{"roles": groupList(100)}},
			wantGroups: groupList(maxClaimGroups), wantIncomplete: true},
		{name: "UserInfo lists what the token could not", userInfo: true, id: overage, ui: oidctest.Claims{"groups": []string{"eng"}}, wantGroups: []string{"eng"}},
		{name: "UserInfo over the bound", userInfo: true, id: oidctest.Claims{"groups": []string{"eng"}}, ui: oidctest.Claims{"groups": groupList(100)},
			wantGroups: groupList(maxClaimGroups), wantIncomplete: true},
		{name: "UserInfo without groups keeps the token's", userInfo: true, id: oidctest.Claims{"groups": groupList(100)}, wantGroups: groupList(maxClaimGroups), wantIncomplete: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, op := keepProvider(t, OIDCConfig{GroupsClaim: tc.groupsClaim, UserInfo: tc.userInfo})
			op.IDToken = func(c oidctest.Claims, h oidctest.Header) (oidctest.Claims, oidctest.Header) {
				return mergeClaimsForTest(c, tc.id), h
			}
			op.UserInfo = func(c oidctest.Claims) oidctest.Claims { return mergeClaimsForTest(c, tc.ui) }
			id, _, err := oidcLogin(t, p, op)
			if err != nil {
				t.Fatalf("login refused: %v", err)
			}
			if !slices.Equal(id.User.Groups, tc.wantGroups) || id.User.GroupsIncomplete != tc.wantIncomplete {
				t.Errorf("groups %v incomplete %v, want %v %v", id.User.Groups, id.User.GroupsIncomplete, tc.wantGroups, tc.wantIncomplete)
			}
		})
	}
}

// mergeClaimsForTest returns c with set's claims added.
func mergeClaimsForTest(c, set oidctest.Claims) oidctest.Claims {
	out := oidctest.Claims{}
	for k, v := range c {
		out[k] = v
	}
	for k, v := range set {
		out[k] = v
	}
	return out
}

// FuzzJSONString checks jsonString against json.Unmarshal into a string,
// on any bytes: the same string, and success exactly when it succeeds.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{`"n-1"`, `""`, `"a\"b"`, `"\u00e9t\u00e9"`, `"été"`, "\"\xff\"", "\"a\tb\"", `null`, `7`, `["x"]`, `"`, `"a" `, ` "a"`, `true`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := jsonString(b)
		var want string
		err := json.Unmarshal(b, &want)
		if ok != (err == nil) || ok && got != want {
			t.Errorf("jsonString(%q) = %q, %v; json.Unmarshal: %q, %v", b, got, ok, want, err)
		}
	})
}
