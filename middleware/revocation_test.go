package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/session"
)

func TestMemoryRevocations(t *testing.T) {
	now := time.Now()
	m := newMemoryRevocations(func() time.Time { return now })
	ctx := context.Background()
	s := &session.Session{ID: "s1", SID: "sid-1", Created: now.Add(-time.Hour), User: session.User{Provider: "corp", Subject: "ada"}}
	check := func(want bool, what string) {
		t.Helper()
		if got, err := m.Revoked(ctx, s); err != nil || got != want {
			t.Fatalf("%s: Revoked = %v, %v; want %v", what, got, err, want)
		}
	}
	check(false, "empty list")
	for _, r := range []session.Revocation{
		{ID: "other", Expires: now.Add(time.Hour)},
		{Provider: "corp", SID: "sid-2", Expires: now.Add(time.Hour)},
		{Provider: "other", SID: "sid-1", Expires: now.Add(time.Hour)},
		{Provider: "corp", Subject: "grace", Before: now, Expires: now.Add(time.Hour)},
		{Provider: "other", Subject: "ada", Before: now, Expires: now.Add(time.Hour)},
		{Provider: "corp", Subject: "ada", Before: now.Add(-2 * time.Hour), Expires: now.Add(time.Hour)},
	} {
		if err := m.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	check(false, "entries for other sessions, providers, users and earlier logins")
	for name, r := range map[string]session.Revocation{
		"by ID":      {ID: "s1", Expires: now.Add(time.Hour)},
		"by sid":     {Provider: "corp", SID: "sid-1", Expires: now.Add(time.Hour)},
		"by subject": {Provider: "corp", Subject: "ada", Before: now, Expires: now.Add(time.Hour)},
	} {
		t.Run(name, func(t *testing.T) {
			m := newMemoryRevocations(func() time.Time { return now })
			if err := m.Add(ctx, r); err != nil {
				t.Fatal(err)
			}
			if got, _ := m.Revoked(ctx, s); !got {
				t.Fatal("not revoked")
			}
			if !r.Matches(s) {
				t.Fatal("session.Revocation.Matches disagrees with the store")
			}
			// A session created after a subject-wide logout is not ended.
			later := *s
			later.ID, later.SID, later.Created = "s2", "sid-9", now.Add(time.Second)
			if got, _ := m.Revoked(ctx, &later); got {
				t.Fatal("a later session was ended")
			}
		})
	}
	if err := m.Add(ctx, session.Revocation{}); err == nil {
		t.Fatal("an empty revocation was accepted")
	}
}

func TestMemoryRevocationsExpireAndBound(t *testing.T) {
	now := time.Now()
	m := newMemoryRevocations(func() time.Time { return now })
	ctx := context.Background()
	for i := 0; i < 1000; i++ {
		m.Add(ctx, session.Revocation{ID: fmt.Sprint(i), Expires: now.Add(time.Minute)})
	}
	now = now.Add(2 * time.Minute)
	m.Add(ctx, session.Revocation{ID: "fresh", Expires: now.Add(time.Minute)})
	if m.n != 1 || len(m.ids) != 1 {
		t.Fatalf("after expiry %d entries remain, want 1", m.n)
	}
	m.n = maxRevocations // as if full of live entries
	if err := m.Add(ctx, session.Revocation{ID: "x", Expires: now.Add(time.Hour)}); err == nil {
		t.Fatal("Add past the bound succeeded")
	}
}

// BenchmarkRevoked is the revocation check alone, as Require runs it for a
// session that is not revoked: against an empty list and one with 30,000
// entries (10,000 of each shape).
func BenchmarkRevoked(b *testing.B) {
	now := time.Now()
	s := &session.Session{ID: "s1", SID: "sid-1", Created: now, User: session.User{Provider: "corp", Subject: "ada"}}
	for _, n := range []int{0, 10000} {
		b.Run(fmt.Sprintf("entries-%d", 3*n), func(b *testing.B) {
			m := newMemoryRevocations(func() time.Time { return now })
			for i := 0; i < n; i++ {
				k := fmt.Sprint(i)
				m.Add(context.Background(), session.Revocation{ID: "id-" + k, Expires: now.Add(time.Hour)})
				m.Add(context.Background(), session.Revocation{Provider: "corp", SID: "sid-x" + k, Expires: now.Add(time.Hour)})
				m.Add(context.Background(), session.Revocation{Provider: "corp", Subject: "sub-" + k, Before: now, Expires: now.Add(time.Hour)})
			}
			b.ReportAllocs()
			for b.Loop() {
				if revoked, _ := m.Revoked(context.Background(), s); revoked {
					b.Fatal("revoked")
				}
			}
		})
	}
}

// failingRevocations is a RevocationStore that cannot be reached.
type failingRevocations struct{}

func (failingRevocations) Add(context.Context, session.Revocation) error {
	return errors.New("unreachable")
}
func (failingRevocations) Revoked(context.Context, *session.Session) (bool, error) {
	return false, errors.New("unreachable")
}

// TestRevocationStoreOutage: a store that fails refuses the request with
// 503, for browsers and APIs alike, without sending anyone to sign in
// again (which would meet the same outage).
func TestRevocationStoreOutage(t *testing.T) {
	a := newTestAuth(t)
	cookies := signedIn(t, a, nil)
	a.s.Revocations = failingRevocations{}
	h := a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("handler reached") }))
	for _, hdr := range []map[string]string{{"Sec-Fetch-Mode": "navigate", "Accept": "text/html"}, {"Accept": "application/json"}} {
		rec := serve(h, "GET", "https://app.example/reports", hdr, cookies...)
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Location") != "" {
			t.Fatalf("%v: status %d Location %q, want 503 and no redirect", hdr, rec.Code, rec.Header().Get("Location"))
		}
	}
}
