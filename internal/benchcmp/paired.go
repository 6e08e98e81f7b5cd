package benchcmp

import (
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"text/tabwriter"
	"time"
)

// Sample is one item's measurement in one round.
type Sample struct {
	NsPerOp     float64
	AllocsPerOp float64
	BytesPerOp  float64
}

// Results holds every round's sample of every item, by item name.
type Results struct {
	Items   []Item
	Samples map[string][]Sample
}

// measure runs it for about d and returns its cost per iteration.
func measure(it Item, d time.Duration) Sample {
	n := 1
	for {
		start := time.Now()
		for i := range n {
			it.Op(i)
		}
		if el := time.Since(start); el >= d/8 || n >= 1<<30 {
			n = int(float64(n) * float64(d) / float64(max(el, time.Microsecond)))
			break
		}
		n *= 4
	}
	n = max(n, 1)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	start := time.Now()
	for i := range n {
		it.Op(i)
	}
	el := time.Since(start)
	runtime.ReadMemStats(&m1)
	return Sample{
		NsPerOp:     float64(el.Nanoseconds()) / float64(n),
		AllocsPerOp: float64(m1.Mallocs-m0.Mallocs) / float64(n),
		BytesPerOp:  float64(m1.TotalAlloc-m0.TotalAlloc) / float64(n),
	}
}

// Run measures every item once per round, for about per each, in a new
// random order every round, so that the machine's drift reaches every item
// alike and the ratios within a round hold.
func Run(items []Item, rounds int, per time.Duration) *Results {
	res := &Results{Items: items, Samples: make(map[string][]Sample)}
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
	}
	for range rounds {
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			res.Samples[items[i].Name] = append(res.Samples[items[i].Name], measure(items[i], per))
		}
	}
	return res
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v) == 0 {
		return 0
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// perRound returns f of each round's samples of the named items.
func (r *Results) perRound(f func(round int) float64) []float64 {
	n := len(r.Samples[Bare])
	out := make([]float64, n)
	for i := range n {
		out[i] = f(i)
	}
	return out
}

func (r *Results) ns(name string, round int) float64 { return r.Samples[name][round].NsPerOp }

// Added returns the median over rounds of the item's cost above the bare
// handler's in the same round.
func (r *Results) Added(name string) float64 {
	return median(r.perRound(func(i int) float64 { return r.ns(name, i) - r.ns(Bare, i) }))
}

// Floors returns the item's added cost (Added) ÷ the crypto floor's
// median; for the floor itself, 1.
func (r *Results) Floors(name string) float64 {
	if name == Floor {
		return 1
	}
	return r.Added(name) / median(r.perRound(func(i int) float64 { return r.ns(Floor, i) }))
}

// VsOAuth2Proxy returns oauth2-proxy's added cost ÷ the item's (above 1:
// the item adds less). Medians of the per-round differences are used, not
// per-round ratios: a warm item adds so little that one noisy round's
// ratio would be meaningless.
func (r *Results) VsOAuth2Proxy(name string) float64 {
	return r.Added(OAuth2Proxy) / r.Added(name)
}

// Quartiles returns the first and third quartiles over rounds of f.
func (r *Results) Quartiles(f func(round int) float64) (lo, hi float64) {
	v := r.perRound(f)
	slices.Sort(v)
	return v[len(v)/4], v[(3*len(v))/4]
}

// Table prints one line per item: ns/op, B/op and allocs/op (medians),
// allocations over the bare handler, the Cookie header's length, the
// added cost (median and quartiles over rounds), in crypto floors, and the
// ratio of oauth2-proxy's added cost to it.
func (r *Results) Table(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "item\tns/op\tB/op\tallocs/op\tallocs over bare\tCookie B\tadded ns (quartiles)\tadded ÷ floor\toauth2-proxy added ÷ this\t")
	bare := r.Samples[Bare]
	bareAllocs := median(col(bare, func(s Sample) float64 { return s.AllocsPerOp }))
	for _, it := range r.Items {
		s := r.Samples[it.Name]
		ns := median(col(s, func(s Sample) float64 { return s.NsPerOp }))
		allocs := median(col(s, func(s Sample) float64 { return s.AllocsPerOp }))
		bytes := median(col(s, func(s Sample) float64 { return s.BytesPerOp }))
		over, floors, vs, added := "–", "–", "–", "–"
		if it.Name != Bare && it.Name != Floor {
			over = fmt.Sprintf("%+.0f", allocs-bareAllocs)
			floors = fmt.Sprintf("%.2f", r.Floors(it.Name))
			vs = fmt.Sprintf("%.1f×", r.VsOAuth2Proxy(it.Name))
			lo, hi := r.Quartiles(func(i int) float64 { return r.ns(it.Name, i) - r.ns(Bare, i) })
			added = fmt.Sprintf("%.0f (%.0f–%.0f)", r.Added(it.Name), lo, hi)
		}
		if it.Name == Floor {
			floors = "1"
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.0f\t%s\t%d\t%s\t%s\t%s\t\n", it.Name, ns, bytes, allocs, over, it.CookieBytes, added, floors, vs)
	}
	tw.Flush()
}

func col(s []Sample, f func(Sample) float64) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = f(v)
	}
	return out
}
