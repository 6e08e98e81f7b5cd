package middleware

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/internal/fakegoogle"
	"github.com/portcullis-go/portcullis/providers"
)

// TestGoogleConsentRestart: a returning Google user who granted offline
// access before gets no refresh token; the callback restarts the login
// once with prompt=consent, which brings one. When even that brings none,
// the login completes without one: never a loop.
func TestGoogleConsentRestart(t *testing.T) {
	for _, tc := range []struct {
		name    string
		google  fakegoogle.Config
		private string // /private after the second callback
	}{
		{"refresh token after consent", fakegoogle.Config{OfflineGranted: true}, "google|108234567890123456789|ada@gmail.com||[]|refresh=true"},
		{"never a refresh token", fakegoogle.Config{OfflineGranted: true, NoRefreshTokens: true}, "google|108234567890123456789|ada@gmail.com||[]|refresh=false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTwoProviders(t, setup{google: tc.google, googleCfg: providers.GoogleConfig{Offline: true}})
			first := h.authorize("google")
			if first.Query().Get("access_type") != "offline" || first.Query().Has("prompt") {
				t.Fatalf("first authorization request: %v", first.Query())
			}
			resp, _ := h.get(h.answer(first).String())
			again, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || again.Query().Get("prompt") != "consent" || again.Query().Get("state") == first.Query().Get("state") {
				t.Fatalf("callback without a refresh token: %d %s, want a new login with prompt=consent", resp.StatusCode, resp.Header.Get("Location"))
			}
			h.noSession(resp)
			resp, _ = h.get(h.answer(again).String())
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/private" {
				t.Fatalf("second callback: %d %s", resp.StatusCode, resp.Header.Get("Location"))
			}
			if _, got := h.get("/private"); !strings.HasPrefix(got, tc.private) {
				t.Fatalf("/private shows %q, want %q…", got, tc.private)
			}
		})
	}
}
