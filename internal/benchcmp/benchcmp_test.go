package benchcmp

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestItems: every chain authenticates its request (200 with the e-mail)
// and refuses it with one bit of the session cookie flipped, so every
// contender measured does its checks; the runner produces samples.
func TestItems(t *testing.T) {
	s, err := NewSetup()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	items, err := s.Items()
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Handler == nil {
			continue
		}
		t.Run(it.Name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			it.Handler.ServeHTTP(rec, it.Requests[0].Clone(t.Context()))
			if rec.Code != http.StatusOK || rec.Body.String() != s.Payload.Email {
				t.Fatalf("status %d, body %q", rec.Code, rec.Body)
			}
			if it.Name == Bare {
				return
			}
			r := it.Requests[0].Clone(t.Context())
			h := r.Header.Get("Cookie")
			i := strings.Index(h, "theme=dark; ") + len("theme=dark; ") + 60 // inside the session cookie's value
			if i < 72 || i >= len(h) {
				t.Fatal("cookie too short")
			}
			b := []byte(h)
			b[i] ^= 1
			r.Header.Set("Cookie", string(b))
			rec = httptest.NewRecorder()
			it.Handler.ServeHTTP(rec, r)
			if rec.Code == http.StatusOK {
				t.Fatalf("a flipped bit was accepted")
			}
		})
	}
	res := Run(items, 1, time.Millisecond)
	if f := res.Floors(WarmRequire); f == 0 {
		t.Fatal("no measurement")
	}
}

// BenchmarkItems runs each item as a standard benchmark, for profiles
// (-cpuprofile, -memprofile); the table comes from cmd/table, whose
// interleaved rounds keep the ratios while the machine drifts.
func BenchmarkItems(b *testing.B) {
	s, err := NewSetup()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	items, err := s.Items()
	if err != nil {
		b.Fatal(err)
	}
	for _, it := range items {
		b.Run(strings.NewReplacer(" ", "_", ",", "", "/", "-").Replace(it.Name), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				it.Op(i)
				i++
			}
		})
	}
}
