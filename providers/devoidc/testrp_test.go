package devoidc

// This file holds the relying party side of the back-channel logout tests:
// a fake back-channel logout endpoint that records what it receives, and
// helpers to sign in to several clients and in several browsers.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// bcRP plays the back-channel logout endpoints of relying parties: it
// records every request and answers each with the next of its statuses,
// the last one repeating. A 303 redirects to /elsewhere, which answers 200.
type bcRP struct {
	srv      *httptest.Server
	statuses []int

	mu    sync.Mutex
	posts []bcPost
}

// bcPost is one request received by a bcRP.
type bcPost struct {
	at          time.Time
	method      string
	path        string
	contentType string
	form        url.Values
}

func newBCRP(t *testing.T, statuses ...int) *bcRP {
	t.Helper()
	rp := &bcRP{statuses: statuses}
	rp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		rp.mu.Lock()
		n := len(rp.posts)
		rp.posts = append(rp.posts, bcPost{time.Now(), r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.PostForm})
		rp.mu.Unlock()
		status := rp.statuses[min(n, len(rp.statuses)-1)]
		if r.URL.Path == "/elsewhere" {
			status = http.StatusOK
		}
		if status == http.StatusSeeOther {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(status)
		w.Write(bytes.Repeat([]byte("x"), 64<<10)) // more than devoidc reads
	}))
	t.Cleanup(rp.srv.Close)
	return rp
}

func (rp *bcRP) url(path string) string { return rp.srv.URL + path }

// received returns the requests received so far, optionally only those
// for path.
func (rp *bcRP) received(path string) []bcPost {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	var out []bcPost
	for _, p := range rp.posts {
		if path == "" || p.path == path {
			out = append(out, p)
		}
	}
	return out
}

// withBackchannel sets the BackchannelLogoutURI of the clients in uris.
func withBackchannel(uris map[string]string) func(*setup) {
	return func(st *setup) {
		for i, c := range st.cfg.Clients {
			st.cfg.Clients[i].BackchannelLogoutURI = uris[c.ID]
		}
	}
}

func withRetryDelay(d time.Duration) func(*setup) {
	return func(st *setup) { st.retry = d }
}

// logBuffer collects log output; slog handlers write from the delivery
// goroutines.
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

func withLogs(b *logBuffer) func(*setup) {
	return func(st *setup) { st.cfg.Logger = slog.New(slog.NewTextHandler(b, nil)) }
}

// endSession logs the browser out at the end_session endpoint, and
// returns how long the response took.
func (o *testOP) endSession() time.Duration {
	o.t.Helper()
	start := time.Now()
	resp := o.get(o.url("/end_session"))
	elapsed := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		o.t.Fatalf("end_session: status %d", resp.StatusCode)
	}
	return elapsed
}

// browser returns a copy of o with a browser of its own.
func (o *testOP) browser(t *testing.T) *testOP {
	b := *o
	b.t = t
	b.client = newBrowser(t, o.srv)
	return &b
}

// grantFor runs the code flow for clientID, one of testClients, and
// returns the token response.
func (o *testOP) grantFor(clientID string) map[string]any {
	o.t.Helper()
	redirect, secret := testRedirect, ""
	for _, c := range testClients() {
		if c.ID == clientID {
			redirect, secret = c.RedirectURIs[0], c.Secret
		}
	}
	verifier, challenge := pkce()
	q := redirectParams(o.t, o.authorize(authorizeQuery(challenge, map[string]string{"client_id": clientID, "redirect_uri": redirect})), redirect)
	resp, m := o.postForm("/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {q.Get("code")},
		"redirect_uri": {redirect}, "code_verifier": {verifier},
	}, clientID, secret)
	if resp.StatusCode != http.StatusOK {
		o.t.Fatalf("exchange for %s: %d %v", clientID, resp.StatusCode, m)
	}
	return m
}

// jwtParts decodes the header and payload of a JWT without verifying it.
func jwtParts(t *testing.T, token string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %d parts", len(parts))
	}
	for i, v := range []*map[string]any{&header, &payload} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	return header, payload
}

// goOIDC discovers o with go-oidc, as a relying party would.
func (o *testOP) goOIDC() (context.Context, *oidc.Provider) {
	o.t.Helper()
	ctx := oidc.ClientContext(o.t.Context(), o.srv.Client())
	p, err := oidc.NewProvider(ctx, o.op.Issuer())
	if err != nil {
		o.t.Fatal(err)
	}
	return ctx, p
}

// wantLogoutPost checks that p is a well-formed logout request and
// returns its logout token.
func wantLogoutPost(t *testing.T, p bcPost) string {
	t.Helper()
	if p.method != http.MethodPost || p.contentType != "application/x-www-form-urlencoded" {
		t.Errorf("request is %s with Content-Type %q, want a form POST", p.method, p.contentType)
	}
	if len(p.form) != 1 || len(p.form["logout_token"]) != 1 || p.form.Get("logout_token") == "" {
		t.Errorf("form = %v, want exactly one logout_token", p.form)
	}
	return p.form.Get("logout_token")
}
