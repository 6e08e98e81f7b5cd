package middleware

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis-go/portcullis/internal/fakegithub"
	"github.com/portcullis-go/portcullis/internal/fakegoogle"
	"github.com/portcullis-go/portcullis/internal/oidctest"
	"github.com/portcullis-go/portcullis/session"
)

// The secret scan of the whole test suite (SECURITY.md LK-01: no token,
// code, state, cookie or claim in a log or an event).
//
//   - Every Auth the package's tests build comes from newAuth
//     (TestEveryAuthIsScanned checks the sources), which sends its log
//     records, its events and the text of every error its ErrorHandler gets
//     (applications are told to log those) to the scan, besides wherever
//     the test sends them. The fake providers' logs go there too.
//   - The secrets the tests handle are recorded as they go by: what the
//     fake providers issue (codes, access, refresh and ID tokens; the
//     requests they received: state, nonce, PKCE verifier), every session
//     the Auth saves or loads (its tokens, IDs, email and name), every
//     cookie value a request carried or a response set, and what is inside
//     the flow cookies (state, nonce, verifier).
//   - TestMain, after every test ran, looks for each secret in everything
//     captured: the whole value, its URL-escaped form, and any run of 23
//     bytes or more of it (so a truncated token or one segment of a JWT is
//     found too), and fails the run naming the test that logged it.
//
// go test -v prints the figures.
var scan = &leakScan{secrets: map[string]string{}}

func TestMain(m *testing.M) {
	code := m.Run()
	if !scan.report(os.Stdout, testing.Verbose()) && code == 0 {
		code = 1
	}
	os.Exit(code)
}

// leakScan is the capture and the secrets of the whole run.
type leakScan struct {
	mu       sync.Mutex
	captured []capturedText
	secrets  map[string]string // secret → the test that saw it first
	auths    int
	tests    map[string]bool // tests that built an Auth
}

// capturedText is a log record, an event or an error text, with the test
// whose Auth (or fake) produced it.
type capturedText struct{ test, kind, text string }

func (s *leakScan) capture(test, kind, text string) {
	s.mu.Lock()
	s.captured = append(s.captured, capturedText{test, kind, text})
	s.mu.Unlock()
}

// secret records values no capture may contain; values shorter than 8
// bytes are not distinctive enough to look for.
func (s *leakScan) secret(test string, values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range values {
		if len(v) < minSecretLen {
			continue
		}
		if _, ok := s.secrets[v]; !ok {
			s.secrets[v] = test
		}
	}
}

const (
	minSecretLen = 8
	// window: a secret's bytes are indexed in windows of this size at
	// multiples of it, so any run of 2*window-1 bytes of a secret in a
	// capture contains one whole indexed window.
	window = 12
)

// secretParts are the parts of v to look for: v, or for a JWT its
// payload and signature (every JWT of a provider shares its header, which
// is public).
func secretParts(v string) []string {
	if parts := strings.Split(v, "."); len(parts) == 3 && strings.HasPrefix(v, "eyJ") {
		return parts[1:]
	}
	return []string{v}
}

// report scans, prints the findings (and with verbose the figures) and
// reports whether nothing leaked.
func (s *leakScan) report(w io.Writer, verbose bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	windows := map[string]string{} // window → its secret
	var short []string
	for v := range s.secrets {
		if len(v) < 2*window-1 {
			short = append(short, v)
			continue
		}
		for _, part := range secretParts(v) {
			for i := 0; i+window <= len(part); i += window {
				windows[part[i:i+window]] = v
			}
		}
	}
	type finding struct{ test, kind, seenIn, secret, how string }
	var found []finding
	for _, c := range s.captured {
		add := func(secret, how string) {
			found = append(found, finding{c.test, c.kind, s.secrets[secret], secret, how})
		}
		for _, v := range short {
			if strings.Contains(c.text, v) || strings.Contains(c.text, url.QueryEscape(v)) {
				add(v, "whole")
			}
		}
		for i := 0; i+window <= len(c.text); i++ {
			if v, ok := windows[c.text[i:i+window]]; ok {
				add(v, "23 bytes or more of it")
				break
			}
		}
	}
	for _, f := range found {
		fmt.Fprintf(w, "leak scan: %s: %s holds a secret (%s, %d bytes, %.6s…) seen in %s\n", f.test, f.kind, f.how, len(f.secret), f.secret, f.seenIn)
	}
	if verbose || len(found) > 0 {
		kinds := map[string]int{}
		for _, c := range s.captured {
			kinds[c.kind]++
		}
		var ks []string
		for k, n := range kinds {
			ks = append(ks, fmt.Sprintf("%d %s", n, k))
		}
		sort.Strings(ks)
		fmt.Fprintf(w, "leak scan: %d Auths in %d tests; scanned %s for %d secrets (%d indexed windows): %d found\n",
			s.auths, len(s.tests), strings.Join(ks, ", "), len(s.secrets), len(windows), len(found))
	}
	return len(found) == 0
}

// newAuth is New for the package's tests: the Auth's logs, events and
// ErrorHandler errors are captured for the scan (as well as sent where
// cfg sends them), and the secrets its session store and ErrorHandler see
// are recorded.
func newAuth(t testing.TB, cfg Config) (*Auth, error) {
	t.Helper()
	test := t.Name()
	var h slog.Handler = captureHandler{test: test, kind: "log record"}
	if cfg.Logger != nil {
		h = teeHandler{cfg.Logger.Handler(), h}
	}
	cfg.Logger = slog.New(h)
	cfg.Observer = teeObserver{cfg.Observer, test}
	a, err := New(cfg)
	if err != nil {
		return nil, err
	}
	scan.mu.Lock()
	scan.auths++
	if scan.tests == nil {
		scan.tests = map[string]bool{}
	}
	scan.tests[test] = true
	scan.mu.Unlock()
	a.s.Sessions = &tappedStore{Store: a.s.Sessions, a: a, test: test}
	eh := a.s.ErrorHandler
	a.s.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		scan.capture(test, "ErrorHandler error", err.Error())
		recordRequest(a, test, r)
		eh(w, r, err)
	}
	return a, nil
}

// captureHandler is the slog.Handler that sends records to the scan, as
// text with every attribute.
type captureHandler struct {
	test, kind string
	attrs      []slog.Attr
}

func (captureHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h captureHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	attr := func(a slog.Attr) bool { writeAttr(&b, "", a); return true }
	for _, a := range h.attrs {
		attr(a)
	}
	r.Attrs(attr)
	scan.capture(h.test, h.kind, b.String())
	return nil
}

func writeAttr(b *strings.Builder, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		for _, g := range v.Group() {
			writeAttr(b, prefix+a.Key+".", g)
		}
		return
	}
	fmt.Fprintf(b, " %s%s=%s", prefix, a.Key, v.String())
}

func (h captureHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h.attrs = append(slices.Clip(h.attrs), attrs...)
	return h
}

func (h captureHandler) WithGroup(name string) slog.Handler {
	// No record of portcullis's uses a group; keep the name as a prefix.
	h.attrs = append(slices.Clip(h.attrs), slog.String("group", name))
	return h
}

// teeHandler sends each record to two handlers.
type teeHandler struct{ a, b slog.Handler }

func (t teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return t.a.Enabled(ctx, l) || t.b.Enabled(ctx, l)
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	for _, h := range [...]slog.Handler{t.a, t.b} {
		if h.Enabled(ctx, r.Level) {
			if err := h.Handle(ctx, r.Clone()); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t teeHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return teeHandler{t.a.WithAttrs(attrs), t.b.WithAttrs(attrs)}
}

func (t teeHandler) WithGroup(name string) slog.Handler {
	return teeHandler{t.a.WithGroup(name), t.b.WithGroup(name)}
}

// teeObserver captures each event and passes it on to the test's
// Observer, if any.
type teeObserver struct {
	next Observer
	test string
}

func (o teeObserver) Observe(ctx context.Context, e Event) {
	scan.capture(o.test, "event", fmt.Sprintf("%+v", e))
	if o.next != nil {
		o.next.Observe(ctx, e)
	}
}

// scanLogger returns a logger whose records go to the scan only, for the
// fake providers of test t.
func scanLogger(t testing.TB) *slog.Logger {
	return slog.New(captureHandler{test: t.Name(), kind: "provider log record"})
}

// tappedStore records the secrets passing through a session store: the
// sessions saved and loaded, the requests' cookies and callback
// parameters, the cookies it sets.
type tappedStore struct {
	session.Store
	a    *Auth
	test string
}

func (s *tappedStore) Load(r *http.Request) (*session.Session, error) {
	recordRequest(s.a, s.test, r)
	sess, err := s.Store.Load(r)
	if err == nil {
		recordSession(s.test, sess)
	}
	return sess, err
}

func (s *tappedStore) Save(w http.ResponseWriter, r *http.Request, sess *session.Session) error {
	recordRequest(s.a, s.test, r)
	recordSession(s.test, sess)
	before := len(w.Header().Values("Set-Cookie"))
	err := s.Store.Save(w, r, sess)
	recordSetCookies(s.a, s.test, w.Header().Values("Set-Cookie")[min(before, len(w.Header().Values("Set-Cookie"))):])
	return err
}

func (s *tappedStore) Clear(w http.ResponseWriter, r *http.Request) error {
	recordRequest(s.a, s.test, r)
	return s.Store.Clear(w, r)
}

func recordSession(test string, s *session.Session) {
	scan.secret(test, s.ID, s.SID, s.Tokens.AccessToken, s.Tokens.RefreshToken, s.Tokens.IDToken, s.User.Email, s.User.Name)
}

// secretParams are the query and form parameters whose values are
// secrets wherever they appear.
var secretParams = []string{"code", "state", "nonce", "code_verifier", "code_challenge", "refresh_token",
	"access_token", "id_token", "id_token_hint", "logout_token", "token", "client_secret"}

// recordRequest records the secrets a request to the application or a
// provider carries: cookies (and what a flow cookie of a holds), the
// secret parameters, a bearer token.
func recordRequest(a *Auth, test string, r *http.Request) {
	for _, c := range r.Cookies() {
		recordCookie(a, test, c.Name, c.Value)
	}
	recordParams(test, r.URL.Query())
	if r.PostForm != nil {
		recordParams(test, r.PostForm)
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		scan.secret(test, tok)
	}
}

func recordParams(test string, q url.Values) {
	for _, k := range secretParams {
		scan.secret(test, q[k]...)
	}
}

func recordSetCookies(a *Auth, test string, lines []string) {
	for _, line := range lines {
		if c, err := http.ParseSetCookie(line); err == nil {
			recordCookie(a, test, c.Name, c.Value)
		}
	}
}

// recordCookie records a cookie's value and, for a flow cookie of a, the
// flow's state, nonce and verifier.
func recordCookie(a *Auth, test, name, value string) {
	scan.secret(test, value)
	if a == nil {
		return
	}
	for _, fc := range [...]*flowCookies{a.flows, a.logouts} {
		if strings.HasPrefix(name, fc.prefix) {
			if f, err := fc.decode(name, value); err == nil {
				scan.secret(test, f.State, f.Nonce, f.Verifier)
			}
		}
	}
}

// recordResponse records the secrets a response of the application or a
// provider carries: cookies, the secret parameters of its redirect, and
// the tokens of a JSON token response.
func recordResponse(a *Auth, test string, h http.Header, body []byte) {
	recordSetCookies(a, test, h.Values("Set-Cookie"))
	if loc, err := url.Parse(h.Get("Location")); err == nil {
		recordParams(test, loc.Query())
	}
	if strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		var tokens map[string]any
		if json.Unmarshal(body, &tokens) == nil {
			for _, k := range secretParams {
				if v, ok := tokens[k].(string); ok {
					scan.secret(test, v)
				}
			}
		}
	}
}

// tapProvider wraps a fake provider's handler so that the secrets of its
// requests and responses are recorded.
func tapProvider(t testing.TB, h http.Handler) http.Handler {
	test := t.Name()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			form, _ := url.ParseQuery(string(body))
			recordParams(test, form)
		}
		recordRequest(nil, test, r)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		recordResponse(nil, test, rec.Header(), rec.Body.Bytes())
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}

// tapClient makes c (a test's browser) record the secrets of its requests
// and of the responses of a (nil: no flow cookie is decoded); it returns
// c.
func tapClient(t testing.TB, a *Auth, c *http.Client) *http.Client {
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = tapTransport{next: next, a: a, test: t.Name()}
	return c
}

type tapTransport struct {
	next http.RoundTripper
	a    *Auth
	test string
}

func (t tapTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	a := t.a
	recordRequest(a, t.test, r)
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	var body []byte
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	recordResponse(a, t.test, resp.Header, body)
	return resp, nil
}

// scanOIDCTest records, when test t ends, every secret the mock provider
// issued and every secret parameter it received.
func scanOIDCTest(t testing.TB, op *oidctest.Server) *oidctest.Server {
	test := t.Name()
	t.Cleanup(func() {
		scan.secret(test, op.Secrets()...)
		for _, p := range [...]string{oidctest.PathAuthorize, oidctest.PathToken, oidctest.PathUserInfo, oidctest.PathIntrospect} {
			for _, r := range op.Requests(p) {
				recordRequest(nil, test, r)
			}
		}
	})
	return op
}

// scanFakes records, when test t ends, the secret parameters the Google
// and GitHub fakes received (their tokens reach the scan through the
// sessions saved).
func scanFakes(t testing.TB, g *fakegoogle.Server, gh *fakegithub.Server) {
	test := t.Name()
	t.Cleanup(func() {
		for _, p := range [...]string{fakegoogle.PathAuthorize, fakegoogle.PathToken} {
			for _, r := range g.Requests(p) {
				recordParams(test, r.Query)
				recordParams(test, r.Form)
			}
		}
		for _, p := range [...]string{fakegithub.PathAuthorize, fakegithub.PathToken} {
			for _, r := range gh.Requests(p) {
				recordParams(test, r.Query)
				recordParams(test, r.Form)
			}
		}
	})
}

// TestEveryAuthIsScanned keeps the scan whole: in this package's tests,
// every Auth comes from newAuth (benchmarks excepted: a tap would be part
// of what they measure) and every mock provider is registered with
// scanOIDCTest, so a test added later cannot log secrets unscanned.
func TestEveryAuthIsScanned(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name.Name != "middleware" {
			continue // the external examples build no Auth that logs
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			var wrapped []ast.Node // arguments of scanOIDCTest calls
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				switch fun := call.Fun.(type) {
				case *ast.Ident:
					switch {
					case fun.Name == "scanOIDCTest" && len(call.Args) == 2:
						wrapped = append(wrapped, call.Args[1])
					case fun.Name == "New" && fn.Name.Name != "newAuth" && fn.Name.Name != "benchAuth":
						t.Errorf("%s: %s calls New: use newAuth(t, cfg), which the leak scan sees", fset.Position(call.Pos()), fn.Name.Name)
					case fun.Name == "newAuth":
						checked++
					}
				case *ast.SelectorExpr:
					if x, ok := fun.X.(*ast.Ident); ok && x.Name == "oidctest" && fun.Sel.Name == "New" && !slices.Contains(wrapped, ast.Node(call)) {
						t.Errorf("%s: %s starts an oidctest server unscanned: wrap it in scanOIDCTest(t, …)", fset.Position(call.Pos()), fn.Name.Name)
					}
				}
				return true
			})
		}
	}
	if checked < 20 {
		t.Errorf("only %d calls of newAuth found: is the check looking?", checked)
	}
}
