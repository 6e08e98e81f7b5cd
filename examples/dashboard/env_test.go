package main

import (
	"bytes"
	"encoding/base64"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/portcullis-go/portcullis/providers/devoidc"
)

// The app's client at the development provider, and a command-line client
// that gets tokens for the app's API.
const (
	appID, appSecret = "dashboard", "dashboard-secret"
	cliID, cliSecret = "cli", "cli-secret"
)

// sessionKey is the app's SESSION_KEYS in the tests (32 bytes).
var sessionKey = []byte("0123456789abcdef0123456789abcdef")

// testUsers are the development provider's users: ada is an admin twice
// over (group and domain), ada2 is Ada's second account with the same
// verified address, grace is an outsider, and mallory claims Ada's
// address without having it verified.
func testUsers() []devoidc.User {
	return []devoidc.User{
		{Subject: "ada", Name: "Ada Lovelace", Email: "ada@example.com", EmailVerified: true, Groups: []string{"admins"}},
		{Subject: "ada2", Name: "Ada Lovelace (2nd account)", Email: "ada@example.com", EmailVerified: true},
		{Subject: "grace", Name: "Grace Hopper", Email: "grace@other.example", EmailVerified: true, Groups: []string{"navy"}},
		{Subject: "mallory", Name: "Mallory", Email: "ada@example.com", EmailVerified: false},
	}
}

// testEnv is the app and the development provider it signs in with.
type testEnv struct {
	app, op   string // their base URLs
	cli       string // the redirect URI where the cli client's codes arrive
	codes     chan string
	logs      *syncBuffer
	transport http.RoundTripper // how every client reaches the servers
}

// start runs the app with the variables in vars, over defaults that admit
// example.com addresses and the admins group, against a development
// provider configured by op (Issuer, Clients and Users are filled in),
// each on a loopback server.
func start(t *testing.T, op devoidc.Config, vars map[string]string) *testEnv {
	return startOn(t, nil, op, vars)
}

// startOn is start on the in-memory network p when it is not nil: for a
// test in a synctest bubble, whose clock can then run ahead.
func startOn(t *testing.T, p *pipes, op devoidc.Config, vars map[string]string) *testEnv {
	t.Helper()
	listen := func() net.Listener {
		if p != nil {
			return p.listen()
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	serve := func(l net.Listener, h http.Handler) {
		srv := &http.Server{Handler: h}
		go srv.Serve(l)
		t.Cleanup(func() { srv.Close() })
	}
	opLn, appLn, cliLn := listen(), listen(), listen()
	e := &testEnv{
		app:       "http://" + appLn.Addr().String(),
		op:        "http://" + opLn.Addr().String(),
		cli:       "http://" + cliLn.Addr().String() + "/callback",
		codes:     make(chan string, 1),
		logs:      &syncBuffer{},
		transport: http.DefaultTransport,
	}
	if p != nil {
		tr := &http.Transport{DialContext: p.dial}
		t.Cleanup(tr.CloseIdleConnections)
		e.transport = tr
	}
	serve(cliLn, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.codes <- r.URL.Query().Get("code")
		io.WriteString(w, "you may close this window")
	}))

	op.Issuer = e.op
	op.Clients = []devoidc.Client{
		{ID: appID, Secret: appSecret, RedirectURIs: []string{e.app + "/auth/callback/oidc"}},
		{ID: cliID, Secret: cliSecret, RedirectURIs: []string{e.cli}},
	}
	op.Users = testUsers()
	if op.AccessTokenAudience == "" {
		op.AccessTokenAudience = appID // the app's default API_AUDIENCE
	}
	server, err := devoidc.New(op)
	if err != nil {
		t.Fatal(err)
	}
	serve(opLn, server)

	env := map[string]string{
		"OIDC_ISSUER":        e.op,
		"OIDC_CLIENT_ID":     appID,
		"OIDC_CLIENT_SECRET": appSecret,
		"BASE_URL":           e.app,
		"SESSION_KEYS":       base64.StdEncoding.EncodeToString(sessionKey),
		"ADMIN_DOMAINS":      "example.com",
		"ADMIN_GROUPS":       "admins",
	}
	maps.Copy(env, vars)
	logger := slog.New(slog.NewTextHandler(e.logs, nil))
	app, err := run(t.Context(), func(k string) string { return env[k] }, &http.Client{Transport: e.transport}, logger)
	if err != nil {
		t.Fatal(err)
	}
	serve(appLn, app)
	return e
}

// syncBuffer is a bytes.Buffer the app's logger and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
