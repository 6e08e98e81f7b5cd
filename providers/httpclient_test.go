package providers

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "localhost.": true, "app.localhost": true,
		"127.0.0.1": true, "127.8.9.10": true, "::1": true, "[::1]": true,
		"example.com": false, "localhost.example.com": false, "127.0.0.1.nip.io": false,
		"10.0.0.1": false, "0.0.0.0": false, "::": false, "": false, "128.0.0.1": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestCheckEndpoint(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://op.example":              true,
		"https://op.example/tenant/x":     true,
		"http://127.0.0.1:9000":           true,
		"http://localhost/op":             true,
		"http://[::1]:80":                 true,
		"http://op.example":               false,
		"ftp://op.example":                false,
		"/relative":                       false,
		"https://user:pw@op.example":      false,
		"https://op.example/#frag":        false,
		"op.example":                      false,
		"http://127.0.0.1.evil.example/x": false,
	} {
		if err := checkEndpoint("issuer", raw); (err == nil) != ok {
			t.Errorf("checkEndpoint(%q) = %v, want ok=%v", raw, err, ok)
		}
	}
}

func TestHardenedClientRefusesRedirects(t *testing.T) {
	var evilHits int
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { evilHits++ }))
	defer evil.Close()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, evil.URL+"/steal", http.StatusTemporaryRedirect)
	}))
	defer ts.Close()
	// Even a caller's client that follows redirects is hardened.
	base := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
	resp, err := hardenedClient(base).Post(ts.URL, "application/x-www-form-urlencoded", strings.NewReader("code=secret"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || evilHits != 0 {
		t.Fatalf("status %d, redirect target hit %d times; want 307 and 0", resp.StatusCode, evilHits)
	}
}

func TestHardenedClientCapsBodies(t *testing.T) {
	for _, tc := range []struct {
		size    int
		wantErr bool
	}{{maxResponseSize, false}, {maxResponseSize + 1, true}, {2 * maxResponseSize, true}} {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(strings.Repeat("x", tc.size)))
		}))
		resp, err := hardenedClient(nil).Get(ts.URL)
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		ts.Close()
		if tc.wantErr != errors.Is(err, errResponseTooLarge) || n > maxResponseSize {
			t.Errorf("body of %d bytes: read %d, err %v; want error %v", tc.size, n, err, tc.wantErr)
		}
	}
}

func TestHardenedClientKeepsCallerSettings(t *testing.T) {
	base := &http.Client{Timeout: 3}
	c := hardenedClient(base)
	if c.Timeout != 3 || base.CheckRedirect != nil {
		t.Fatalf("caller's timeout not kept or caller's client modified")
	}
	if hardenedClient(nil).Timeout != requestTimeout {
		t.Fatal("default timeout not set")
	}
}
