package middleware

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/internal/oidctest"
	"github.com/portcullis-go/portcullis/internal/shapedop"
	"github.com/portcullis-go/portcullis/middleware/policy"
	"github.com/portcullis-go/portcullis/providers"
)

// The recipes of docs/providers/ end to end through the middleware, each
// against a fake of the provider's documented shape (internal/shapedop).

// recipeApp is an application with one provider named "idp" at op, a
// group-protected /admin and a browser (cookie jar, no automatic
// redirects).
type recipeApp struct {
	t      *testing.T
	app    *httptest.Server
	op     *shapedop.Server
	client *http.Client
}

func newRecipeApp(t *testing.T, op *shapedop.Server, cfg providers.OIDCConfig, group string) *recipeApp {
	t.Helper()
	scanOIDCTest(t, op.OP)
	app := httptest.NewServer(nil)
	t.Cleanup(app.Close)
	cfg.Name, cfg.Issuer = "idp", op.Issuer
	cfg.ClientID, cfg.ClientSecret, cfg.HTTPClient = oidctest.ClientID, oidctest.ClientSecret, op.Client()
	p, err := providers.OIDC(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := newAuth(t, Config{BaseURL: app.URL, Providers: []*providers.Provider{p}, Keys: [][]byte{testKey}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("/admin", auth.RequireWith(policy.Groups(group))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "admin page")
	})))
	app.Config.Handler = mux
	jar, _ := cookiejar.New(nil)
	c := op.Client()
	c.Jar, c.CheckRedirect = jar, func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &recipeApp{t: t, app: app, op: op, client: tapClient(t, auth, c)}
}

// do sends a browser request (a path is on the app) and returns the
// response, its body read.
func (a *recipeApp) do(method, rawURL string) (*http.Response, string) {
	a.t.Helper()
	if strings.HasPrefix(rawURL, "/") {
		rawURL = a.app.URL + rawURL
	}
	req, _ := http.NewRequest(method, rawURL, nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	if method == http.MethodPost {
		req.Header.Set("Origin", a.app.URL)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	resp, err := a.client.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// signIn follows the whole login from /admin and returns the final
// answer of /admin.
func (a *recipeApp) signIn() (*http.Response, string) {
	a.t.Helper()
	next := "/admin"
	for range 6 {
		resp, body := a.do(http.MethodGet, next)
		loc := resp.Header.Get("Location")
		if resp.StatusCode/100 != 3 || loc == "" {
			return resp, body
		}
		u, err := resp.Request.URL.Parse(loc)
		if err != nil {
			a.t.Fatal(err)
		}
		next = u.String()
	}
	a.t.Fatal("too many redirects")
	return nil, ""
}

// TestRecipeKeycloakRoles: Keycloak's realm and client roles, read through
// GroupsClaim, open a policy.Groups route end to end, and a user without
// the role is refused with 403.
func TestRecipeKeycloakRoles(t *testing.T) {
	for _, tc := range []struct {
		name   string
		claim  []string
		group  string
		status int
	}{
		{"realm role", []string{"realm_access", "roles"}, "admin", http.StatusOK},
		{"client role", []string{"resource_access", oidctest.ClientID, "roles"}, "editor", http.StatusOK},
		{"a realm role is not a client role", []string{"resource_access", oidctest.ClientID, "roles"}, "admin", http.StatusForbidden},
		{"roles without GroupsClaim", nil, "admin", http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := shapedop.New(t, shapedop.Keycloak, shapedop.Config{})
			op.IDClaims = func(c oidctest.Claims) {
				c["realm_access"] = map[string]any{"roles": []string{"default-roles-demo", "admin"}}
				c["resource_access"] = map[string]any{oidctest.ClientID: map[string]any{"roles": []string{"editor"}}}
			}
			a := newRecipeApp(t, op, providers.OIDCConfig{GroupsClaim: tc.claim}, tc.group)
			resp, body := a.signIn()
			if resp.StatusCode != tc.status {
				t.Fatalf("/admin after sign-in: %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status == http.StatusOK && body != "admin page" {
				t.Errorf("/admin body %q", body)
			}
		})
	}
}

// TestRecipeKeycloakLogout: the sign-out sends the browser to Keycloak's
// logout endpoint with what Keycloak 18+ needs to come back without a
// confirmation page (id_token_hint, client_id, the registered
// post_logout_redirect_uri {BASE_URL}/auth/logout/callback, state);
// Keycloak redirects there, and the callback continues to the return
// path. Unregistered, Keycloak refuses the redirect.
func TestRecipeKeycloakLogout(t *testing.T) {
	for _, tc := range []struct {
		name       string
		register   bool
		status     int // Keycloak's answer
		returnedTo string
	}{
		{"registered post-logout redirect URI", true, http.StatusFound, "/bye"},
		{"not registered", false, http.StatusBadRequest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := shapedop.New(t, shapedop.Keycloak, shapedop.Config{})
			op.IDClaims = func(c oidctest.Claims) { c["realm_access"] = map[string]any{"roles": []string{"admin"}} }
			a := newRecipeApp(t, op, providers.OIDCConfig{GroupsClaim: []string{"realm_access", "roles"}}, "admin")
			callback := a.app.URL + "/auth/logout/callback"
			if tc.register {
				op.AllowPostLogoutRedirect(callback)
			}
			if resp, _ := a.signIn(); resp.StatusCode != http.StatusOK {
				t.Fatalf("sign-in: /admin %d", resp.StatusCode)
			}
			resp, _ := a.do(http.MethodPost, "/auth/logout?return_to=/bye")
			end, err := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusSeeOther || err != nil || !strings.HasPrefix(end.String(), op.LogoutURL()+"?") {
				t.Fatalf("logout: %d to %q, want Keycloak's logout endpoint", resp.StatusCode, end.Redacted())
			}
			q := end.Query()
			if q.Get("id_token_hint") == "" || q.Get("client_id") != oidctest.ClientID || q.Get("post_logout_redirect_uri") != callback || q.Get("state") == "" || q.Has("redirect_uri") {
				t.Errorf("logout parameters %q: want id_token_hint, client_id, post_logout_redirect_uri %s and state", slices.Sorted(maps.Keys(q)), callback)
			}
			resp, _ = a.do(http.MethodGet, end.String())
			if resp.StatusCode != tc.status {
				t.Fatalf("Keycloak answered %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.returnedTo == "" {
				return
			}
			back := resp.Header.Get("Location")
			if !strings.HasPrefix(back, callback+"?state=") {
				t.Fatalf("Keycloak redirected to %q, want %s with the state", back, callback)
			}
			resp, _ = a.do(http.MethodGet, back)
			if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != tc.returnedTo {
				t.Errorf("logout callback: %d to %q, want %s", resp.StatusCode, loc, tc.returnedTo)
			}
			if resp, _ := a.do(http.MethodGet, "/admin"); resp.StatusCode == http.StatusOK {
				t.Error("/admin still open after logout")
			}
		})
	}
}
