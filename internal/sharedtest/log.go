package sharedtest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

func testEmptyLog(t *testing.T, s State) {
	wantSince(t, s, 0, []string{}, 0)
	wantSince(t, s, 7, []string{}, 0)
}

// testAppendConcurrent: concurrent Appends get distinct numbers, each
// greater than the ones its goroutine got before, and Since returns the
// entries in number order.
func testAppendConcurrent(t *testing.T, s State) {
	const each = 16
	seqs := make([][]int64, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				seq, err := s.Append(t.Context(), fmt.Appendf(nil, "%d/%d", g, i), hour())
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				seqs[g] = append(seqs[g], seq)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	bySeq := map[int64]string{}
	var top int64
	for g, list := range seqs {
		for i, seq := range list {
			if i > 0 && seq <= list[i-1] {
				t.Errorf("goroutine %d: Append returned %d after %d", g, seq, list[i-1])
			}
			if prev, dup := bySeq[seq]; dup {
				t.Errorf("sequence number %d given to %s and %d/%d", seq, prev, g, i)
			}
			bySeq[seq] = fmt.Sprintf("%d/%d", g, i)
			top = max(top, seq)
		}
	}
	order := make([]int64, 0, len(bySeq))
	for seq := range bySeq {
		order = append(order, seq)
	}
	slices.Sort(order)
	want := make([]string, len(order))
	for i, seq := range order {
		want[i] = bySeq[seq]
	}
	wantSince(t, s, 0, want, top)
	wantSince(t, s, order[len(order)/2], want[len(order)/2+1:], top)
}

// testSinceAfter: Since returns only the entries after its argument, and
// last whatever the argument.
func testSinceAfter(t *testing.T, s State) {
	a := appendEntry(t, s, "a", hour())
	b := appendEntry(t, s, "b", hour())
	c := appendEntry(t, s, "c", hour())
	if !(0 < a && a < b && b < c) {
		t.Fatalf("sequence numbers %d, %d, %d: want positive and increasing", a, b, c)
	}
	wantSince(t, s, 0, []string{"a", "b", "c"}, c)
	wantSince(t, s, a, []string{"b", "c"}, c)
	wantSince(t, s, b, []string{"c"}, c)
	wantSince(t, s, c, []string{}, c)
	wantSince(t, s, c+100, []string{}, c)
}

// testSinceExpired: an entry is not returned once it has expired, or if
// it was appended expired, but it keeps its number.
func testSinceExpired(t *testing.T, s State) {
	exp := time.Now().Add(short)
	x := appendEntry(t, s, "brief", exp)
	y := appendEntry(t, s, "kept", hour())
	z := appendEntry(t, s, "dead", time.Now().Add(-time.Second))
	if !(x < y && y < z) {
		t.Fatalf("sequence numbers %d, %d, %d: want increasing", x, y, z)
	}
	got, last := since(t, s, 0)
	if time.Now().Before(exp) && !slices.Equal(got, []string{"brief", "kept"}) || last != z {
		t.Errorf("Since(0) = %q, last %d; want [brief kept], last %d", got, last, z)
	}
	time.Sleep(time.Until(exp))
	eventually(t, "an expired entry is still returned", func() bool {
		got, _ := since(t, s, 0)
		return slices.Equal(got, []string{"kept"})
	})
	wantSince(t, s, 0, []string{"kept"}, z)
	wantSince(t, s, y, []string{}, z)
	if w := appendEntry(t, s, "next", hour()); w <= z {
		t.Errorf("Append after expiries returned %d, want more than %d", w, z)
	}
}

// testSinceDuringAppend: a reader that follows the log with Since while
// writers append never misses or repeats an entry.
func testSinceDuringAppend(t *testing.T, s State) {
	const writers, each = 4, 50
	var wg sync.WaitGroup
	defer wg.Wait() // no writer outlives the case, even when it fails
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, err := s.Append(t.Context(), fmt.Appendf(nil, "%d/%d", w, i), hour()); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var seen []string
	var after int64
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true // one more read, after the last Append
		default:
		}
		got, last := since(t, s, after)
		if last < after {
			t.Fatalf("Since(%d): last %d went back", after, last)
		}
		seen = append(seen, got...)
		after = last
	}
	if t.Failed() {
		return
	}
	if len(seen) != writers*each {
		t.Errorf("the reader saw %d entries, want %d", len(seen), writers*each)
	}
	next := make([]int, writers) // each writer's entries arrive in its order
	for _, e := range seen {
		var w, i int
		if _, err := fmt.Sscanf(e, "%d/%d", &w, &i); err != nil || w < 0 || w >= writers {
			t.Fatalf("unexpected entry %q", e)
		}
		if i != next[w] {
			t.Fatalf("writer %d: saw entry %d, want %d (missed or repeated)", w, i, next[w])
		}
		next[w]++
	}
}

// testLostData: a store that lost its data has no value and no entry,
// and its log goes on above every number given out before: a reader
// following it from its last read misses nothing appended since.
func testLostData(t *testing.T, s State, reset func(t *testing.T, s State)) {
	appendEntry(t, s, "a", hour())
	before := appendEntry(t, s, "b", hour())
	set(t, s, "k", []byte("v"), hour())
	reset(t, s)
	if got, _ := since(t, s, before); len(got) != 0 {
		t.Errorf("Since(%d) after the loss = %q, want nothing", before, got)
	}
	if got, _ := since(t, s, 0); len(got) != 0 {
		t.Errorf("Since(0) after the loss = %q, want nothing", got)
	}
	wantMissing(t, s, "k")
	seq := appendEntry(t, s, "c", hour())
	if seq <= before {
		t.Errorf("Append after the loss returned %d, not above %d given out before", seq, before)
	}
	wantSince(t, s, before, []string{"c"}, seq)
	wantSince(t, s, 0, []string{"c"}, seq)
}
