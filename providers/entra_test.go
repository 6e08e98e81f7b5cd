package providers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/fakeentra"
	"github.com/portcullis-go/portcullis/session"
)

const entraRedirect = "https://app.example/auth/callback/entra"

// entraFake starts a fake with cfg (the redirect URI filled in) and a
// provider for it made from ec (ClientID, ClientSecret, Authority and
// HTTPClient filled in).
func entraFake(t *testing.T, cfg fakeentra.Config, ec EntraConfig) (*fakeentra.Server, *Provider) {
	t.Helper()
	cfg.RedirectURIs = []string{entraRedirect}
	fake := fakeentra.New(cfg)
	t.Cleanup(fake.Close)
	ec.ClientID, ec.ClientSecret = fakeentra.ClientID, fakeentra.ClientSecret
	ec.Authority, ec.HTTPClient = fake.URL, fake.Client()
	p, err := Entra(context.Background(), ec)
	if err != nil {
		t.Fatal(err)
	}
	return fake, p
}

func TestEntraRefusesBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  EntraConfig
		want string // in the error
	}{
		{"no client ID", EntraConfig{Tenant: fakeentra.Contoso}, "ClientID"},
		{"no tenant", EntraConfig{ClientID: "id"}, `use "organizations", "common"`},
		{"tenant as URL", EntraConfig{ClientID: "id", Tenant: "https://login.microsoftonline.com/common/v2.0"}, "Tenant"},
		{"tenant with braces", EntraConfig{ClientID: "id", Tenant: "{tenantid}"}, "Tenant"},
		{"short GUID", EntraConfig{ClientID: "id", Tenant: "8eaef023-2b34-4da1-9baa"}, "Tenant"},
		{"common without allowed tenants", EntraConfig{ClientID: "id", Tenant: "common"}, "AllowedTenants"},
		{"organizations without allowed tenants", EntraConfig{ClientID: "id", Tenant: "organizations"}, "anyone can create one"},
		{"allowed tenant as domain", EntraConfig{ClientID: "id", Tenant: "common", AllowedTenants: []string{"contoso.com"}}, "not a tenant id"},
		{"allowed tenant empty", EntraConfig{ClientID: "id", Tenant: "common", AllowedTenants: []string{""}}, "not a tenant id"},
		{"allowed tenants and any tenant", EntraConfig{ClientID: "id", Tenant: "common", AllowedTenants: []string{fakeentra.Contoso}, InsecureAllowAnyTenant: true}, "not both"},
		{"organizations allowing consumers", EntraConfig{ClientID: "id", Tenant: "organizations", AllowedTenants: []string{fakeentra.Consumers}}, `use Tenant "common"`},
		{"single tenant with allowed tenants", EntraConfig{ClientID: "id", Tenant: fakeentra.Contoso, AllowedTenants: []string{fakeentra.Fabrikam}}, "admits only its own"},
		{"consumers with any tenant", EntraConfig{ClientID: "id", Tenant: "consumers", InsecureAllowAnyTenant: true}, "admits only its own"},
		{"http authority", EntraConfig{ClientID: "id", Tenant: fakeentra.Contoso, Authority: "http://login.microsoftonline.com"}, "https"},
		{"authority with a path", EntraConfig{ClientID: "id", Tenant: fakeentra.Contoso, Authority: "https://login.microsoftonline.com/common"}, "origin only"},
		{"bad group claim", EntraConfig{ClientID: "id", Tenant: fakeentra.Contoso, GroupClaims: []string{"wids"}}, "GroupClaims"},
		{"keeping tid", EntraConfig{ClientID: "id", Tenant: fakeentra.Contoso, KeepClaims: []string{"tid"}}, "always kept"},
		{"keeping 15 claims", EntraConfig{ClientID: "id", Tenant: fakeentra.Contoso, KeepClaims: strings.Split("a b c d e f g h i j k l m n o", " ")}, "at most 14"},
		{"keeping a protocol claim", EntraConfig{ClientID: "id", Tenant: fakeentra.Contoso, KeepClaims: []string{"nonce"}}, "protocol claim"},
		{"owned auth param", EntraConfig{ClientID: "id", Tenant: fakeentra.Contoso, AuthParams: map[string][]string{"nonce": {"x"}}}, "nonce"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Authority = cmpOr(tc.cfg.Authority, "http://"+reservedAddr(t))
			p, err := Entra(context.Background(), tc.cfg)
			if err == nil || p != nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Entra: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestEntraDiscoveryRefusals: a document whose issuer is not the one
// Microsoft documents for the tenant is a configuration error.
func TestEntraDiscoveryRefusals(t *testing.T) {
	fake := fakeentra.New(fakeentra.Config{Domains: map[string]string{"contoso.onmicrosoft.com": fakeentra.Contoso}})
	defer fake.Close()
	for _, tc := range []struct{ name, authority, tenant, want string }{
		// The fake's documents name its own URL; another authority's
		// name for it (localhost) is another issuer.
		{"authority spelled otherwise", strings.Replace(fake.URL, "127.0.0.1", "localhost", 1), fakeentra.Contoso, "as Microsoft documents"},
		{"authority spelled otherwise, domain", strings.Replace(fake.URL, "127.0.0.1", "localhost", 1), "contoso.onmicrosoft.com", "{tenant id}"},
		{"unknown domain", fake.URL, "unknown.example", "HTTP 400"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Entra(context.Background(), EntraConfig{ClientID: fakeentra.ClientID, Tenant: tc.tenant, Authority: tc.authority, HTTPClient: fake.Client()})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Entra: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// TestOIDCRefusesEntraTemplate: the multi-tenant issuer given to OIDC,
// as itself or found in the document of "common", says to use Entra.
func TestOIDCRefusesEntraTemplate(t *testing.T) {
	fake := fakeentra.New(fakeentra.Config{})
	defer fake.Close()
	for _, issuer := range []string{
		"https://login.microsoftonline.com/{tenantid}/v2.0",
		"https://login.microsoftonline.com/{tenantId}/v2.0",
		fake.URL + "/common/v2.0",
		fake.URL + "/organizations/v2.0",
	} {
		_, err := OIDC(context.Background(), OIDCConfig{Name: "entra", ClientID: "id", Issuer: issuer, HTTPClient: fake.Client()})
		if err == nil || !strings.Contains(err.Error(), "use providers.Entra") {
			t.Errorf("OIDC with %s: %v, want one that says to use providers.Entra", issuer, err)
		}
	}
	// A single tenant is plain OpenID Connect.
	if _, err := OIDC(context.Background(), OIDCConfig{Name: "entra", ClientID: "id", Issuer: fake.URL + "/" + fakeentra.Contoso + "/v2.0", HTTPClient: fake.Client()}); err != nil {
		t.Errorf("OIDC with a tenant's issuer: %v", err)
	}
}

func TestEntraLogin(t *testing.T) {
	yes, no := true, false
	ada := fakeentra.User{Tenant: fakeentra.Contoso, Email: "ada@contoso.com", EDOV: &yes}
	grace := fakeentra.User{Tenant: fakeentra.Fabrikam, Email: "grace@fabrikam.com", EDOV: &yes}
	msa := fakeentra.User{Tenant: fakeentra.Consumers, Email: "alan@outlook.com"}
	allowContoso := EntraConfig{Tenant: "common", AllowedTenants: []string{fakeentra.Contoso}}
	for _, tc := range []struct {
		name    string
		fake    fakeentra.Config
		cfg     EntraConfig
		wantErr error // nil: success; errAny: some error
		check   func(t *testing.T, id *Identity)
	}{
		{name: "single tenant", fake: fakeentra.Config{User: ada}, cfg: EntraConfig{Tenant: fakeentra.Contoso},
			check: func(t *testing.T, id *Identity) {
				u := id.User
				if u.Provider != "entra" || u.Subject == "" || u.Email != "ada@contoso.com" || u.Name != "Ada Lovelace" {
					t.Errorf("user %+v", u)
				}
				if id.Tokens.RefreshToken == "" {
					t.Error("no refresh token: offline_access is a default scope")
				}
			}},
		{name: "single tenant by domain", fake: fakeentra.Config{User: ada, Domains: map[string]string{"contoso.onmicrosoft.com": fakeentra.Contoso}},
			cfg: EntraConfig{Tenant: "contoso.onmicrosoft.com"}},
		{name: "single tenant, upper-case GUID", fake: fakeentra.Config{User: ada}, cfg: EntraConfig{Tenant: strings.ToUpper(fakeentra.Contoso)}},
		{name: "single tenant, another tenant's user", fake: fakeentra.Config{User: grace}, cfg: EntraConfig{Tenant: fakeentra.Contoso}, wantErr: errAny},
		{name: "common, allowed tenant", fake: fakeentra.Config{User: ada}, cfg: allowContoso,
			check: func(t *testing.T, id *Identity) {
				if !strings.HasSuffix(id.User.Issuer, "/common/v2.0") {
					t.Errorf("issuer %q, want the provider's", id.User.Issuer)
				}
			}},
		{name: "organizations, allowed tenant", fake: fakeentra.Config{User: grace},
			cfg: EntraConfig{Tenant: "organizations", AllowedTenants: []string{fakeentra.Contoso, fakeentra.Fabrikam}}},
		{name: "common, tenant not allowed", fake: fakeentra.Config{User: grace}, cfg: allowContoso, wantErr: ErrNotAllowed},
		{name: "common, personal account not allowed", fake: fakeentra.Config{User: msa}, cfg: allowContoso, wantErr: ErrNotAllowed},
		{name: "common, personal account allowed", fake: fakeentra.Config{User: msa},
			cfg: EntraConfig{Tenant: "common", AllowedTenants: []string{fakeentra.Consumers}}},
		{name: "common, any tenant", fake: fakeentra.Config{User: grace}, cfg: EntraConfig{Tenant: "common", InsecureAllowAnyTenant: true}},
		{name: "organizations, any tenant, personal account refused", fake: fakeentra.Config{User: ada,
			// Entra's authorization endpoint refuses a personal account
			// at organizations; a token that has one anyway is refused.
			Claims: func(c map[string]any) {
				c["tid"], c["iss"] = fakeentra.Consumers, strings.Replace(c["iss"].(string), fakeentra.Contoso, fakeentra.Consumers, 1)
			}},
			cfg: EntraConfig{Tenant: "organizations", InsecureAllowAnyTenant: true}, wantErr: ErrNotAllowed},
		{name: "consumers", fake: fakeentra.Config{User: msa}, cfg: EntraConfig{Tenant: "consumers"},
			check: func(t *testing.T, id *Identity) {
				if id.User.Email != "" {
					t.Errorf("email %q kept without xms_edov", id.User.Email)
				}
			}},
		{name: "kept claims beside tid and oid", fake: fakeentra.Config{User: ada, Claims: func(c map[string]any) { c["department"] = "R&D" }},
			cfg: EntraConfig{Tenant: fakeentra.Contoso, KeepClaims: []string{"department"}},
			check: func(t *testing.T, id *Identity) {
				var dept, tid string
				if ok, err := id.User.Claim("department", &dept); !ok || err != nil || dept != "R&D" {
					t.Errorf("department %q (%v, %v)", dept, ok, err)
				}
				if ok, _ := id.User.Claim("tid", &tid); !ok || tid != fakeentra.Contoso {
					t.Errorf("tid %q, want %s beside the kept claims", tid, fakeentra.Contoso)
				}
				if _, ok := id.User.Claims["oid"]; !ok {
					t.Error("oid not kept beside the kept claims")
				}
			}},
		// keep() admits 4 KiB exactly; tid and oid on top must refuse the
		// login by name, not fail when the session is saved.
		{name: "kept claims at the bound, with tid and oid over it", fake: fakeentra.Config{User: ada, Claims: func(c map[string]any) {
			big := strings.Repeat("x", 1020)
			c["c1"], c["c2"], c["c3"], c["c4"] = big, big, big, big
		}}, cfg: EntraConfig{Tenant: fakeentra.Contoso, KeepClaims: []string{"c1", "c2", "c3", "c4"}}, wantErr: ErrInvalidResponse},
		{name: "consumers, work account", fake: fakeentra.Config{User: ada}, cfg: EntraConfig{Tenant: "consumers"}, wantErr: errAny},
		{name: "iss of another tenant than tid", fake: fakeentra.Config{User: ada, Claims: func(c map[string]any) {
			c["iss"] = strings.Replace(c["iss"].(string), fakeentra.Contoso, fakeentra.Fabrikam, 1)
		}}, cfg: EntraConfig{Tenant: "common", AllowedTenants: []string{fakeentra.Contoso, fakeentra.Fabrikam}}, wantErr: errAny},
		{name: "tid of another tenant than iss", fake: fakeentra.Config{User: ada, Claims: func(c map[string]any) { c["tid"] = fakeentra.Fabrikam }},
			cfg: EntraConfig{Tenant: "common", AllowedTenants: []string{fakeentra.Contoso, fakeentra.Fabrikam}}, wantErr: errAny},
		{name: "tid of another tenant, single tenant", fake: fakeentra.Config{User: ada, Claims: func(c map[string]any) { c["tid"] = fakeentra.Fabrikam }},
			cfg: EntraConfig{Tenant: fakeentra.Contoso}, wantErr: errAny},
		{name: "tid of another tenant than iss, key scoped to iss", fake: fakeentra.Config{User: ada,
			KeyIssuer: "{iss}", Claims: func(c map[string]any) { c["tid"] = fakeentra.Fabrikam }},
			cfg: EntraConfig{Tenant: "common", AllowedTenants: []string{fakeentra.Contoso, fakeentra.Fabrikam}}, wantErr: errAny},
		{name: "tid of another tenant, single tenant, key scoped to iss", fake: fakeentra.Config{User: ada,
			KeyIssuer: "{iss}", Claims: func(c map[string]any) { c["tid"] = fakeentra.Fabrikam }},
			cfg: EntraConfig{Tenant: fakeentra.Contoso}, wantErr: errAny},
		{name: "tid missing", fake: fakeentra.Config{User: ada, Claims: func(c map[string]any) { delete(c, "tid") }},
			cfg: allowContoso, wantErr: errAny},
		{name: "tid not a GUID", fake: fakeentra.Config{User: ada, Claims: func(c map[string]any) {
			c["tid"], c["iss"] = "contoso.com", strings.Replace(c["iss"].(string), fakeentra.Contoso, "contoso.com", 1)
		}}, cfg: EntraConfig{Tenant: "common", InsecureAllowAnyTenant: true}, wantErr: errAny},
		{name: "iss is the template itself", fake: fakeentra.Config{User: ada, Claims: func(c map[string]any) {
			c["iss"] = strings.Replace(c["iss"].(string), fakeentra.Contoso, "{tenantid}", 1)
		}}, cfg: allowContoso, wantErr: errAny},
		{name: "signed with the personal accounts' key", fake: fakeentra.Config{User: ada, SigningKey: "msa"}, cfg: allowContoso, wantErr: errAny},
		{name: "key without issuer, multi-tenant", fake: fakeentra.Config{User: ada, KeyIssuer: "-"}, cfg: allowContoso, wantErr: errAny},
		{name: "key without issuer, single tenant", fake: fakeentra.Config{User: ada, KeyIssuer: "-"}, cfg: EntraConfig{Tenant: fakeentra.Contoso}},
		{name: "key of another tenant, single tenant", fake: fakeentra.Config{User: ada, KeyIssuer: "http://127.0.0.1:1/" + fakeentra.Fabrikam + "/v2.0"},
			cfg: EntraConfig{Tenant: fakeentra.Contoso}, wantErr: errAny},
		{name: "email without xms_edov", fake: fakeentra.Config{User: fakeentra.User{Email: "ada@contoso.com"}}, cfg: allowContoso,
			check: func(t *testing.T, id *Identity) {
				if id.User.Email != "" {
					t.Errorf("email %q kept without xms_edov", id.User.Email)
				}
			}},
		{name: "email with xms_edov false", fake: fakeentra.Config{User: fakeentra.User{Email: "ada@contoso.com", EDOV: &no}}, cfg: allowContoso,
			check: func(t *testing.T, id *Identity) {
				if id.User.Email != "" {
					t.Errorf("email %q kept with xms_edov false", id.User.Email)
				}
			}},
		{name: "email_verified is not Entra's word", fake: fakeentra.Config{User: fakeentra.User{Email: "ada@contoso.com"},
			Claims: func(c map[string]any) { c["email_verified"] = true }}, cfg: allowContoso,
			check: func(t *testing.T, id *Identity) {
				if id.User.Email != "" {
					t.Errorf("email %q kept on email_verified", id.User.Email)
				}
			}},
		{name: "roles and groups", fake: fakeentra.Config{User: fakeentra.User{Roles: []string{"Admin", "Reader"}, Groups: []string{"a1b2", "Admin"}}}, cfg: allowContoso,
			check: func(t *testing.T, id *Identity) {
				if !slices.Equal(id.User.Groups, []string{"Admin", "Reader", "a1b2"}) {
					t.Errorf("groups %q, want the roles then the groups", id.User.Groups)
				}
			}},
		{name: "groups overage", fake: fakeentra.Config{User: fakeentra.User{Roles: []string{"Admin"}, Groups: []string{"a1b2"}, Overage: true}}, cfg: allowContoso,
			check: func(t *testing.T, id *Identity) {
				if !id.User.GroupsIncomplete || !slices.Equal(id.User.Groups, []string{"Admin"}) {
					t.Errorf("groups %q, incomplete %v: want the roles, and incomplete", id.User.Groups, id.User.GroupsIncomplete)
				}
			}},
		{name: "groups overage, roles only", fake: fakeentra.Config{User: fakeentra.User{Roles: []string{"Admin"}, Overage: true}},
			cfg: EntraConfig{Tenant: fakeentra.Contoso, GroupClaims: []string{"roles"}},
			check: func(t *testing.T, id *Identity) {
				if id.User.GroupsIncomplete {
					t.Error("incomplete, but the roles are all there")
				}
			}},
		{name: "hasgroups", fake: fakeentra.Config{Claims: func(c map[string]any) { c["hasgroups"] = true }}, cfg: allowContoso,
			check: func(t *testing.T, id *Identity) {
				if !id.User.GroupsIncomplete {
					t.Error("hasgroups without groups is not incomplete")
				}
			}},
		{name: "more groups than kept", fake: fakeentra.Config{User: fakeentra.User{Groups: manyGroups(200)}}, cfg: allowContoso,
			check: func(t *testing.T, id *Identity) {
				if !id.User.GroupsIncomplete || len(id.User.Groups) == 0 {
					t.Errorf("%d groups kept of 200, incomplete %v", len(id.User.Groups), id.User.GroupsIncomplete)
				}
			}},
		{name: "tenant and object id kept", fake: fakeentra.Config{User: fakeentra.User{Tenant: fakeentra.Fabrikam}},
			cfg: EntraConfig{Tenant: "organizations", AllowedTenants: []string{fakeentra.Fabrikam}},
			check: func(t *testing.T, id *Identity) {
				var tid, oid string
				if ok, err := id.User.Claim("tid", &tid); !ok || err != nil || tid != fakeentra.Fabrikam {
					t.Errorf("tid %q (%v, %v)", tid, ok, err)
				}
				if ok, err := id.User.Claim("oid", &oid); !ok || err != nil || oid == "" {
					t.Errorf("oid %q (%v, %v)", oid, ok, err)
				}
				if id.User.GroupsIncomplete {
					t.Error("no groups claim at all is not incomplete")
				}
			}},
		{name: "object id not a GUID left out", fake: fakeentra.Config{User: ada, Claims: func(c map[string]any) { c["oid"] = "not-an-object-id" }},
			cfg: allowContoso,
			check: func(t *testing.T, id *Identity) {
				if _, ok := id.User.Claims["oid"]; ok {
					t.Errorf("oid %s kept, not a GUID", id.User.Claims["oid"])
				}
				if _, ok := id.User.Claims["tid"]; !ok {
					t.Error("tid not kept")
				}
			}},
		{name: "roles only", fake: fakeentra.Config{User: fakeentra.User{Roles: []string{"Admin"}, Groups: []string{"a1b2"}}},
			cfg: EntraConfig{Tenant: fakeentra.Contoso, GroupClaims: []string{"roles"}},
			check: func(t *testing.T, id *Identity) {
				if !slices.Equal(id.User.Groups, []string{"Admin"}) {
					t.Errorf("groups %q, want the roles only", id.User.Groups)
				}
			}},
		{name: "groups only", fake: fakeentra.Config{User: fakeentra.User{Roles: []string{"Admin"}, Groups: []string{"a1b2"}}},
			cfg: EntraConfig{Tenant: fakeentra.Contoso, GroupClaims: []string{"groups"}},
			check: func(t *testing.T, id *Identity) {
				if !slices.Equal(id.User.Groups, []string{"a1b2"}) {
					t.Errorf("groups %q, want the groups only", id.User.Groups)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, p := entraFake(t, tc.fake, tc.cfg)
			id, _, err := loginWith(t, p, fake.Client(), entraRedirect, "")
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("login failed: %v", err)
			case tc.wantErr == errAny && err == nil, tc.wantErr != nil && tc.wantErr != errAny && !errors.Is(err, tc.wantErr):
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			case tc.wantErr != ErrNotAllowed && errors.Is(err, ErrNotAllowed):
				t.Fatalf("a verification failure became a refusal: %v", err)
			}
			if err != nil {
				return
			}
			if id.User.Issuer != p.Issuer() {
				t.Errorf("user's issuer %q, want the provider's %q (the middleware checks it on every request)", id.User.Issuer, p.Issuer())
			}
			if tc.check != nil {
				tc.check(t, id)
			}
		})
	}
}

// TestEntraRefresh: a multi-tenant session refreshes (the refreshed ID
// token's iss is the tenant's, the user's the provider's), and a
// refreshed token of another tenant is refused.
func TestEntraRefresh(t *testing.T) {
	var tenant atomic.Value
	tenant.Store(fakeentra.Contoso)
	fake, p := entraFake(t, fakeentra.Config{Claims: func(c map[string]any) {
		tid := tenant.Load().(string)
		c["tid"], c["iss"] = tid, strings.Replace(c["iss"].(string), fakeentra.Contoso, tid, 1)
	}}, EntraConfig{Tenant: "organizations", AllowedTenants: []string{fakeentra.Contoso, fakeentra.Fabrikam}})
	id, _, err := loginWith(t, p, fake.Client(), entraRedirect, "")
	if err != nil {
		t.Fatal(err)
	}
	s := session.New(id.User, id.Tokens, time.Now(), time.Hour)
	if _, err := p.Refresh(context.Background(), s); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	tenant.Store(fakeentra.Fabrikam)
	if _, err := p.Refresh(context.Background(), s); err == nil {
		t.Fatal("a refreshed ID token of another tenant was accepted")
	}
}

func manyGroups(n int) []string {
	g := make([]string, n)
	for i := range g {
		g[i] = fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
	}
	return g
}
