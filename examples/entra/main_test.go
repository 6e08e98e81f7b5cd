package main

import (
	"cmp"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/examples/internal/exampletest"
	"github.com/portcullis-go/portcullis/internal/fakeentra"
	"github.com/portcullis-go/portcullis/middleware/policy"
	"github.com/portcullis-go/portcullis/session"
)

// testEnv is a complete configuration with fake credentials. The
// authority is a loopback port where nothing listens, so discovery fails
// at once and providers.Entra returns a provider that discovers lazily: no
// test reaches Microsoft.
func testEnv(extra map[string]string) func(string) string {
	return exampletest.Env(map[string]string{
		"ENTRA_TENANT":        fakeentra.Contoso,
		"ENTRA_CLIENT_ID":     fakeentra.ClientID,
		"ENTRA_CLIENT_SECRET": fakeentra.ClientSecret,
		"ENTRA_AUTHORITY":     "http://127.0.0.1:1",
		"SESSION_KEYS":        exampletest.Keys,
	}, extra)
}

var discard = slog.New(slog.DiscardHandler)

// TestRequired checks that a missing or wrong variable stops the program
// with a message naming it.
func TestRequired(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra map[string]string
		want  string
	}{
		{"no tenant", map[string]string{"ENTRA_TENANT": ""}, "ENTRA_TENANT"},
		{"no client id", map[string]string{"ENTRA_CLIENT_ID": ""}, "ENTRA_CLIENT_ID"},
		{"no client secret", map[string]string{"ENTRA_CLIENT_SECRET": ""}, "ENTRA_CLIENT_SECRET"},
		{"bad session keys", map[string]string{"SESSION_KEYS": "not base64!"}, "SESSION_KEYS"},
		{"common without allowed tenants", map[string]string{"ENTRA_TENANT": "common"}, "AllowedTenants"},
		{"allowed tenant by domain", map[string]string{"ENTRA_TENANT": "organizations", "ENTRA_ALLOWED_TENANTS": "contoso.com"}, "not a tenant id"},
		{"bad tenant", map[string]string{"ENTRA_TENANT": "https://login.microsoftonline.com/common"}, "ENTRA_TENANT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t.Context(), testEnv(tc.extra), discard, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// TestPrivate visits /private signed in (authtest, through the app's own
// session store) and signed out, and / .
func TestPrivate(t *testing.T) {
	auth, err := newAuth(t.Context(), testEnv(nil), discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := routes(auth)
	t.Run("signed in", func(t *testing.T) {
		u := &session.User{Provider: "entra", Subject: "AAAAsub", Name: "Ada Lovelace", Groups: []string{"Admin"},
			Claims: map[string]json.RawMessage{"tid": json.RawMessage(`"` + fakeentra.Contoso + `"`)}}
		w := exampletest.Visit(t, h, auth, "/private", u)
		body := w.Body.String()
		for _, want := range []string{"<dd>Ada Lovelace</dd>", "<dd>(no verified email)</dd>", "<dd>AAAAsub</dd>", "<dd>" + fakeentra.Contoso + "</dd>", "<dd>Admin</dd>"} {
			if !strings.Contains(body, want) {
				t.Errorf("/private lacks %q: %s", want, body)
			}
		}
	})
	t.Run("signed out", func(t *testing.T) { exampletest.SignedOut(t, h, auth, "/private") })
	t.Run("public", func(t *testing.T) { exampletest.Public(t, h) })
}

// TestEndToEnd signs in through the app's own routes against
// internal/fakeentra: the authorization request, the fake's redirect to
// /auth/callback/entra, the code exchange, the ID token's checks, /private.
// /admin, added here, requires the group "g1" (policy.Groups).
func TestEndToEnd(t *testing.T) {
	yes := true
	for _, tc := range []struct {
		name      string
		env       map[string]string
		user      fakeentra.User
		claims    func(map[string]any)
		status    int      // of /private after signing in
		want      []string // on /private
		admin     int      // status of /admin, once signed in
		adminOnly bool     // visit /admin only
	}{
		{name: "single tenant", user: fakeentra.User{Email: "ada@contoso.com", EDOV: &yes, Roles: []string{"Admin"}, Groups: []string{"g1"}},
			status: 200, want: []string{"<dd>Ada Lovelace</dd>", "<dd>ada@contoso.com</dd>", "<dd>" + fakeentra.Contoso + "</dd>", "<dd>Admin</dd>", "<dd>g1</dd>"}, admin: 200},
		{name: "common, allowed tenant", env: map[string]string{"ENTRA_TENANT": "common", "ENTRA_ALLOWED_TENANTS": fakeentra.Contoso + ", " + fakeentra.Fabrikam},
			user:   fakeentra.User{Tenant: fakeentra.Fabrikam, Email: "grace@fabrikam.com"},
			status: 200, want: []string{"<dd>(no verified email)</dd>", "<dd>" + fakeentra.Fabrikam + "</dd>", "<dd>(none)</dd>"}, admin: 403},
		{name: "common, tenant not allowed", env: map[string]string{"ENTRA_TENANT": "common", "ENTRA_ALLOWED_TENANTS": fakeentra.Contoso},
			user: fakeentra.User{Tenant: fakeentra.Fabrikam}, status: 403},
		{name: "organizations, iss of another tenant than tid", env: map[string]string{"ENTRA_TENANT": "organizations", "ENTRA_ALLOWED_TENANTS": fakeentra.Contoso + "," + fakeentra.Fabrikam},
			claims: func(c map[string]any) { c["tid"] = fakeentra.Fabrikam }, status: 401},
		{name: "consumers", env: map[string]string{"ENTRA_TENANT": "consumers"}, user: fakeentra.User{Tenant: fakeentra.Consumers, Email: "alan@outlook.com"},
			status: 200, want: []string{"<dd>(no verified email)</dd>", "<dd>" + fakeentra.Consumers + "</dd>"}},
		{name: "groups overage: the group policy refuses", user: fakeentra.User{Groups: []string{"g1"}, Overage: true},
			status: 200, want: []string{"ask Microsoft Graph"}, admin: 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := httptest.NewServer(nil)
			defer app.Close()
			fake := fakeentra.New(fakeentra.Config{RedirectURIs: []string{app.URL + "/auth/callback/entra"}, User: tc.user, Claims: tc.claims})
			defer fake.Close()
			env := map[string]string{"ENTRA_AUTHORITY": fake.URL, "BASE_URL": app.URL}
			maps.Copy(env, tc.env)
			auth, err := newAuth(t.Context(), testEnv(env), discard, fake.Client())
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			mux.Handle("/", routes(auth))
			mux.Handle("GET /admin", auth.RequireWith(policy.Groups("g1"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "admin")
			})))
			app.Config.Handler = mux

			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar}
			get := func(path string) (int, string) {
				req, _ := http.NewRequestWithContext(t.Context(), "GET", app.URL+path, nil)
				req.Header.Set("Sec-Fetch-Mode", "navigate")
				req.Header.Set("Accept", "text/html")
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			status, body := get("/private")
			if status != tc.status {
				t.Fatalf("/private after signing in: %d, want %d: %s", status, tc.status, body)
			}
			for _, want := range tc.want {
				if !strings.Contains(body, want) {
					t.Errorf("/private lacks %q: %s", want, body)
				}
			}
			if len(fake.Requests("/"+strings.TrimPrefix(cmp.Or(tc.env["ENTRA_TENANT"], fakeentra.Contoso), "/")+"/oauth2/v2.0/token")) != 1 {
				t.Error("the code was not redeemed once at the tenant's token endpoint")
			}
			if tc.admin != 0 {
				if status, body := get("/admin"); status != tc.admin {
					t.Errorf("/admin: %d, want %d: %s", status, tc.admin, body)
				}
			}
		})
	}
}
