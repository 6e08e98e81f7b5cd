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

// TestPrivateWithAuthtest runs the application configured from its
// environment, pointed at authtest's provider: ada, signed in through the
// whole flow, sees her claims on /private; a signed-out browser is sent
// to sign in.
func TestPrivateWithAuthtest(t *testing.T) {
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	idp := authtest.NewProvider(t, authtest.Config{BaseURL: srv.URL, Name: "oidc"})
	id, secret := idp.ClientCredentials()
	env := map[string]string{"OIDC_ISSUER": idp.Server().Issuer(), "OIDC_CLIENT_ID": id, "OIDC_CLIENT_SECRET": secret, "BASE_URL": srv.URL}
	h, err := run(t.Context(), func(k string) string { return env[k] }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h

	resp, err := idp.Client(t, "ada").Get(srv.URL + "/private")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<dt>Name</dt><dd>Ada Lovelace</dd><dt>Email</dt><dd>ada@example.com</dd>") {
		t.Errorf("ada at /private: %d %s", resp.StatusCode, body)
	}

	r := httptest.NewRequest("GET", "/private", nil)
	r.Header.Set("Accept", "text/html")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/auth/login?return_to=%2Fprivate" {
		t.Errorf("signed out at /private: %d %q", w.Code, w.Header().Get("Location"))
	}
}
