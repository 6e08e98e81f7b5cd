package middleware

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/providers/devoidc"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// devProvider returns a provider named name backed by its own devoidc
// server that accepts redirects to baseURL's callback for name.
func devProvider(t testing.TB, name, baseURL string) *providers.Provider {
	t.Helper()
	ts := httptest.NewServer(nil)
	t.Cleanup(ts.Close)
	op, err := devoidc.New(devoidc.Config{
		Issuer:    ts.URL,
		Clients:   []devoidc.Client{{ID: "app", Secret: "s", RedirectURIs: []string{baseURL + "/auth/callback/" + name}}},
		AutoLogin: "ada",
		Logger:    scanLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = tapProvider(t, op)
	p, err := providers.OIDC(context.Background(), providers.OIDCConfig{Name: name, Issuer: ts.URL, ClientID: "app", ClientSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// logBuffer is a concurrency-safe buffer for a slog text handler.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newTestAuth returns an Auth for https://app.example with the given
// providers (default: one devoidc provider named "dev").
func newTestAuth(t testing.TB, ps ...*providers.Provider) *Auth {
	t.Helper()
	if len(ps) == 0 {
		ps = []*providers.Provider{devProvider(t, "dev", "https://app.example")}
	}
	a, err := newAuth(t, Config{BaseURL: "https://app.example", Providers: ps, Keys: [][]byte{testKey}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// serve runs one request through h and returns the recorder.
func serve(h http.Handler, method, target string, hdr map[string]string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	recordRequest(nil, "a test using serve", req)
	recordResponse(nil, "a test using serve", rec.Header(), rec.Body.Bytes())
	return rec
}
