package providers

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/oidctest"
	"github.com/portcullis-go/portcullis/internal/shapedop"
	"github.com/portcullis-go/portcullis/session"
)

// The provider recipes of docs/providers/ (auth0.md, okta.md, keycloak.md,
// gitlab.md), each against a fake of the provider's documented shape
// (internal/shapedop). The documentation each shape comes from is cited
// there and in the pages.

// recipeProvider returns an OIDC provider configured with cfg at op: name,
// client and HTTP client are filled in; Issuer defaults to op's.
func recipeProvider(t *testing.T, op *shapedop.Server, cfg OIDCConfig) *Provider {
	t.Helper()
	cfg.Name = "idp"
	cfg.ClientID, cfg.ClientSecret, cfg.HTTPClient = oidctest.ClientID, oidctest.ClientSecret, op.Client()
	if cfg.Issuer == "" {
		cfg.Issuer = op.Issuer
	}
	p, err := OIDC(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// recipeLogin signs in at op through p and returns the identity and the
// authorization request's query.
func recipeLogin(t *testing.T, p *Provider, op *shapedop.Server) (*Identity, url.Values) {
	t.Helper()
	f := Flow{RedirectURL: "https://app.example/auth/callback/idp", Issuer: p.Issuer(), State: "state-" + randomHex(8),
		Nonce: "nonce-" + randomHex(8), Verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"}
	authURL, _ := url.Parse(authCodeURL(t, p, f))
	if !strings.HasPrefix(authURL.String(), op.URL()+"/") {
		t.Fatalf("authorization request to %s, not the provider's endpoint", authURL.Redacted())
	}
	c := op.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(authURL.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("authorization endpoint answered %d without a redirect", resp.StatusCode)
	}
	id, err := p.Callback(context.Background(), f, loc.Query())
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	return id, authURL.Query()
}

// followLogout sends the browser to an end-session URL and returns the
// status and Location of the provider's answer.
func followLogout(t *testing.T, op *shapedop.Server, end string) (int, string) {
	t.Helper()
	c := op.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(end)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

const recipePostLogout = "https://app.example/auth/logout/callback"

// TestRecipeAuth0: the issuer's trailing slash (a configuration without it
// is refused with the exact issuer to use), the API audience as an
// authorization parameter, roles from a namespaced custom claim, and
// RP-initiated logout only where the tenant advertises it.
func TestRecipeAuth0(t *testing.T) {
	op := shapedop.New(t, shapedop.Auth0, shapedop.Config{EndSession: true, PostLogoutRedirectURIs: []string{recipePostLogout}})
	if !strings.HasSuffix(op.Issuer, "/") {
		t.Fatalf("Auth0's issuer %q has no trailing slash", op.Issuer)
	}

	t.Run("issuer", func(t *testing.T) {
		for _, tc := range []struct {
			name, issuer, want string
		}{
			{"with the trailing slash", op.Issuer, ""},
			{"without it", strings.TrimSuffix(op.Issuer, "/"), `use exactly "` + op.Issuer + `"`},
			{"the discovery URL", op.Issuer + ".well-known/openid-configuration", "use the issuer, " + strings.TrimSuffix(op.Issuer, "/") + ","},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := OIDC(context.Background(), OIDCConfig{Name: "auth0", Issuer: tc.issuer, ClientID: oidctest.ClientID, HTTPClient: op.Client()})
				switch {
				case tc.want == "" && err != nil:
					t.Errorf("refused: %v", err)
				case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
					t.Errorf("error %v, want one saying %s", err, tc.want)
				}
			})
		}
	})

	t.Run("audience and namespaced roles", func(t *testing.T) {
		const claim = "https://example.com/roles"
		op.IDClaims = func(c oidctest.Claims) {
			c[claim] = []string{"admin", "billing"}
			c["roles"] = []string{"not-this-one"}
		}
		t.Cleanup(func() { op.IDClaims = nil })
		p := recipeProvider(t, op, OIDCConfig{
			AuthParams:  url.Values{"audience": {"https://api.example.com"}},
			GroupsClaim: []string{claim},
		})
		id, q := recipeLogin(t, p, op)
		if got := q["audience"]; !slices.Equal(got, []string{"https://api.example.com"}) {
			t.Errorf("audience = %q, want the API identifier once", got)
		}
		if !slices.Equal(id.User.Groups, []string{"admin", "billing"}) {
			t.Errorf("Groups = %q, want the namespaced claim's roles", id.User.Groups)
		}
	})

	t.Run("logout", func(t *testing.T) {
		p := recipeProvider(t, op, OIDCConfig{})
		id, _ := recipeLogin(t, p, op)
		end, err := p.EndSessionURL(context.Background(), id.Tokens.IDToken, recipePostLogout, "st-1")
		if err != nil || !strings.HasPrefix(end, op.LogoutURL()+"?") {
			t.Fatalf("EndSessionURL = %q, %v; want Auth0's /oidc/logout", end, err)
		}
		if status, loc := followLogout(t, op, end); status != http.StatusFound || loc != recipePostLogout+"?state=st-1" {
			t.Errorf("Auth0 answered %d, Location %q; want a redirect to the Allowed Logout URL with the state", status, loc)
		}
		// A tenant without "RP-Initiated Logout End Session Endpoint
		// Discovery" advertises no end_session_endpoint: the logout is
		// local only; portcullis never guesses /v2/logout.
		legacy := shapedop.New(t, shapedop.Auth0, shapedop.Config{})
		lp := recipeProvider(t, legacy, OIDCConfig{})
		if end, err := lp.EndSessionURL(context.Background(), id.Tokens.IDToken, recipePostLogout, "st-1"); end != "" || err != nil {
			t.Errorf("EndSessionURL without the endpoint = %q, %v; want \"\"", end, err)
		}
	})
}

// TestRecipeOkta: a custom authorization server's issuer has a path,
// discovery lives under it, groups come from the claim the server is
// configured to add, and a refresh token comes only with offline_access.
func TestRecipeOkta(t *testing.T) {
	op := shapedop.New(t, shapedop.Okta, shapedop.Config{PostLogoutRedirectURIs: []string{recipePostLogout}})
	if !strings.HasSuffix(op.Issuer, "/oauth2/default") {
		t.Fatalf("issuer %q is not a custom authorization server's", op.Issuer)
	}

	t.Run("issuer", func(t *testing.T) {
		for _, tc := range []struct {
			name, issuer, want string
		}{
			{"the custom authorization server", op.Issuer, ""},
			{"with a trailing slash", op.Issuer + "/", `use exactly "` + op.Issuer + `"`},
			// The org authorization server is another issuer, with its
			// own discovery document (absent from this fake).
			{"the org authorization server", op.URL(), "is Issuer the provider's issuer URL?"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := OIDC(context.Background(), OIDCConfig{Name: "okta", Issuer: tc.issuer, ClientID: oidctest.ClientID, HTTPClient: op.Client()})
				switch {
				case tc.want == "" && err != nil:
					t.Errorf("refused: %v", err)
				case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
					t.Errorf("error %v, want one saying %s", err, tc.want)
				}
			})
		}
	})

	op.IDClaims = func(c oidctest.Claims) { c["groups"] = []string{"Everyone", "Admins"} }
	for _, tc := range []struct {
		name    string
		scopes  []string
		refresh bool
	}{
		{"default scopes: no refresh token", nil, false},
		{"offline_access: a refresh token", []string{"openid", "profile", "email", "offline_access"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := recipeProvider(t, op, OIDCConfig{Scopes: tc.scopes})
			id, q := recipeLogin(t, p, op)
			if !slices.Equal(id.User.Groups, []string{"Everyone", "Admins"}) {
				t.Errorf("Groups = %q", id.User.Groups)
			}
			if got := id.Tokens.RefreshToken != ""; got != tc.refresh {
				t.Fatalf("refresh token %v, want %v (scope %q)", got, tc.refresh, q.Get("scope"))
			}
			if !tc.refresh {
				return
			}
			s := session.New(id.User, id.Tokens, time.Now(), time.Hour)
			if _, err := p.Refresh(context.Background(), s); err != nil {
				t.Errorf("refresh: %v", err)
			}
		})
	}

	t.Run("logout", func(t *testing.T) {
		p := recipeProvider(t, op, OIDCConfig{})
		id, _ := recipeLogin(t, p, op)
		end, err := p.EndSessionURL(context.Background(), id.Tokens.IDToken, recipePostLogout, "st-2")
		if err != nil || !strings.HasPrefix(end, op.Issuer+"/v1/logout?") {
			t.Fatalf("EndSessionURL = %q, %v", end, err)
		}
		if status, loc := followLogout(t, op, end); status != http.StatusFound || loc != recipePostLogout+"?state=st-2" {
			t.Errorf("Okta answered %d, Location %q", status, loc)
		}
	})
}

// TestRecipeKeycloak: the realm issuer (and the /auth prefix of Keycloak
// 16 and earlier), realm and client roles by GroupsClaim path, the logout
// URL Keycloak 18+ needs, and Keycloak's logout tokens.
func TestRecipeKeycloak(t *testing.T) {
	op := shapedop.New(t, shapedop.Keycloak, shapedop.Config{PostLogoutRedirectURIs: []string{recipePostLogout}})

	t.Run("issuer", func(t *testing.T) {
		legacy := shapedop.New(t, shapedop.KeycloakLegacy, shapedop.Config{})
		for _, tc := range []struct {
			name   string
			op     *shapedop.Server
			issuer string
			want   string
		}{
			{"/realms/{realm}", op, op.Issuer, ""},
			{"/auth/realms/{realm} on Keycloak 16", legacy, legacy.Issuer, ""},
			{"/realms/{realm} on Keycloak 16", legacy, legacy.URL() + "/realms/" + shapedop.Realm, "is Issuer the provider's issuer URL?"},
			{"/auth/realms/{realm} on Keycloak 17+", op, op.URL() + "/auth/realms/" + shapedop.Realm, "is Issuer the provider's issuer URL?"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := OIDC(context.Background(), OIDCConfig{Name: "keycloak", Issuer: tc.issuer, ClientID: oidctest.ClientID, HTTPClient: tc.op.Client()})
				switch {
				case tc.want == "" && err != nil:
					t.Errorf("refused: %v", err)
				case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
					t.Errorf("error %v, want one saying %s", err, tc.want)
				}
			})
		}
	})

	t.Run("roles", func(t *testing.T) {
		// https://www.keycloak.org/docs/latest/server_admin/#_oidc_token_role_mappings:
		// realm roles in realm_access.roles, client roles in
		// resource_access.{client}.roles (added to the ID token when the
		// mappers' "Add to ID token" is on).
		op.IDClaims = func(c oidctest.Claims) {
			c["realm_access"] = map[string]any{"roles": []string{"offline_access", "admin"}}
			c["resource_access"] = map[string]any{
				"portcullis": map[string]any{"roles": []string{"editor"}},
				"account":    map[string]any{"roles": []string{"manage-account"}},
			}
		}
		t.Cleanup(func() { op.IDClaims = nil })
		for _, tc := range []struct {
			name  string
			claim []string
			want  []string
		}{
			{"realm roles", []string{"realm_access", "roles"}, []string{"offline_access", "admin"}},
			{"client roles", []string{"resource_access", "portcullis", "roles"}, []string{"editor"}},
			{"another client's roles", []string{"resource_access", "account", "roles"}, []string{"manage-account"}},
			{"no such client", []string{"resource_access", "nobody", "roles"}, nil},
			{"the default groups claim", nil, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				id, _ := recipeLogin(t, recipeProvider(t, op, OIDCConfig{GroupsClaim: tc.claim}), op)
				if !slices.Equal(id.User.Groups, tc.want) {
					t.Errorf("Groups = %q, want %q", id.User.Groups, tc.want)
				}
			})
		}
	})

	t.Run("logout", func(t *testing.T) {
		p := recipeProvider(t, op, OIDCConfig{})
		id, _ := recipeLogin(t, p, op)
		for _, tc := range []struct {
			name     string
			hint     string
			redirect string
			status   int
			location string
		}{
			// What portcullis sends: id_token_hint, client_id,
			// post_logout_redirect_uri and state.
			{"with the session's ID token", id.Tokens.IDToken, recipePostLogout, http.StatusFound, recipePostLogout + "?state=st-3"},
			// A session without an ID token still names the client: no
			// "Missing parameters" error, but Keycloak asks the user to
			// confirm and does not come back.
			{"without an ID token", "", recipePostLogout, http.StatusOK, ""},
			{"an unregistered post-logout URI", id.Tokens.IDToken, "https://app.example/elsewhere", http.StatusBadRequest, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				end, err := p.EndSessionURL(context.Background(), tc.hint, tc.redirect, "st-3")
				if err != nil || !strings.HasPrefix(end, op.Issuer+"/protocol/openid-connect/logout?") {
					t.Fatalf("EndSessionURL = %q, %v", end, err)
				}
				u, _ := url.Parse(end)
				if q := u.Query(); q.Get("client_id") != oidctest.ClientID || q.Get("post_logout_redirect_uri") != tc.redirect || q.Has("redirect_uri") {
					t.Errorf("logout query has %q: want client_id and post_logout_redirect_uri, never redirect_uri", slices.Sorted(maps.Keys(q)))
				}
				if status, loc := followLogout(t, op, end); status != tc.status || loc != tc.location {
					t.Errorf("Keycloak answered %d, Location %q; want %d, %q", status, loc, tc.status, tc.location)
				}
			})
		}
		// The fake holds Keycloak's rule: without client_id and hint,
		// post_logout_redirect_uri is refused (what a client sending only
		// the redirect would meet).
		if status, _ := followLogout(t, op, op.LogoutURL()+"?post_logout_redirect_uri="+url.QueryEscape(recipePostLogout)); status != http.StatusBadRequest {
			t.Errorf("the fake accepted a post_logout_redirect_uri alone: %d", status)
		}
	})

	t.Run("back-channel logout token", func(t *testing.T) {
		p := recipeProvider(t, op, OIDCConfig{})
		// Keycloak's logout token (DefaultTokenManager.initLogoutToken):
		// header typ "logout+jwt", a payload "typ" of "Logout", sid when
		// "Backchannel logout session required" is on, and
		// "revoke_offline_access": true beside the logout event when
		// "Backchannel logout revoke offline sessions" is on.
		token := func(events map[string]any) string {
			now := time.Now()
			return op.OP.Sign(oidctest.Claims{
				"iss": op.Issuer, "aud": oidctest.ClientID, "sub": "f3b1c2d4", "sid": "kc-session-1", "typ": "Logout",
				"iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(), "jti": "jti-" + randomHex(8), "events": events,
			}, oidctest.Header{Typ: "logout+jwt"})
		}
		lt, err := p.VerifyLogoutToken(context.Background(), token(map[string]any{backchannelLogoutEvent: map[string]any{}}))
		if err != nil || lt.SID != "kc-session-1" || lt.Subject != "f3b1c2d4" {
			t.Errorf("Keycloak's logout token: %+v, %v", lt, err)
		}
		// With "Backchannel logout revoke offline sessions" on, the token
		// carries "revoke_offline_access": true beside the logout event,
		// which portcullis accepts (BCL-05); any other member is refused.
		for _, revoke := range []bool{true, false} {
			lt, err := p.VerifyLogoutToken(context.Background(), token(map[string]any{backchannelLogoutEvent: map[string]any{}, "revoke_offline_access": revoke}))
			if err != nil || lt.SID != "kc-session-1" {
				t.Errorf("Keycloak's logout token with revoke_offline_access %v: %+v, %v", revoke, lt, err)
			}
		}
		if _, err := p.VerifyLogoutToken(context.Background(), token(map[string]any{backchannelLogoutEvent: map[string]any{}, "revoke_offline_access": true, "urn:x": map[string]any{}})); err == nil {
			t.Error("a logout token with a third member in events accepted")
		}
	})
}

// TestRecipeGitLab: plain OpenID Connect at the instance's origin; groups
// from groups_direct (ID token) or, with UserInfo, from "groups" and the
// role claims that only UserInfo carries; email kept only when verified.
func TestRecipeGitLab(t *testing.T) {
	op := shapedop.New(t, shapedop.GitLab, shapedop.Config{})
	// https://docs.gitlab.com/integration/openid_connect_provider/:
	// groups_direct is in the ID token only; groups and
	// https://gitlab.org/claims/groups/{owner,maintainer,developer} are
	// in UserInfo only.
	const owner = "https://gitlab.org/claims/groups/owner"
	op.IDClaims = func(c oidctest.Claims) { c["groups_direct"] = []string{"acme/infra"} }
	op.UserInfoClaims = func(c oidctest.Claims) {
		c["groups"] = []string{"acme", "acme/infra"}
		c[owner] = []string{"acme/infra"}
	}
	for _, tc := range []struct {
		name     string
		claim    []string
		userInfo bool
		want     []string
	}{
		{"groups_direct from the ID token", []string{"groups_direct"}, false, []string{"acme/infra"}},
		{"groups_direct kept when UserInfo lacks it", []string{"groups_direct"}, true, []string{"acme/infra"}},
		{"groups needs UserInfo", nil, false, nil},
		{"groups from UserInfo", nil, true, []string{"acme", "acme/infra"}},
		{"groups the user owns, from UserInfo", []string{owner}, true, []string{"acme/infra"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := recipeProvider(t, op, OIDCConfig{Scopes: []string{"openid", "profile", "email"}, GroupsClaim: tc.claim, UserInfo: tc.userInfo})
			id, _ := recipeLogin(t, p, op)
			if !slices.Equal(id.User.Groups, tc.want) {
				t.Errorf("Groups = %q, want %q", id.User.Groups, tc.want)
			}
			if end, err := p.EndSessionURL(context.Background(), id.Tokens.IDToken, recipePostLogout, "s"); end != "" || err != nil {
				t.Errorf("EndSessionURL = %q, %v; GitLab has no end_session_endpoint", end, err)
			}
		})
	}

	t.Run("email_verified", func(t *testing.T) {
		defer func(f func(oidctest.Claims)) { op.IDClaims = f }(op.IDClaims)
		for _, tc := range []struct {
			name     string
			verified any // nil: the claim is absent
			want     string
		}{
			{"verified", true, "user@example.com"},
			{"not verified", false, ""},
			{"absent (no email scope)", nil, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				op.IDClaims = func(c oidctest.Claims) {
					c["email"] = "user@example.com"
					delete(c, "email_verified")
					if tc.verified != nil {
						c["email_verified"] = tc.verified
					}
				}
				id, _ := recipeLogin(t, recipeProvider(t, op, OIDCConfig{}), op)
				if id.User.Email != tc.want {
					t.Errorf("Email = %q, want %q", id.User.Email, tc.want)
				}
			})
		}
	})
}
