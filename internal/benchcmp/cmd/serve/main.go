// Command serve serves the comparison's app handler on a loopback address,
// bare at /bare and behind portcullis's Require at /private, and prints
// the Cookie header of a signed-in session, for a load generator such as
// wrk (see BENCHMARKS.md at the repository root):
//
//	go run ./cmd/serve -addr 127.0.0.1:9480 > /tmp/cookie &
//	wrk -d 10s -H "Cookie: $(cat /tmp/cookie)" http://127.0.0.1:9480/private
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strings"

	"github.com/portcullis-go/portcullis/internal/benchcmp"
	"github.com/portcullis-go/portcullis/middleware"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9480", "loopback address to listen on")
	flag.Parse()
	s, err := benchcmp.NewSetup()
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	a, store, p, err := s.Portcullis(0)
	if err != nil {
		log.Fatal(err)
	}
	reqs, err := s.PortcullisRequests(store, p, s.Payload, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintln(os.Stdout, strings.Join(reqs[0].Header.Values("Cookie"), "; "))
	os.Stdout.Sync()
	mux := http.NewServeMux()
	mux.HandleFunc("/bare", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, s.Payload.Email) })
	mux.Handle("/private", a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := middleware.UserFrom(r.Context())
		io.WriteString(w, u.Email)
	})))
	log.Fatal(http.ListenAndServe(*addr, mux))
}
