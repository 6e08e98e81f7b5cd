// Command table runs the comparison in interleaved rounds and prints the
// table (see ../../run.sh and BENCHMARKS.md at the repository root).
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"time"

	"github.com/portcullis-go/portcullis/internal/benchcmp"
)

func main() {
	rounds := flag.Int("rounds", 20, "rounds; every item runs once per round, in a random order")
	per := flag.Duration("per", 50*time.Millisecond, "time per item per round")
	callbacks := flag.Int("callbacks", 100, "callbacks and baselines per round (flows are prepared outside the measured time); 0 skips them")
	flag.Parse()
	s, err := benchcmp.NewSetup()
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	items, err := s.Items()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %s/%s GOMAXPROCS=%d, %d rounds × %v per item\n\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), *rounds, *per)
	res := benchcmp.Run(items, *rounds, *per)
	res.Table(os.Stdout)
	fmt.Println()
	if err := s.Sizes(os.Stdout); err != nil {
		log.Fatal(err)
	}
	if *callbacks == 0 {
		return
	}
	c, err := benchcmp.NewCallbackSetup(s.Key, s.Payload)
	if err != nil {
		log.Fatal(err)
	}
	cr, err := benchcmp.RunCallback(c, *rounds, *callbacks)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("\n| callback (token endpoint answered in process) | ns/op | allocs/op |\n|---|---:|---:|\n")
	fmt.Printf("| portcullis callback | %.0f | %.0f |\n", cr.Callback, cr.CallbackAllocs)
	fmt.Printf("| go-oidc Verify + CookieStore.Save | %.0f | %.0f |\n", cr.Baseline, cr.BaselineAllocs)
	fmt.Printf("| ratio | %.2f× | |\n", cr.Callback/cr.Baseline)
}
