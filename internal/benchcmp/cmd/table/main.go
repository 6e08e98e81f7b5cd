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
}
