// Command demo is portcullis with nothing to configure: it starts
// development OpenID providers (devoidc) and an application in one
// process, both on 127.0.0.1, and prints the application's URL.
//
//	go run ./examples/demo
//
// SESSION_KEYS (comma separated, base64, newest first: `openssl rand
// -base64 32`) keeps sessions across restarts; without it the demo makes a
// new key each run and says so.
//
// The home page (/) shows who is signed in. /private requires signing in:
// the sign-in page offers "Google (stand-in)", "GitHub (stand-in)" and the
// development provider, all three devoidc servers in this process with the
// same test users (pick one; nothing reaches Google or GitHub). It shows
// the profile, the groups, the access token's expiry counting down in the
// browser's time zone, "Refresh now", and the provider's answer to its
// user API called with the user's token (auth.Client). /admin is for the
// group "admins" (Ada Lovelace) only. "Sign out" also ends the session at
// the provider (RP-initiated logout) and comes back to the home page,
// which says so; the provider tells the app when its session ends
// (back-channel logout). "Sign out everywhere" ends every session of the
// user in the app and at the provider, so that the next sign-in asks again.
//
// /api/whoami answers JSON to a signed-in browser, and to a script with an
// access token, which the development provider issues to the demo's
// client (client_credentials) as a JWT for the audience "demo-api":
//
//	TOKEN=$(curl -s -u demo:demo-secret -d grant_type=client_credentials \
//	  http://127.0.0.1:9090/token | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
//	curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/api/whoami
//
// The providers are for development only; see examples/oidc, examples/google
// and examples/github for real ones.
package main

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/portcullis-go/portcullis/examples/internal/envkeys"
	"github.com/portcullis-go/portcullis/providers"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	// Listen first, so that the URLs are known before anything is
	// configured. The ports fall back to random ones when taken.
	appLn := listen("127.0.0.1:8080")
	opLn := listen("127.0.0.1:9090")
	// SESSION_KEYS is optional: without it, a fresh key per run, and
	// restarting the demo signs everyone out.
	keys, err := envkeys.SessionKeys(os.Getenv("SESSION_KEYS"), logger)
	if err != nil {
		log.Fatal(err)
	}
	app, err := demo("http://"+appLn.Addr().String(), opLn, keys, logger)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("\n  portcullis demo: open http://%s\n  (development provider at http://%s)\n", appLn.Addr(), opLn.Addr())
	fmt.Printf("  API: curl -H \"Authorization: Bearer $TOKEN\" http://%s/api/whoami\n", appLn.Addr())
	fmt.Printf("       with TOKEN from: curl -u demo:demo-secret -d grant_type=client_credentials http://%s/token\n\n", opLn.Addr())
	log.Fatal(http.Serve(appLn, app))
}

// demo starts the development providers on opLn (see standins.go) and
// returns the handler of an application at appURL that signs in with
// them, its cookies sealed with keys.
func demo(appURL string, opLn net.Listener, keys [][]byte, logger *slog.Logger) (http.Handler, error) {
	opURL := "http://" + opLn.Addr().String()
	ops, opHandler, err := startProviders(appURL, opURL, logger)
	if err != nil {
		return nil, err
	}
	go http.Serve(opLn, opHandler)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	google, err := providers.Google(ctx, providers.GoogleConfig{
		DisplayName:  "Google (stand-in)",
		ClientID:     "demo",
		ClientSecret: "demo-secret",
		Issuer:       opURL + "/google",
		Logger:       logger,
	})
	if err != nil {
		return nil, err
	}
	github, err := providers.GitHub(providers.GitHubConfig{
		DisplayName:  "GitHub (stand-in)",
		ClientID:     "demo",
		ClientSecret: "demo-secret",
		BaseURL:      opURL,
		APIURL:       opURL + githubAPIPath,
	})
	if err != nil {
		return nil, err
	}
	dev, err := providers.OIDC(ctx, providers.OIDCConfig{
		Name:         "devoidc",
		DisplayName:  "Development provider",
		Issuer:       opURL,
		ClientID:     "demo",
		ClientSecret: "demo-secret",
		Logger:       logger,
	})
	if err != nil {
		return nil, err
	}
	return newApp(appConfig{
		URL:                 appURL,
		Providers:           []*providers.Provider{google, github, dev},
		UserInfo:            ops.userinfo,
		EndProviderSessions: ops.endSessions,
		Keys:                keys,
		Logger:              logger,
	})
}

// apiAudience identifies the demo's API at the development provider.
const apiAudience = "demo-api"

// listen listens on addr, or on a random loopback port when addr is taken.
func listen(addr string) net.Listener {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		log.Fatal(err)
	}
	return ln
}
