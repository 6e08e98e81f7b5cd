package providers

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/opkit"
	"github.com/portcullis-go/portcullis/providers/devoidc"
	"github.com/portcullis-go/portcullis/session"
	"golang.org/x/oauth2"
)

// authCodeURL is AuthCodeURL for a provider whose metadata must be known.
func authCodeURL(t *testing.T, p *Provider, f Flow) string {
	t.Helper()
	u, err := p.AuthCodeURL(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// known returns p's metadata, which must be known.
func known(t *testing.T, p *Provider) *metadata {
	t.Helper()
	m := p.disc.known.Load()
	if m == nil {
		t.Fatal("the provider's metadata is not known")
	}
	return m
}

// logRecords collects the records of a slog handler.
type logRecords struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecords) WithGroup(string) slog.Handler            { return l }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r)
	return nil
}

// count returns how many records have level and a message containing msg.
func (l *logRecords) count(level slog.Level, msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.records {
		if r.Level == level && strings.Contains(r.Message, msg) {
			n++
		}
	}
	return n
}

// downOP is a devoidc provider behind an [opkit.Outage], with a recorder in
// front of both.
type downOP struct {
	url    string
	outage *opkit.Outage
	rec    opkit.Recorder
	server *httptest.Server
}

// opRedirect is the redirect URI devoidc accepts in these tests.
const opRedirect = "https://app.example/cb"

func devoidcHandler(t *testing.T, issuer string) http.Handler {
	t.Helper()
	op, err := devoidc.New(devoidc.Config{
		Issuer:    issuer,
		Clients:   []devoidc.Client{{ID: "app", Secret: "s", RedirectURIs: []string{opRedirect}, PostLogoutRedirectURIs: []string{opRedirect}}},
		AutoLogin: "grace",
	})
	if err != nil {
		t.Fatal(err)
	}
	return op
}

// newDownOP starts devoidc behind an outage in mode m.
func newDownOP(t *testing.T, m Mode) *downOP {
	t.Helper()
	d := &downOP{server: httptest.NewServer(nil)}
	t.Cleanup(d.server.Close)
	d.url = d.server.URL
	d.outage = opkit.NewOutage(devoidcHandler(t, d.url), m)
	d.server.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.rec.Record(r)
		d.outage.ServeHTTP(w, r)
	})
	return d
}

// Mode abbreviates opkit.Mode in these tests.
type Mode = opkit.Mode

// discoveries counts the discovery requests the provider received.
func (d *downOP) discoveries() int {
	return len(d.rec.Requests("/.well-known/openid-configuration"))
}

// lazyProvider returns the provider for issuer, which must come back
// without error and undiscovered, on a fake clock set to the instant its
// first attempt failed: the backoff has discoveryFirstBackoff left.
func lazyProvider(t *testing.T, ctx context.Context, issuer string, logs *logRecords) (*Provider, *fakeClock) {
	t.Helper()
	cfg := OIDCConfig{Name: "corp", Issuer: issuer, ClientID: "app", ClientSecret: "s"}
	if logs != nil {
		cfg.Logger = slog.New(logs)
	}
	p, err := OIDC(ctx, cfg)
	if err != nil {
		t.Fatalf("OIDC refused a provider that is only down: %v", err)
	}
	if p.disc.known.Load() != nil {
		t.Fatal("the provider's metadata is known, but the provider was down")
	}
	p.disc.mu.Lock()
	failedAt := p.disc.retryAt.Add(-discoveryFirstBackoff)
	p.disc.mu.Unlock()
	clock := &fakeClock{t: failedAt}
	p.now = clock.now
	return p, clock
}

var testFlow = Flow{RedirectURL: opRedirect, State: "state-1", Nonce: "nonce-1", Verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"}

// unavailableFor returns err's RetryAfter; err must wrap ErrUnavailable and
// have one.
func unavailableFor(t *testing.T, err error) time.Duration {
	t.Helper()
	var ra interface{ RetryAfter() time.Duration }
	if !errors.Is(err, ErrUnavailable) || !errors.As(err, &ra) {
		t.Fatalf("error %v: want one wrapping ErrUnavailable with a RetryAfter", err)
	}
	return ra.RetryAfter()
}

// devoidcLogin signs grace in at the provider (devoidc, AutoLogin) and
// finishes the login through Callback.
func devoidcLogin(t *testing.T, p *Provider) *Identity {
	t.Helper()
	f := testFlow
	f.Issuer = p.Issuer()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(authCodeURL(t, p, f))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("authorization endpoint answered %d without a redirect", resp.StatusCode)
	}
	id, err := p.Callback(context.Background(), f, loc.Query())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// reservedAddr returns a loopback address nothing listens at (yet).
func reservedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestOIDCDownAtConstruction: a provider that refuses connections, drops
// them, answers 503 or hangs past the constructor's context is returned
// all the same; a sign-in with it fails with ErrUnavailable (and says when
// to retry) until it answers, and works as soon as it does.
func TestOIDCDownAtConstruction(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode Mode // the outage's; -1: nothing listens
	}{
		{"connection refused", -1},
		{"connection dropped", opkit.Drop},
		{"HTTP 503", opkit.Unavailable},
		{"hangs past the timeout", opkit.Hang},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var issuer string
			var op *downOP
			var addr string
			if tc.mode < 0 {
				addr = reservedAddr(t)
				issuer = "http://" + addr
			} else {
				op = newDownOP(t, tc.mode)
				issuer = op.url
			}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			logs := &logRecords{}
			p, clock := lazyProvider(t, ctx, issuer, logs)
			if n := logs.count(slog.LevelWarn, "unreachable"); n != 1 {
				t.Errorf("%d warnings that the provider is unreachable, want 1", n)
			}
			clock.advance(discoveryFirstBackoff / 4)
			_, err := p.AuthCodeURL(context.Background(), testFlow)
			if d := unavailableFor(t, err); d != discoveryFirstBackoff*3/4 {
				t.Errorf("RetryAfter %v, want the backoff's rest, %v", d, discoveryFirstBackoff*3/4)
			}

			// The provider comes up.
			if op == nil {
				l, err := net.Listen("tcp", addr)
				if err != nil {
					t.Fatalf("listening again at %s: %v", addr, err)
				}
				ts := httptest.NewUnstartedServer(devoidcHandler(t, issuer))
				ts.Listener.Close()
				ts.Listener = l
				ts.Start()
				t.Cleanup(ts.Close)
			} else {
				op.outage.Set(opkit.Up)
			}
			clock.advance(discoveryFirstBackoff / 4 * 3)
			if id := devoidcLogin(t, p); id.User.Subject != "grace" || id.User.Issuer != issuer {
				t.Fatalf("identity %+v", id.User)
			}
			if n := logs.count(slog.LevelInfo, "discovered"); n != 1 {
				t.Errorf("%d records of the discovery, want 1", n)
			}
		})
	}
}

// TestDiscoveryEveryMethod: every method that needs the discovery document
// fails with ErrUnavailable while it cannot be fetched, making no request
// during the backoff, and works once it can.
func TestDiscoveryEveryMethod(t *testing.T) {
	op := newDownOP(t, opkit.Unavailable)
	p, clock := lazyProvider(t, context.Background(), op.url, nil)
	clock.advance(discoveryFirstBackoff)
	s := &session.Session{User: session.User{Provider: "corp", Issuer: op.url, Subject: "grace"},
		Tokens: session.Tokens{AccessToken: "at", RefreshToken: "rt"}}
	rules := AccessTokenRules{Audience: "api"}
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"AuthCodeURL", func(ctx context.Context) error { _, err := p.AuthCodeURL(ctx, testFlow); return err }},
		{"Callback", func(ctx context.Context) error {
			f := testFlow
			f.Issuer = op.url
			_, err := p.Callback(ctx, f, url.Values{"code": {"c"}, "state": {f.State}})
			return err
		}},
		{"Refresh", func(ctx context.Context) error { _, err := p.Refresh(ctx, s); return err }},
		{"EndSessionURL", func(ctx context.Context) error { _, err := p.EndSessionURL(ctx, "", opRedirect, "st"); return err }},
		{"CanRevoke", func(ctx context.Context) error { _, err := p.CanRevoke(ctx); return err }},
		{"Revoke", func(ctx context.Context) error { return p.Revoke(ctx, "rt", "refresh_token") }},
		{"CanIntrospect", func(ctx context.Context) error { _, err := p.CanIntrospect(ctx); return err }},
		{"Introspect", func(ctx context.Context) error { _, err := p.Introspect(ctx, "opaque", rules); return err }},
		{"VerifyAccessToken", func(ctx context.Context) error { _, err := p.VerifyAccessToken(ctx, "a.b.c", rules); return err }},
		{"VerifyLogoutToken", func(ctx context.Context) error { _, err := p.VerifyLogoutToken(ctx, "a.b.c"); return err }},
	}
	// The first call makes an attempt; every other one meets its backoff.
	for _, c := range calls {
		t.Run(c.name+" down", func(t *testing.T) {
			unavailableFor(t, c.call(context.Background()))
		})
	}
	if n := op.discoveries(); n != 2 {
		t.Errorf("%d discovery requests, want 2 (construction, first call)", n)
	}
	op.outage.Set(opkit.Up)
	clock.advance(2 * discoveryFirstBackoff)
	for _, c := range calls {
		t.Run(c.name+" up", func(t *testing.T) {
			if err := c.call(context.Background()); errors.Is(err, ErrUnavailable) {
				t.Errorf("still unavailable: %v", err)
			}
		})
	}
	if n := op.discoveries(); n != 3 {
		t.Errorf("%d discovery requests, want 3", n)
	}
	if u, err := p.EndSessionURL(context.Background(), "", opRedirect, "st"); err != nil || !strings.HasPrefix(u, op.url+"/end_session?") {
		t.Errorf("EndSessionURL %q, %v", u, err)
	}
	if ok, err := p.CanRevoke(context.Background()); !ok || err != nil {
		t.Errorf("CanRevoke %v, %v", ok, err)
	}
}

// TestDiscoveryBackoff: many concurrent sign-ins while the provider is down
// cause one discovery request per attempt; the wait between attempts
// doubles from 1 s to 1 min, and every caller is told what is left of it.
func TestDiscoveryBackoff(t *testing.T) {
	op := newDownOP(t, opkit.Unavailable)
	p, clock := lazyProvider(t, context.Background(), op.url, nil)
	clock.advance(discoveryFirstBackoff)
	burst := func() []error {
		errs := make([]error, 64)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() { _, errs[i] = p.AuthCodeURL(context.Background(), testFlow) })
		}
		wg.Wait()
		return errs
	}
	requests := op.discoveries()
	for _, delay := range []time.Duration{2, 4, 8, 16, 32, 60, 60} {
		delay *= time.Second
		for i, err := range burst() {
			if d := unavailableFor(t, err); d != delay {
				t.Fatalf("caller %d: RetryAfter %v, want %v", i, d, delay)
			}
		}
		if n := op.discoveries(); n != requests+1 {
			t.Fatalf("%d discovery requests for a burst of 64, want 1", n-requests)
		}
		requests++
		clock.advance(delay - time.Nanosecond)
		if _, err := p.AuthCodeURL(context.Background(), testFlow); unavailableFor(t, err) != time.Nanosecond || op.discoveries() != requests {
			t.Fatalf("a call a nanosecond before the backoff's end: %v, %d requests", err, op.discoveries()-requests)
		}
		clock.advance(time.Nanosecond)
	}
	op.outage.Set(opkit.Up)
	for i, err := range burst() {
		if err != nil {
			t.Fatalf("caller %d after the provider came up: %v", i, err)
		}
	}
	burst()
	if n := op.discoveries(); n != requests+1 {
		t.Errorf("%d discovery requests after the provider came up, want 1", n-requests)
	}
}

// TestDiscoverySingleFlight: callers that arrive while an attempt is under
// way wait for it (as long as their context allows) rather than start
// their own, and all get its outcome.
func TestDiscoverySingleFlight(t *testing.T) {
	op := newDownOP(t, opkit.Hang)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	p, clock := lazyProvider(t, ctx, op.url, nil)
	clock.advance(discoveryFirstBackoff)
	results := make(chan error, 16)
	for range cap(results) {
		go func() {
			_, err := p.AuthCodeURL(context.Background(), testFlow)
			results <- err
		}()
	}
	// The attempt has reached the provider, which hangs; nobody returns.
	deadline := time.Now().Add(10 * time.Second)
	for op.discoveries() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no discovery attempt reached the provider")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-results:
		t.Fatalf("a caller returned while the attempt was under way: %v", err)
	default:
	}
	// A caller whose context ends stops waiting; the attempt goes on.
	quick, cancelQuick := context.WithCancel(context.Background())
	cancelQuick()
	if _, err := p.AuthCodeURL(quick, testFlow); !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("a caller with a done context: %v", err)
	}
	op.outage.Set(opkit.Up) // the hanging request is answered
	timeout := time.After(10 * time.Second)
	for range cap(results) {
		select {
		case err := <-results:
			if err != nil {
				t.Errorf("a waiting caller: %v", err)
			}
		case <-timeout:
			t.Fatal("the waiting callers did not return after the provider answered")
		}
	}
	if n := op.discoveries(); n != 2 {
		t.Errorf("%d discovery requests, want 2 (construction, one attempt)", n)
	}
}

// TestDiscoveryDoneContext: with a context that is already done, a
// method answers from what is known and starts no attempt.
func TestDiscoveryDoneContext(t *testing.T) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	op := newDownOP(t, opkit.Up)
	p, err := OIDC(context.Background(), OIDCConfig{Name: "corp", Issuer: op.url, ClientID: "app"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.AuthCodeURL(done, testFlow); err != nil {
		t.Errorf("a discovered provider with a done context: %v", err)
	}
	gh, err := GitHub(GitHubConfig{ClientID: "id", ClientSecret: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := gh.CanRevoke(done); ok || err != nil {
		t.Errorf("GitHub's CanRevoke with a done context: %v, %v", ok, err)
	}
	op.outage.Set(opkit.Unavailable)
	lazy, clock := lazyProvider(t, context.Background(), op.url, nil)
	clock.advance(discoveryFirstBackoff)
	before := op.discoveries()
	if _, err := lazy.EndSessionURL(done, "", opRedirect, "st"); !errors.Is(err, ErrUnavailable) || op.discoveries() != before {
		t.Errorf("an undiscovered provider with a done context: %v, %d requests", err, op.discoveries()-before)
	}
}

// TestDiscoveryWrongDocumentLater: a document that is wrong when first
// reached after construction leaves the provider unavailable, logged at
// error level once per attempt however many callers meet it, and is
// fetched again after the backoff: fixed, it works.
func TestDiscoveryWrongDocumentLater(t *testing.T) {
	var mu sync.Mutex
	serve := func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := serve
		mu.Unlock()
		h(w, r)
	}))
	defer ts.Close()
	set := func(h http.HandlerFunc) {
		mu.Lock()
		defer mu.Unlock()
		serve = h
	}
	logs := &logRecords{}
	p, clock := lazyProvider(t, context.Background(), ts.URL, logs)
	clock.advance(discoveryFirstBackoff)
	set(func(w http.ResponseWriter, r *http.Request) {
		opkit.WriteJSON(w, http.StatusOK, map[string]any{
			"issuer": "https://other.example", "authorization_endpoint": ts.URL + "/authorize",
			"token_endpoint": ts.URL + "/token", "jwks_uri": ts.URL + "/jwks",
		})
	})
	for range 20 {
		_, err := p.AuthCodeURL(context.Background(), testFlow)
		unavailableFor(t, err)
		if !strings.Contains(err.Error(), "is not the configured Issuer") {
			t.Fatalf("error %q does not say what is wrong", err)
		}
	}
	if n := logs.count(slog.LevelError, "unusable"); n != 1 {
		t.Errorf("%d error records for one attempt, want 1", n)
	}
	clock.advance(2 * discoveryFirstBackoff)
	p.AuthCodeURL(context.Background(), testFlow)
	if n := logs.count(slog.LevelError, "unusable"); n != 2 {
		t.Errorf("%d error records for two attempts, want 2", n)
	}
	set(devoidcHandler(t, ts.URL).ServeHTTP)
	clock.advance(4 * discoveryFirstBackoff)
	if _, err := p.AuthCodeURL(context.Background(), testFlow); err != nil {
		t.Fatalf("after the document was fixed: %v", err)
	}
}

// TestFetchDocument: which answers are an outage (retried) and which are
// a wrong configuration (refused at construction).
func TestFetchDocument(t *testing.T) {
	var mu sync.Mutex
	var status int
	var body string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	defer ts.Close()
	valid := `{"issuer":"` + ts.URL + `"}`
	for _, tc := range []struct {
		status  int
		body    string
		outcome string // "ok", "outage", "wrong"
	}{
		{200, valid, "ok"},
		{200, `{"issuer":"` + ts.URL + `/"}`, "wrong"},
		{200, `{"issuer":"https://other.example"}`, "wrong"},
		{200, `{"issuer":42}`, "wrong"},
		{200, `[]`, "wrong"},
		{200, `<html>sign in to the Wi-Fi</html>`, "wrong"},
		{200, ``, "wrong"},
		{200, `{"issuer":"` + strings.Repeat("x", maxResponseSize) + `"}`, "wrong"},
		{301, valid, "wrong"},
		{400, valid, "wrong"},
		{401, valid, "wrong"},
		{403, valid, "wrong"},
		{404, valid, "wrong"},
		{408, valid, "outage"},
		{425, valid, "outage"},
		{429, valid, "outage"},
		{500, valid, "outage"},
		{502, valid, "outage"},
		{503, valid, "outage"},
		{504, valid, "outage"},
	} {
		mu.Lock()
		status, body = tc.status, tc.body
		mu.Unlock()
		_, err := fetchDocument(context.Background(), hardenedClient(nil), ts.URL)
		got := "ok"
		switch {
		case errors.Is(err, errUnusableDocument):
			got = "wrong"
		case err != nil:
			got = "outage"
		}
		if got != tc.outcome {
			t.Errorf("HTTP %d %.40q: %s (%v), want %s", tc.status, tc.body, got, err, tc.outcome)
		}
	}
	if _, err := fetchDocument(context.Background(), hardenedClient(nil), "http://"+reservedAddr(t)); err == nil || errors.Is(err, errUnusableDocument) {
		t.Errorf("connection refused: %v, want an outage", err)
	}
}

// TestOIDCRefusesWrongDocumentAtConstruction: a document that is reached
// but wrong is a configuration error at construction, whatever the
// backoff would do later.
func TestOIDCRefusesWrongDocumentAtConstruction(t *testing.T) {
	long := "https://" + strings.Repeat("x", 100<<10)
	for name, edit := range map[string]func(d map[string]any){
		"no signing algorithm in common": func(d map[string]any) { d["id_token_signing_alg_values_supported"] = []string{"ES256"} },
		"issuer not a string":            func(d map[string]any) { d["issuer"] = 42 },
		"issuer of 100 KiB":              func(d map[string]any) { d["issuer"] = long },
		"token endpoint of 100 KiB":      func(d map[string]any) { d["token_endpoint"] = "http" + long[5:] },
		"algorithms of 100 KiB":          func(d map[string]any) { d["id_token_signing_alg_values_supported"] = []string{long} },
	} {
		t.Run(name, func(t *testing.T) {
			ts := discoveryServer(t, edit)
			p, err := OIDC(context.Background(), OIDCConfig{Name: "corp", Issuer: ts.URL, ClientID: "app"})
			if err == nil || p != nil {
				t.Fatalf("OIDC accepted the discovery document: %v", err)
			}
			// The error (and so a log line) quotes a bounded part of it.
			if len(err.Error()) > 1<<10 {
				t.Errorf("error of %d bytes", len(err.Error()))
			}
		})
	}
	ts := httptest.NewServer(http.NotFoundHandler())
	defer ts.Close()
	_, err := OIDC(context.Background(), OIDCConfig{Name: "corp", Issuer: ts.URL, ClientID: "app"})
	if err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Fatalf("an issuer without a discovery document: %v", err)
	}
	// The pinned algorithm among several listed is fine.
	ts2 := discoveryServer(t, func(d map[string]any) { d["id_token_signing_alg_values_supported"] = []string{"ES256", "RS256"} })
	if _, err := OIDC(context.Background(), OIDCConfig{Name: "corp", Issuer: ts2.URL, ClientID: "app"}); err != nil {
		t.Fatal(err)
	}
}

// TestStaticProvidersAreKnown: plain OAuth 2.0 providers have their
// endpoints from their configuration and are never unavailable.
func TestStaticProvidersAreKnown(t *testing.T) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	p, err := OAuth2(OAuth2Config{
		Name: "plain", ClientID: "id",
		Endpoint: oauth2.Endpoint{AuthURL: "https://as.example/authorize", TokenURL: "https://as.example/token"},
		Identify: func(context.Context, *http.Client, *oauth2.Token) (session.User, error) { return session.User{}, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if u, err := p.AuthCodeURL(done, testFlow); err != nil || !strings.HasPrefix(u, "https://as.example/authorize?") {
		t.Errorf("AuthCodeURL %q, %v", u, err)
	}
	if u, err := p.EndSessionURL(done, "", opRedirect, "st"); u != "" || err != nil {
		t.Errorf("EndSessionURL %q, %v", u, err)
	}
	if err := p.Revoke(done, "t", ""); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Revoke without an endpoint: %v", err)
	}
}
