package providers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/oidctest"
)

// stepUpLogin runs oidcLogin with a step-up request in the flow.
func stepUpLogin(t *testing.T, p *Provider, op *oidctest.Server, edit func(*Flow)) (*Identity, url.Values, error) {
	t.Helper()
	f := Flow{RedirectURL: "https://app.example/cb", Issuer: p.Issuer(), State: "state-1", Nonce: "nonce-" + randomHex(8),
		Verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"}
	edit(&f)
	authURL, _ := url.Parse(authCodeURL(t, p, f))
	client := op.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Get(authURL.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := resp.Location()
	id, err := p.Callback(context.Background(), f, loc.Query())
	return id, authURL.Query(), err
}

// TestStepUpVerified: a step-up asks for max_age (with prompt=login) and
// acr_values, and the answer's auth_time, acr and amr are verified: a
// provider that ignores the request fails the login with ErrNotAllowed.
func TestStepUpVerified(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name   string
		flow   func(*Flow)
		claims oidctest.Claims
		ok     bool
	}{
		{"fresh auth_time", func(f *Flow) { f.MaxAge = 5 * time.Minute }, oidctest.Claims{"auth_time": now.Add(-time.Minute).Unix()}, true},
		{"auth_time too old (max_age ignored)", func(f *Flow) { f.MaxAge = 5 * time.Minute }, oidctest.Claims{"auth_time": now.Add(-time.Hour).Unix()}, false},
		{"auth_time missing", func(f *Flow) { f.MaxAge = 5 * time.Minute }, oidctest.Claims{"auth_time": nil}, false},
		{"auth_time not a number", func(f *Flow) { f.MaxAge = 5 * time.Minute }, oidctest.Claims{"auth_time": "recently"}, false},
		{"acr as asked", func(f *Flow) { f.ACRValues = []string{"urn:mfa", "urn:hw"} }, oidctest.Claims{"acr": "urn:hw"}, true},
		{"acr ignored", func(f *Flow) { f.ACRValues = []string{"urn:mfa"} }, oidctest.Claims{"acr": "urn:pwd"}, false},
		{"acr missing", func(f *Flow) { f.ACRValues = []string{"urn:mfa"} }, oidctest.Claims{"acr": nil}, false},
		{"amr holds every method", func(f *Flow) { f.AMR = []string{"otp"} }, oidctest.Claims{"amr": []string{"pwd", "otp"}}, true},
		{"amr lacks a method", func(f *Flow) { f.AMR = []string{"otp", "hwk"} }, oidctest.Claims{"amr": []string{"pwd", "otp"}}, false},
		{"amr a string", func(f *Flow) { f.AMR = []string{"otp"} }, oidctest.Claims{"amr": "otp"}, true},
		{"no step-up: nothing checked", func(f *Flow) {}, oidctest.Claims{"auth_time": now.Add(-24 * time.Hour).Unix()}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, op := oidcProvider(t, false)
			op.IDToken = func(c oidctest.Claims, h oidctest.Header) (oidctest.Claims, oidctest.Header) {
				for k, v := range tc.claims {
					if v == nil {
						delete(c, k)
					} else {
						c[k] = v
					}
				}
				return c, h
			}
			id, q, err := stepUpLogin(t, p, op, tc.flow)
			if tc.ok != (err == nil) {
				t.Fatalf("login: %v, want ok %v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrNotAllowed) {
				t.Fatalf("a step-up not met: %v, want ErrNotAllowed", err)
			}
			var f Flow
			tc.flow(&f)
			if f.MaxAge > 0 && (q.Get("max_age") != "300" || q.Get("prompt") != "login") {
				t.Errorf("authorization request max_age %q prompt %q", q.Get("max_age"), q.Get("prompt"))
			}
			if len(f.ACRValues) > 0 && q.Get("acr_values") != f.ACRValues[0]+func() string {
				if len(f.ACRValues) > 1 {
					return " " + f.ACRValues[1]
				}
				return ""
			}() {
				t.Errorf("acr_values %q", q.Get("acr_values"))
			}
			if err == nil && tc.name == "amr holds every method" && !slices.Equal(id.AMR, []string{"pwd", "otp"}) {
				t.Errorf("identity amr %v", id.AMR)
			}
			// AuthTime is the token's auth_time, or zero when it has none:
			// never made up from the time of the login.
			if _, has := tc.claims["auth_time"]; err == nil && !has && !id.AuthTime.IsZero() {
				t.Errorf("identity AuthTime %v without an auth_time claim", id.AuthTime)
			}
		})
	}
}

// TestGroupsClaimPath: groups come from a configured claim path
// (Keycloak, Entra, Auth0 shapes); a path that leads nowhere gives none.
func TestGroupsClaimPath(t *testing.T) {
	for _, tc := range []struct {
		name   string
		path   []string
		claims oidctest.Claims
		want   []string
	}{
		{"Keycloak realm roles", []string{"realm_access", "roles"}, oidctest.Claims{"realm_access": map[string]any{"roles": []string{"admin", "user"}}}, []string{"admin", "user"}},
		{"Entra roles", []string{"roles"}, oidctest.Claims{"roles": []string{"Dashboard.Admin"}}, []string{"Dashboard.Admin"}},
		{"Auth0 namespaced", []string{"https://acme.example/roles"}, oidctest.Claims{"https://acme.example/roles": []string{"ops"}}, []string{"ops"}},
		{"single string", []string{"roles"}, oidctest.Claims{"roles": "ops"}, []string{"ops"}},
		{"path through a non-object", []string{"realm_access", "roles"}, oidctest.Claims{"realm_access": []string{"x"}}, nil},
		{"missing", []string{"realm_access", "roles"}, oidctest.Claims{}, nil},
		{"groups claim ignored when another path is set", []string{"roles"}, oidctest.Claims{"groups": []string{"g"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := oidctest.New(t)
			p, err := OIDC(context.Background(), OIDCConfig{Name: "a", Issuer: op.URL, ClientID: oidctest.ClientID,
				ClientSecret: oidctest.ClientSecret, HTTPClient: op.Client(), GroupsClaim: tc.path})
			if err != nil {
				t.Fatal(err)
			}
			op.IDToken = func(c oidctest.Claims, h oidctest.Header) (oidctest.Claims, oidctest.Header) {
				delete(c, "groups")
				for k, v := range tc.claims {
					c[k] = v
				}
				return c, h
			}
			id, _, err := oidcLogin(t, p, op)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(id.User.Groups, tc.want) {
				t.Fatalf("groups %v, want %v", id.User.Groups, tc.want)
			}
		})
	}
	for _, bad := range [][]string{{""}, {"a", ""}, make([]string, 9)} {
		if _, err := OIDC(context.Background(), OIDCConfig{Name: "a", Issuer: "https://op.example", ClientID: "c", GroupsClaim: bad}); err == nil {
			t.Errorf("GroupsClaim %q accepted", bad)
		}
	}
}
