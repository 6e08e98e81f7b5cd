package main

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/examples/internal/envkeys"
)

// TestMetrics signs in through the development provider, meets a callback
// with a state nobody started, signs out, and reads /metrics: each event
// is counted under its kind, provider, reason and logout kind.
func TestMetrics(t *testing.T) {
	appLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer opLn.Close()
	appURL := "http://" + appLn.Addr().String()
	keys, err := envkeys.SessionKeys("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	handler, err := app(appURL, opLn, "ada", keys, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler}
	go srv.Serve(appLn)
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	do := func(method, path string, hdr ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, appURL+path, nil)
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	// Sign in: /private → /auth/login → devoidc (signs ada in) → callback
	// → /private.
	if code, body := do("GET", "/private"); code != 200 || !strings.Contains(body, "Signed in as Ada Lovelace") {
		t.Fatalf("sign-in: %d %q", code, body)
	}
	if code, _ := do("GET", "/auth/callback/devoidc?state=nobody-started-this&code=x"); code != http.StatusBadRequest {
		t.Fatalf("a forged callback: %d", code)
	}
	if code, _ := do("POST", "/auth/logout", "Origin", appURL); code != 200 {
		t.Fatalf("sign-out: %d", code)
	}

	code, metrics := do("GET", "/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		"# TYPE portcullis_events_total counter",
		`portcullis_events_total{kind="login_started",logout="",provider="devoidc",reason=""} 1`,
		`portcullis_events_total{kind="login",logout="",provider="devoidc",reason=""} 1`,
		`portcullis_events_total{kind="state_invalid",logout="",provider="devoidc",reason="state_mismatch"} 1`,
		`portcullis_events_total{kind="logout",logout="local",provider="devoidc",reason=""} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, metrics)
		}
	}
	if strings.Contains(metrics, "ada") || strings.Contains(metrics, "u_") {
		t.Errorf("/metrics names the user:\n%s", metrics)
	}
}
