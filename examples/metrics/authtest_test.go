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

// TestSignInCounted signs ada in with authtest through the whole flow:
// /private greets her and /metrics counts one login, labelled with the
// provider and not the user.
func TestSignInCounted(t *testing.T) {
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	idp := authtest.NewProvider(t, authtest.Config{BaseURL: srv.URL, Name: "devoidc"})
	keys := [][]byte{[]byte("metrics-test-key-metrics-test-ke")}
	h, err := newApp(srv.URL, idp.Provider(), keys, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h

	c := idp.Client(t, "ada")
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/private"); code != http.StatusOK || !strings.Contains(body, "<p>Signed in as Ada Lovelace.</p>") {
		t.Errorf("/private: %d %s", code, body)
	}
	code, body := get("/metrics")
	if want := `portcullis_events_total{kind="login",logout="",provider="devoidc",reason=""} 1`; code != http.StatusOK || !strings.Contains(body, want) {
		t.Errorf("/metrics: %d, want %s in:\n%s", code, want, body)
	}
	if strings.Contains(body, "ada") {
		t.Errorf("/metrics names the user:\n%s", body)
	}
}
