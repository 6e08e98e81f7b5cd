// Command frameworks is one small portcullis application per Go web
// framework — net/http's ServeMux, chi, gorilla/mux, echo and gin — each
// with the least glue its framework needs, signing in with a development
// OpenID provider (devoidc) started in the same process:
//
//	go run . -framework gin      # or servemux, chi, gorillamux, echo
//
// (FRAMEWORK=gin works too.) / is public; /private shows the signed-in
// user; /api/profile fetches the user's claims from the provider through
// auth.Client, which refreshes the access token when it is about to
// expire and saves the rotated session cookie, whatever writer the
// framework's handlers write to. It is a module of its own, so the
// library does not depend on any framework.
//
// The provider is for development only; see examples/oidc for a real one.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	framework := flag.String("framework", cmp.Or(os.Getenv("FRAMEWORK"), "servemux"), "servemux, chi, gorillamux, echo or gin")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	appLn := listen("127.0.0.1:8080")
	opLn := listen("127.0.0.1:9090")
	cfg := devSetup{
		AppURL:      "http://" + appLn.Addr().String(),
		ProviderURL: "http://" + opLn.Addr().String(),
		Logger:      logger,
	}
	op, err := newProvider(cfg)
	if err != nil {
		log.Fatal(err)
	}
	opSrv := &http.Server{Handler: op, ReadHeaderTimeout: 10 * time.Second}
	go opSrv.Serve(opLn)
	auth, err := newAuth(context.Background(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	app, err := newApp(*framework, auth, cfg.ProviderURL+"/userinfo")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("\n  portcullis with %s: open %s/private\n  (development provider at %s)\n\n", *framework, cfg.AppURL, cfg.ProviderURL)
	srv := &http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(appLn))
}

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
