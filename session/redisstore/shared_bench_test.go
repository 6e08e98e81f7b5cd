package redisstore

import (
	"strconv"
	"testing"
	"time"
)

// BenchmarkSharedGet is one Get of a stored value: a GET round trip, the
// refresh memo's read.
func BenchmarkSharedGet(b *testing.B) {
	s, _ := testShared(b, nil)
	ctx := b.Context()
	if err := s.Set(ctx, "memo", make([]byte, 512), time.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := s.Get(ctx, "memo"); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkSharedClaim is one winning Claim of a new key: a SET NX PX
// round trip, a callback's used-state record.
func BenchmarkSharedClaim(b *testing.B) {
	s, _ := testShared(b, nil)
	ctx := b.Context()
	exp := time.Now().Add(time.Minute)
	value := []byte{1}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if ok, err := s.Claim(ctx, "state:"+strconv.Itoa(i), value, exp); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkSharedSinceNoChange is the revocation mirror's periodic read
// when nothing changed: one EVALSHA round trip that returns no entry.
func BenchmarkSharedSinceNoChange(b *testing.B) {
	s, _ := testShared(b, nil)
	ctx := b.Context()
	var last int64
	for range 100 {
		seq, err := s.Append(ctx, make([]byte, 150), time.Now().Add(time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		last = seq
	}
	b.ReportAllocs()
	for b.Loop() {
		entries, got, err := s.Since(ctx, last)
		if err != nil || len(entries) != 0 || got != last {
			b.Fatal(len(entries), got, err)
		}
	}
}

// BenchmarkSharedAppend is one Append: one EVALSHA round trip.
func BenchmarkSharedAppend(b *testing.B) {
	s, _ := testShared(b, nil)
	ctx := b.Context()
	entry := make([]byte, 150)
	exp := time.Now().Add(time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Append(ctx, entry, exp); err != nil {
			b.Fatal(err)
		}
	}
}
