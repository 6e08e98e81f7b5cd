package redisstore

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/internal/clustertest"
	"github.com/portcullis-go/portcullis/middleware"
)

// BenchmarkRequire is Auth.Require for one request of a signed-in session,
// in process (no HTTP), with the four combinations of session store and
// revocation list, as sub-benchmarks so that one `go test -bench` run
// interleaves them (-count=6: six rounds of the four):
//
//   - cookie: the default cookie store and the in-memory revocation list
//     (one instance), the baseline;
//   - cookie+shared: the same with Config.Shared (Redis), the revocation
//     check answering from the instance's mirror (a Redis round trip once
//     per SharedStaleness, amortised);
//   - redis: sessions in Store (one GET per request), in-memory revocations;
//   - redis+shared: Store and Config.Shared, as two instances would run.
//
// The session's token is not due for a refresh (RefreshBefore's default of
// a minute, devoidc's 5-minute tokens) and there is no idle timeout, so
// nothing is written on the way.
func BenchmarkRequire(b *testing.B) {
	for _, bc := range []struct {
		name          string
		redisSessions bool
		shared        bool
	}{
		{"cookie", false, false},
		{"cookie+shared", false, true},
		{"redis", true, false},
		{"redis+shared", true, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := startCluster(b, clusterConfig{
				redisSessions: bc.redisSessions,
				provider:      newDevOP(b, nil).provider,
				edit: func(i int, mc *middleware.Config) {
					mc.RefreshBefore = 0
					if !bc.shared {
						mc.Shared = nil
					}
				},
				n: 1,
			})
			browser := clustertest.Browser()
			if r, _ := clustertest.Follow(b, browser, c.URL+"/private"); r.Status != http.StatusOK {
				b.Fatalf("sign-in: %d", r.Status)
			}
			h := c.Auths[0].Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				u, _ := middleware.UserFrom(r.Context())
				io.WriteString(w, u.Subject)
			}))
			req := httptest.NewRequest(http.MethodGet, c.URL+"/private", nil)
			req.Header.Set("Accept", "application/json")
			for _, ck := range c.SessionCookies(browser) {
				req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
			}
			w := &benchWriter{h: http.Header{}}
			h.ServeHTTP(w, req)
			if w.code != http.StatusOK || w.body.String() != "ada" || len(w.h["Set-Cookie"]) != 0 {
				b.Fatalf("warm-up request: %d %q, Set-Cookie %q", w.code, w.body.String(), w.h["Set-Cookie"])
			}
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				h.ServeHTTP(w, req)
				if w.code != http.StatusOK {
					b.Fatalf("status %d", w.code)
				}
			}
		})
	}
}

// benchWriter is a ResponseWriter reused across iterations.
type benchWriter struct {
	h    http.Header
	code int
	body strings.Builder
}

func (w *benchWriter) Header() http.Header { return w.h }
func (w *benchWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *benchWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}
func (w *benchWriter) reset() {
	clear(w.h)
	w.code = 0
	w.body.Reset()
}
