package sharedmem

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/sharedtest"
)

func TestConformance(t *testing.T) {
	sharedtest.Run(t,
		func(t *testing.T) sharedtest.State { return New(nil) },
		func(t *testing.T, s sharedtest.State) { s.(*Store).Reset() })
}

// TestDown: while the store is down every method fails with ErrDown and
// nothing claims or finds; brought back, it answers with its contents.
func TestDown(t *testing.T) {
	ctx := context.Background()
	s := New(nil)
	exp := time.Now().Add(time.Hour)
	if err := s.Set(ctx, "k", []byte("v"), exp); err != nil {
		t.Fatal(err)
	}
	seq, err := s.Append(ctx, []byte("e"), exp)
	if err != nil {
		t.Fatal(err)
	}
	s.SetDown(true)
	if ok, err := s.Claim(ctx, "free", []byte("v"), exp); !errors.Is(err, ErrDown) || ok {
		t.Errorf("Claim = %v, %v; want ErrDown", ok, err)
	}
	if err := s.Set(ctx, "k", []byte("w"), exp); !errors.Is(err, ErrDown) {
		t.Errorf("Set: %v, want ErrDown", err)
	}
	if v, ok, err := s.Get(ctx, "k"); !errors.Is(err, ErrDown) || ok || v != nil {
		t.Errorf("Get = %q, %v, %v; want ErrDown", v, ok, err)
	}
	if err := s.Release(ctx, "k", []byte("v")); !errors.Is(err, ErrDown) {
		t.Errorf("Release: %v, want ErrDown", err)
	}
	if _, err := s.Append(ctx, []byte("f"), exp); !errors.Is(err, ErrDown) {
		t.Errorf("Append: %v, want ErrDown", err)
	}
	if entries, _, err := s.Since(ctx, 0); !errors.Is(err, ErrDown) || entries != nil {
		t.Errorf("Since = %q, %v; want ErrDown", entries, err)
	}
	if n := s.Calls(); n != 8 {
		t.Errorf("Calls() = %d, want 8 (failed calls count)", n)
	}

	s.SetDown(false)
	if v, ok, err := s.Get(ctx, "k"); err != nil || !ok || string(v) != "v" {
		t.Errorf("Get after recovery = %q, %v, %v; want the value set before", v, ok, err)
	}
	if ok, err := s.Claim(ctx, "free", []byte("v"), exp); err != nil || !ok {
		t.Errorf("Claim after recovery = %v, %v; want claimed (the failed Claim held nothing)", ok, err)
	}
	entries, last, err := s.Since(ctx, 0)
	if err != nil || len(entries) != 1 || string(entries[0]) != "e" || last != seq {
		t.Errorf("Since after recovery = %q, %d, %v; want [e], %d", entries, last, err, seq)
	}
	if got := s.Keys(); len(got) != 2 {
		t.Errorf("Keys() = %q, want k and free", got)
	}
}

// TestClock: the store reads its own clock, so tests can move time.
func TestClock(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	s := New(func() time.Time { return now })
	if ok, err := s.Claim(ctx, "k", []byte("v"), now.Add(time.Minute)); err != nil || !ok {
		t.Fatalf("Claim = %v, %v", ok, err)
	}
	if _, err := s.Append(ctx, []byte("e"), now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	if _, ok, err := s.Get(ctx, "k"); err != nil || ok {
		t.Errorf("Get at the expiry = %v, %v; want not found", ok, err)
	}
	if entries, last, err := s.Since(ctx, 0); err != nil || len(entries) != 0 || last != 1 {
		t.Errorf("Since at the expiry = %q, %d, %v; want none, last 1", entries, last, err)
	}
}
