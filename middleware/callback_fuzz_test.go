package middleware

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzCallbackQuery sends arbitrary callback queries, with and without a
// real flow cookie, to /auth/callback/dev: the callback never panics,
// never answers 2xx or 5xx, never redirects, never sets a session cookie,
// and never puts a script in its page.
func FuzzCallbackQuery(f *testing.F) {
	a := newTestAuth(f)
	rec := serve(a.Handler(), "GET", "https://app.example/auth/login", nil)
	flowCookie := rec.Result().Cookies()[0]
	for _, q := range []string{
		"", "state=x", "code=c&state=s", "error=access_denied&state=s&error_description=%3Cscript%3E",
		"state=a&state=b", "code=a&code=b&state=s", "iss=https%3A%2F%2Fevil&code=c&state=s",
		"access_token=x&state=s", "state=" + strings.Repeat("A", 2000), "%zz", "code=%00&state=s",
	} {
		f.Add(q, false)
		f.Add(q, true)
	}
	h := a.Handler()
	f.Fuzz(func(t *testing.T, rawQuery string, withFlow bool) {
		req := httptest.NewRequest("GET", "https://app.example/auth/callback/dev", nil)
		req.URL.RawQuery = rawQuery
		req.Header.Set("Accept", "text/html")
		if withFlow {
			req.AddCookie(flowCookie)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code < 400 || rec.Code >= 500 {
			t.Fatalf("query %q: status %d", rawQuery, rec.Code)
		}
		for _, c := range rec.Result().Cookies() {
			if !strings.Contains(c.Name, "-flow.") && c.Value != "" {
				t.Fatalf("query %q set cookie %s", rawQuery, c.Name)
			}
		}
		if strings.Contains(rec.Body.String(), "<script") {
			t.Fatalf("query %q reflected in the page", rawQuery)
		}
		if loc := rec.Header().Get("Location"); loc != "" {
			t.Fatalf("query %q redirected to %q", rawQuery, loc)
		}
	})
}
