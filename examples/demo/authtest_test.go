package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/middleware/authtest"
	"github.com/portcullis-go/portcullis/providers"
)

// TestPrivateWithAuthtest tests the demo's pages with authtest: a user
// signed in through the whole flow sees their name on /private; a browser
// signed out is sent to sign in.
func TestPrivateWithAuthtest(t *testing.T) {
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	idp := authtest.NewProvider(t, authtest.Config{BaseURL: srv.URL, Name: "devoidc"})
	keys := [][]byte{[]byte("demo-test-key-demo-test-key-0123")}
	h, err := newApp(appConfig{URL: srv.URL, Providers: []*providers.Provider{idp.Provider()}, Keys: keys, Logger: slog.New(slog.DiscardHandler)})
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
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Hello, Ada Lovelace</h1>") {
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
