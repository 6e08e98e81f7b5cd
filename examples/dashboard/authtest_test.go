package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/middleware/authtest"
)

// TestAdminWithAuthtest runs the dashboard configured from its
// environment (ADMIN_GROUPS=admins), given authtest's provider: ada, of
// the admins group, enters /admin; grace, signed in too, gets 403 (as
// JSON: the client asks for no HTML).
func TestAdminWithAuthtest(t *testing.T) {
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	idp := authtest.NewProvider(t, authtest.Config{BaseURL: srv.URL, Name: "oidc", Users: testUsers()})
	id, secret := idp.ClientCredentials()
	env := map[string]string{
		"OIDC_ISSUER": idp.Server().Issuer(), "OIDC_CLIENT_ID": id, "OIDC_CLIENT_SECRET": secret, "BASE_URL": srv.URL,
		"ADMIN_GROUPS": "admins", "API_AUDIENCE": "dashboard-api",
	}
	h, err := run(t.Context(), func(k string) string { return env[k] }, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h

	for _, tc := range []struct {
		subject, want string
		code          int
	}{
		{"ada", "<h1>Dashboard</h1>", http.StatusOK},
		{"grace", `{"error":"forbidden"`, http.StatusForbidden},
	} {
		resp, err := idp.Client(t, tc.subject).Get(srv.URL + "/admin")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(body), tc.want) {
			t.Errorf("%s at /admin: %d, want %d with %q: %s", tc.subject, resp.StatusCode, tc.code, tc.want, body)
		}
	}
}
