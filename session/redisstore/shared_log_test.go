package redisstore

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clockShared returns a Shared on the test Redis whose clock the test
// moves; values still expire by the server's clock, entries by this one.
func clockShared(t *testing.T, edit func(*SharedConfig)) (*Shared, *time.Time) {
	t.Helper()
	s, _ := testShared(t, edit)
	now := time.Now()
	s.now = func() time.Time { return now }
	return s, &now
}

func sinceStrings(t *testing.T, s *Shared, after int64) ([]string, int64) {
	t.Helper()
	entries, last, err := s.Since(t.Context(), after)
	if err != nil {
		t.Fatalf("Since(%d): %v", after, err)
	}
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = string(e)
	}
	return out, last
}

func mustAppend(t *testing.T, s *Shared, entry string, expires time.Time) int64 {
	t.Helper()
	seq, err := s.Append(t.Context(), []byte(entry), expires)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return seq
}

// TestSharedLogTrim: expired entries leave Redis a bounded batch per
// call, and all of them in the end; the counter stays.
func TestSharedLogTrim(t *testing.T) {
	s, now := clockShared(t, nil)
	ctx := t.Context()
	const n = 300
	for i := range n {
		mustAppend(t, s, fmt.Sprint(i), now.Add(time.Second))
	}
	keep := mustAppend(t, s, "kept", now.Add(time.Hour))
	*now = now.Add(2 * time.Second)
	for left := n; left > 0; left -= trimBatch {
		if got := s.rdb.ZCard(ctx, s.logKeys[1]).Val(); got != int64(left)+1 {
			t.Fatalf("%d entries in Redis, want %d", got, left+1)
		}
		entries, last := sinceStrings(t, s, 0)
		if !slices.Equal(entries, []string{"kept"}) || last != keep {
			t.Fatalf("Since(0) = %q, last %d; want [kept], last %d", entries, last, keep)
		}
	}
	for _, k := range s.logKeys[1:] {
		if got := s.rdb.ZCard(ctx, k).Val(); got != 1 {
			t.Errorf("%s holds %d members, want 1", k, got)
		}
	}
	*now = now.Add(time.Hour)
	if entries, _ := sinceStrings(t, s, 0); len(entries) != 0 {
		t.Errorf("Since(0) = %q after every entry expired", entries)
	}
	if n := s.rdb.Exists(ctx, s.logKeys[1], s.logKeys[2]).Val(); n != 0 {
		t.Errorf("%d log sets remain after every entry expired", n)
	}
	if v := s.rdb.Get(ctx, s.logKeys[0]).Val(); v != fmt.Sprint(keep) {
		t.Errorf("counter %q, want %d", v, keep)
	}
}

// TestSharedLogFull: Append refuses a live entry while the log holds
// MaxLogEntries live ones, and takes it again once one expires; nothing
// is dropped to make room.
func TestSharedLogFull(t *testing.T) {
	s, now := clockShared(t, func(c *SharedConfig) { c.MaxLogEntries = 3 })
	mustAppend(t, s, "a", now.Add(time.Minute))
	mustAppend(t, s, "b", now.Add(time.Hour))
	mustAppend(t, s, "c", now.Add(time.Hour))
	_, err := s.Append(t.Context(), []byte("d"), now.Add(time.Hour))
	if err == nil || !strings.Contains(err.Error(), "MaxLogEntries (3)") {
		t.Fatalf("Append to a full log: %v, want a refusal", err)
	}
	mustAppend(t, s, "expired", now.Add(-time.Second)) // takes no room
	if entries, _ := sinceStrings(t, s, 0); !slices.Equal(entries, []string{"a", "b", "c"}) {
		t.Fatalf("Since(0) = %q, want [a b c]", entries)
	}
	*now = now.Add(2 * time.Minute)
	mustAppend(t, s, "d", now.Add(time.Hour))
	if entries, _ := sinceStrings(t, s, 0); !slices.Equal(entries, []string{"b", "c", "d"}) {
		t.Errorf("Since(0) = %q, want [b c d]", entries)
	}
}

// TestSharedLogPages: Since reads a log of several pages whole and in
// order, expired entries left out on every page.
func TestSharedLogPages(t *testing.T) {
	s, now := clockShared(t, nil)
	const n = 2*sincePage + 500
	const from = sincePage + 1 // a Since from the middle of the second page
	var want, wantFrom []string
	var seqs []int64
	for i := range n {
		exp := now.Add(time.Hour)
		if i%3 == 0 {
			exp = now.Add(time.Second)
		} else {
			want = append(want, fmt.Sprint(i))
			if i > from {
				wantFrom = append(wantFrom, fmt.Sprint(i))
			}
		}
		seqs = append(seqs, mustAppend(t, s, fmt.Sprint(i), exp))
	}
	*now = now.Add(2 * time.Second)
	entries, last := sinceStrings(t, s, 0)
	if !slices.Equal(entries, want) || last != seqs[n-1] {
		t.Errorf("Since(0): %d entries, last %d; want %d, last %d", len(entries), last, len(want), seqs[n-1])
	}
	entries, last = sinceStrings(t, s, seqs[from])
	if !slices.Equal(entries, wantFrom) || last != seqs[n-1] {
		t.Errorf("Since(the %dth): %d entries, last %d; want %d, last %d", from, len(entries), last, len(wantFrom), seqs[n-1])
	}
}

// TestSharedLogSequence: a sequence number is the server's clock in
// microseconds or the counter plus one, whichever is greater, so a log
// that lost its data, or was restored from an old copy, gives no number
// twice; Since reports last 0, or the restored counter, until the next
// Append.
func TestSharedLogSequence(t *testing.T) {
	s, c := testShared(t, nil)
	ctx := t.Context()
	minute := int64(time.Minute / time.Microsecond)
	first := mustAppend(t, s, "a", time.Now().Add(time.Hour))
	if us := time.Now().UnixMicro(); first < us-minute || first > us+minute {
		t.Errorf("first sequence number %d, want about the time in microseconds (%d)", first, us)
	}

	// Restored from an old copy: last goes back, the next number does not.
	c.Set(ctx, s.logKeys[0], 7, 0)
	if entries, last := sinceStrings(t, s, first); len(entries) != 0 || last != 7 {
		t.Errorf("Since after a rewind = %q, last %d; want none, last 7", entries, last)
	}
	second := mustAppend(t, s, "b", time.Now().Add(time.Hour))
	if second <= first {
		t.Errorf("Append after a rewind returned %d, not above %d", second, first)
	}

	// A counter ahead of the clock (a burst of appends) goes on by one.
	ahead := second + 60*minute
	c.Set(ctx, s.logKeys[0], ahead, 0)
	if seq := mustAppend(t, s, "c", time.Now().Add(time.Hour)); seq != ahead+1 {
		t.Errorf("Append after %d returned %d, want %d", ahead, seq, ahead+1)
	}

	// Lost (FLUSHALL of this prefix): last 0 until the next Append.
	deletePrefix(ctx, c, s.prefix)
	if entries, last := sinceStrings(t, s, ahead+1); len(entries) != 0 || last != 0 {
		t.Errorf("Since after a loss = %q, last %d; want none, last 0", entries, last)
	}
	if seq := mustAppend(t, s, "d", time.Now().Add(time.Hour)); seq <= second {
		t.Errorf("Append after a loss returned %d, not above %d", seq, second)
	}
}

// TestSharedLogEntrySize: entries up to 4 KiB are taken, larger ones
// refused before any Redis call.
func TestSharedLogEntrySize(t *testing.T) {
	s, _ := testShared(t, nil)
	big := strings.Repeat("x", maxEntrySize)
	mustAppend(t, s, big, time.Now().Add(time.Hour))
	if _, err := s.Append(t.Context(), []byte(big+"x"), time.Now().Add(time.Hour)); err == nil || !strings.Contains(err.Error(), "exceeds 4096") {
		t.Errorf("Append of %d bytes: %v, want a refusal", len(big)+1, err)
	}
	if entries, _ := sinceStrings(t, s, 0); len(entries) != 1 || entries[0] != big {
		t.Errorf("Since(0) returned %d entries, want the 4096-byte one", len(entries))
	}
}

// TestSharedLogMalformed: a member that is not "seq:expires:entry" (some
// other program writing under the prefix) fails Since, unquoted.
func TestSharedLogMalformed(t *testing.T) {
	for _, member := range []string{"secret", "1:secret", "x:1:secret", "1:x:secret"} {
		s, c := testShared(t, nil)
		c.ZAdd(t.Context(), s.logKeys[1], redis.Z{Score: 1, Member: member})
		_, _, err := s.Since(t.Context(), 0)
		if err == nil || !strings.Contains(err.Error(), "malformed log entry") || strings.Contains(err.Error(), "secret") {
			t.Errorf("Since over %q: %v, want an unquoting refusal", member, err)
		}
	}
}

// TestSharedScriptFlush: after SCRIPT FLUSH (a restarted server) the
// scripts are loaded again: EVALSHA falls back to EVAL.
func TestSharedScriptFlush(t *testing.T) {
	s, c := testShared(t, nil)
	ctx := t.Context()
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Claim(ctx, "k", []byte("v"), time.Now().Add(time.Minute)); err != nil || !ok {
		t.Fatalf("Claim = %v, %v", ok, err)
	}
	if err := s.Release(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	seq := mustAppend(t, s, "e", time.Now().Add(time.Minute))
	if entries, last := sinceStrings(t, s, 0); !slices.Equal(entries, []string{"e"}) || last != seq {
		t.Errorf("Since(0) = %q, last %d", entries, last)
	}
	if n := c.Exists(ctx, s.prefix+"k:k").Val(); n != 0 {
		t.Error("Release after SCRIPT FLUSH left the key")
	}
}

// TestSharedLayout: values live under Prefix+"k:"+key with the TTL of
// their expiry; a Claim with a past expiry writes nothing.
func TestSharedLayout(t *testing.T) {
	s, c := testShared(t, nil)
	ctx := t.Context()
	if err := s.Set(ctx, "a", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if ttl := c.PTTL(ctx, s.prefix+"k:a").Val(); ttl <= 59*time.Second || ttl > time.Minute {
		t.Errorf("PTTL %v, want about a minute", ttl)
	}
	if _, err := s.Claim(ctx, "b", []byte("v"), time.Now().Add(1500*time.Microsecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx, "c", []byte("v"), time.Now().Add(-time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n := c.Exists(ctx, s.prefix+"k:c").Val(); n != 0 {
		t.Error("a Claim with a past expiry wrote a key")
	}
	keys, err := c.Keys(ctx, s.prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k != s.prefix+"k:a" && k != s.prefix+"k:b" {
			t.Errorf("unexpected key %q", k)
		}
		if ttl := c.PTTL(ctx, k).Val(); ttl < 0 && ttl != -2 {
			t.Errorf("key %q has no TTL", k)
		}
	}
}

// TestSharedRounding: expiries are rounded up to Redis's millisecond, so
// nothing expires early, and an expiry that is not in the future is not
// stored.
func TestSharedRounding(t *testing.T) {
	base := time.UnixMilli(1_700_000_000_000)
	for _, tc := range []struct {
		t    time.Time
		want int64
	}{
		{base, 1_700_000_000_000},
		{base.Add(time.Nanosecond), 1_700_000_000_001},
		{base.Add(-time.Nanosecond), 1_700_000_000_000},
		{base.Add(999 * time.Microsecond), 1_700_000_000_001},
		{time.UnixMilli(-5).Add(time.Nanosecond), -4},
	} {
		if got := unixMilliCeil(tc.t); got != tc.want {
			t.Errorf("unixMilliCeil(%v) = %d, want %d", tc.t, got, tc.want)
		}
	}
	for _, tc := range []struct {
		d    time.Duration
		want time.Duration
		live bool
	}{
		{-time.Second, 0, false},
		{0, 0, false},
		{time.Nanosecond, time.Millisecond, true},
		{1500 * time.Microsecond, 2 * time.Millisecond, true},
		{time.Second, time.Second, true},
	} {
		if got, live := ttl(base.Add(tc.d), base); got != tc.want || live != tc.live {
			t.Errorf("ttl(now+%v) = %v, %v; want %v, %v", tc.d, got, live, tc.want, tc.live)
		}
	}
}
