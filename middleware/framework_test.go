package middleware

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRefreshReachesFrameworkWriter: a framework whose handlers write to
// a writer of its own (gin's c.Writer), not to the one Require hands on,
// still sends the refreshed session cookie: the session is written into
// the response's header map, which both writers share, as soon as it
// changes. Two refreshes in one request leave one session cookie (the
// second replaces the first's lines), the application's own cookie is
// kept, and the response is private. The next request with that cookie
// carries the newest tokens, and no spent refresh token is replayed.
func TestRefreshReachesFrameworkWriter(t *testing.T) {
	e := newE2E(t, false, func(c *Config) { c.RefreshBefore = time.Second })
	mux := http.NewServeMux()
	mux.Handle("/auth/", e.auth.Handler())
	mux.HandleFunc("/call", func(fw http.ResponseWriter, r *http.Request) {
		// fw is the framework's writer; its handlers never see Require's.
		http.SetCookie(fw, &http.Cookie{Name: "app", Value: "kept"})
		fw.Header().Set("Cache-Control", "max-age=60")
		e.auth.Require(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			for range 2 {
				if _, err := e.auth.TokenSource(r).Token(); err != nil {
					http.Error(fw, "token", http.StatusBadGateway)
					return
				}
			}
			s, _ := SessionFrom(r.Context())
			io.WriteString(fw, s.Tokens.AccessToken)
		})).ServeHTTP(fw, r)
	})
	mux.Handle("/token", tokenRoute(e.auth))
	e.app.Config.Handler = mux
	cookies := e.login()

	// 4m55s later the token has 5 s left: not due for Require (RefreshBefore
	// 1 s), but too close for TokenSource (10 s margin); the refreshed one,
	// issued on devoidc's real clock, is as close again.
	later(e.auth, 4*time.Minute+55*time.Second)
	req, _ := http.NewRequest(http.MethodGet, e.app.URL+"/call", nil)
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || e.op.Stats().Refreshes != 2 {
		t.Fatalf("status %d, refreshes %d, want 200 after 2 refreshes", resp.StatusCode, e.op.Stats().Refreshes)
	}
	names := map[string]int{}
	for _, c := range resp.Cookies() {
		names[c.Name]++
	}
	if names["app"] != 1 || names["portcullis"] != 1 || len(names) != 2 {
		t.Fatalf("Set-Cookie names %v, want the application's cookie and one session cookie", names)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "private") || !strings.Contains(cc, "max-age=60") {
		t.Errorf("Cache-Control %q, want private and the application's max-age", cc)
	}
	if v := resp.Header.Values("Vary"); len(v) != 1 || v[0] != "Cookie" {
		t.Errorf("Vary %q, want Cookie once", v)
	}

	later(e.auth, 0)
	if code, tok, _ := get(t, e.app.URL+"/token", resp.Cookies()); code != http.StatusOK || tok != string(body) {
		t.Fatalf("next request with the new cookie: %d, newest token %v", code, tok == string(body))
	}
	if st := e.op.Stats(); st.Refreshes != 2 {
		t.Fatalf("refreshes %d after the next request, want 2", st.Refreshes)
	}
	noReplay(t, e)
}
