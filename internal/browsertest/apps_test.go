package browsertest

import (
	"bufio"
	"context"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/providers/devoidc"
)

// The applications the scenarios sign in to, in this process: portcullis
// with a devoidc provider, and with node-oidc-provider (realidp), which
// the tests start themselves with its own login form.

// testApp is an application on 127.0.0.1 with a private page that shows
// the user, an API route, and "Sign out" and "Sign out everywhere".
type testApp struct {
	url string
	op  *devoidc.Server
}

var privateTmpl = template.Must(template.New("p").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Private</title></head><body><main>
<h1 id="who">Hello, {{.User.Name}}</h1><p id="groups">{{len .User.Groups}} groups{{range .User.Groups}} {{.}}{{end}}</p>
<form method="post" action="/auth/logout"><button id="signout" type="submit">Sign out</button></form>
</main></body></html>`))

// listen listens on a random loopback port.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// serveApp serves the application on appLn, signing in with ps.
func serveApp(t *testing.T, appLn net.Listener, ps ...*providers.Provider) string {
	t.Helper()
	appURL := "http://" + appLn.Addr().String()
	auth, err := middleware.New(middleware.Config{
		BaseURL:   appURL,
		Providers: ps,
		Keys:      [][]byte{[]byte("browsertest-key-browsertest-key-")},
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Home</title><h1 id="home">Home</h1><a href="/private">Private</a>`)
	})
	mux.Handle("GET /private", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFrom(r.Context())
		w.Header().Set("Cache-Control", "no-store")
		privateTmpl.Execute(w, s)
	})))
	srv := &http.Server{Handler: mux}
	go srv.Serve(appLn)
	t.Cleanup(func() { srv.Close() })
	return appURL
}

// startUnavailableApp runs an application whose one provider cannot be
// reached (its discovery address refuses connections), so a sign-in gets
// the "provider unavailable" page.
func startUnavailableApp(t *testing.T) string {
	t.Helper()
	down := listen(t)
	opURL := "http://" + down.Addr().String()
	down.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := providers.OIDC(ctx, providers.OIDCConfig{Name: "corp", DisplayName: "Corporate sign-in",
		Issuer: opURL, ClientID: "app", ClientSecret: "app-secret"})
	if err != nil {
		t.Fatal(err)
	}
	return serveApp(t, listen(t), p)
}

// startDevoidcApp runs an application signing in with a devoidc server
// (name "devoidc") offering users.
func startDevoidcApp(t *testing.T, users []devoidc.User) *testApp {
	t.Helper()
	appLn, opLn := listen(t), listen(t)
	appURL, opURL := "http://"+appLn.Addr().String(), "http://"+opLn.Addr().String()
	op, err := devoidc.New(devoidc.Config{
		Issuer: opURL,
		Clients: []devoidc.Client{{ID: "app", Secret: "app-secret",
			RedirectURIs:           []string{appURL + "/auth/callback/devoidc"},
			PostLogoutRedirectURIs: []string{appURL + "/auth/logout/callback"}}},
		Users: users,
	})
	if err != nil {
		t.Fatal(err)
	}
	opSrv := &http.Server{Handler: op}
	go opSrv.Serve(opLn)
	t.Cleanup(func() { opSrv.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := providers.OIDC(ctx, providers.OIDCConfig{Name: "devoidc", DisplayName: "Development provider",
		Issuer: opURL, ClientID: "app", ClientSecret: "app-secret", Scopes: []string{"openid", "profile", "email", "groups"}})
	if err != nil {
		t.Fatal(err)
	}
	return &testApp{url: serveApp(t, appLn, p), op: op}
}

// startRealIDPApp starts node-oidc-provider (internal/realidp/server.mjs)
// with its own login and consent pages (REALIDP_DEV_INTERACTIONS=1) on a
// port of its own, and an application that signs in with it. The test
// skips when node or internal/realidp/node_modules is missing (`npm ci` in
// internal/realidp; .ci/run does it).
func startRealIDPApp(t *testing.T) *testApp {
	t.Helper()
	if chromiumPath() == "" {
		t.Skip("no Chromium: set PORTCULLIS_CHROMIUM or install /usr/bin/chromium (apt-get install chromium)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node: node-oidc-provider cannot run (install nodejs, then npm ci in internal/realidp)")
	}
	dir, _ := filepath.Abs("../realidp")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider")); err != nil {
		t.Skip("internal/realidp/node_modules is missing: run npm ci in internal/realidp")
	}
	appLn := listen(t)
	appURL := "http://" + appLn.Addr().String()
	opLn := listen(t)
	port := opLn.Addr().(*net.TCPAddr).Port
	opLn.Close() // node listens on it; the kernel gave it to nobody else in between (loopback, just freed)
	cmd := exec.Command(node, "server.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		fmt.Sprintf("REALIDP_PORT=%d", port),
		"REALIDP_DEV_INTERACTIONS=1",
		"REALIDP_REDIRECT_URIS="+appURL+"/auth/callback/realidp",
		"REALIDP_POST_LOGOUT_URIS="+appURL+"/ "+appURL+"/auth/logout/callback",
		"REALIDP_BACKCHANNEL_URI="+appURL+"/auth/backchannel-logout/realidp",
	)
	out, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		if t.Failed() {
			t.Logf("realidp's log:\n%s", stderr.String())
		}
	})
	up := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "realidp listening on") {
				up <- true
			}
		}
	}()
	select {
	case <-up:
	case <-time.After(20 * time.Second):
		t.Fatalf("realidp did not start within 20 s:\n%s", stderr.String())
	}
	issuer := fmt.Sprintf("http://127.0.0.1:%d", port)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := providers.OIDC(ctx, providers.OIDCConfig{Name: "realidp", DisplayName: "Real provider",
		Issuer: issuer, ClientID: "portcullis-test", ClientSecret: "portcullis-test-secret",
		Scopes: []string{"openid", "profile", "email", "groups"}})
	if err != nil {
		t.Fatal(err)
	}
	// A second provider, so that the sign-in page shows buttons.
	devLn := listen(t)
	devURL := "http://" + devLn.Addr().String()
	dev, err := devoidc.New(devoidc.Config{Issuer: devURL, Clients: []devoidc.Client{{ID: "app", Secret: "app-secret",
		RedirectURIs: []string{appURL + "/auth/callback/devoidc"}}}})
	if err != nil {
		t.Fatal(err)
	}
	devSrv := &http.Server{Handler: dev}
	go devSrv.Serve(devLn)
	t.Cleanup(func() { devSrv.Close() })
	dp, err := providers.OIDC(ctx, providers.OIDCConfig{Name: "devoidc", DisplayName: "Development provider",
		Issuer: devURL, ClientID: "app", ClientSecret: "app-secret"})
	if err != nil {
		t.Fatal(err)
	}
	return &testApp{url: serveApp(t, appLn, p, dp)}
}
