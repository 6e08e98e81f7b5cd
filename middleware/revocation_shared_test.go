package middleware

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/sharedmem"
	"github.com/portcullis-go/portcullis/session"
)

// sharedPair is two instances' revocation lists over one store, on a
// clock the test moves.
type sharedPair struct {
	st   *sharedmem.Store
	a, b *sharedRevocations
	now  time.Time
}

func newSharedPair() *sharedPair {
	p := &sharedPair{now: time.Now()}
	clock := func() time.Time { return p.now }
	p.st = sharedmem.New(clock)
	p.a = newSharedRevocations(p.st, time.Second, clock)
	p.b = newSharedRevocations(p.st, time.Second, clock)
	return p
}

func testSession(id, subject string, created time.Time) *session.Session {
	return &session.Session{ID: id, User: session.User{Provider: "p", Subject: subject}, Created: created, Expires: created.Add(time.Hour)}
}

// TestSharedRevocations: a logout recorded by one instance is refused by
// the other once its copy is stale, with one store call per staleness
// period and none in between.
func TestSharedRevocations(t *testing.T) {
	ctx := context.Background()
	p := newSharedPair()
	s := testSession("s1", "ada", p.now.Add(-time.Minute))
	if revoked, err := p.b.Revoked(ctx, s); revoked || err != nil {
		t.Fatalf("before: %v %v", revoked, err)
	}
	if err := p.a.Add(ctx, sessionRevocation(s)); err != nil {
		t.Fatal(err)
	}
	if revoked, _ := p.a.Revoked(ctx, s); !revoked {
		t.Fatal("the instance that recorded the logout does not refuse the session")
	}
	calls := p.st.Calls()
	for range 1000 {
		if revoked, err := p.b.Revoked(ctx, s); revoked || err != nil {
			t.Fatalf("within staleness: %v %v (b's copy was fresh)", revoked, err)
		}
	}
	if n := p.st.Calls() - calls; n != 0 {
		t.Fatalf("%d store calls for 1000 checks within the staleness period, want 0", n)
	}
	p.now = p.now.Add(time.Second)
	if revoked, err := p.b.Revoked(ctx, s); !revoked || err != nil {
		t.Fatalf("after staleness: %v %v, want refused", revoked, err)
	}
	if n := p.st.Calls() - calls; n != 1 {
		t.Fatalf("%d store calls to bring the copy up to date, want 1", n)
	}
	if revoked, _ := p.b.Revoked(ctx, testSession("s2", "ada", p.now)); revoked {
		t.Fatal("a session opened after the logout is refused")
	}
}

// TestSharedRevocationsFailClosed: a copy that cannot be brought up to
// date refuses (an error, 503 on the request path), an Add the log could
// not record fails and changes nothing, and both recover with the store.
func TestSharedRevocationsFailClosed(t *testing.T) {
	ctx := context.Background()
	p := newSharedPair()
	s := testSession("s1", "ada", p.now.Add(-time.Minute))
	p.st.SetDown(true)
	if err := p.a.Add(ctx, sessionRevocation(s)); !errors.Is(err, sharedmem.ErrDown) {
		t.Fatalf("Add with the store down: %v", err)
	}
	if revoked, _ := p.a.mirror.Revoked(ctx, s); revoked {
		t.Fatal("an Add that failed reached the mirror (a logout pretended)")
	}
	if _, err := p.b.Revoked(ctx, s); !errors.Is(err, sharedmem.ErrDown) {
		t.Fatalf("Revoked with a stale copy and the store down: %v, want an error", err)
	}
	p.st.SetDown(false)
	if revoked, err := p.b.Revoked(ctx, s); revoked || err != nil {
		t.Fatalf("after recovery: %v %v", revoked, err)
	}
	if err := p.a.Add(ctx, sessionRevocation(s)); err != nil {
		t.Fatal(err)
	}
	p.now = p.now.Add(time.Second)
	if revoked, err := p.b.Revoked(ctx, s); !revoked || err != nil {
		t.Fatalf("the logout recorded after recovery: %v %v", revoked, err)
	}
}

// TestSharedRevocationsUnreadableEntry: an entry this version cannot read
// is a logout it cannot honour: requests are refused until it expires.
func TestSharedRevocationsUnreadableEntry(t *testing.T) {
	ctx := context.Background()
	for _, entry := range []string{`not json`, `{"v":2,"p":"p","sub":"ada"}`, `{"v":1,"p":"","sub":"ada"}`} {
		t.Run(entry, func(t *testing.T) {
			p := newSharedPair()
			p.st.Append(ctx, []byte(entry), p.now.Add(time.Minute))
			if _, err := p.b.Revoked(ctx, testSession("s1", "ada", p.now)); err == nil {
				t.Fatal("an unreadable entry was ignored")
			}
			p.now = p.now.Add(2 * time.Minute)
			if _, err := p.b.Revoked(ctx, testSession("s1", "ada", p.now)); err != nil {
				t.Fatalf("after the entry expired: %v", err)
			}
		})
	}
}

// TestSharedRevocationsRewound: a log whose last sequence number went
// back (restored from an old copy, against the SharedState contract) is
// read again from the start when an instance sees it go back; what the
// copy had stays. (An instance that first reads it after new appends have
// passed its number again cannot tell: that is why the contract forbids
// reusing numbers.)
func TestSharedRevocationsRewound(t *testing.T) {
	ctx := context.Background()
	p := newSharedPair()
	old := testSession("s1", "ada", p.now.Add(-time.Minute))
	p.a.Add(ctx, sessionRevocation(old))
	p.a.Add(ctx, sessionRevocation(testSession("s2", "bob", p.now.Add(-time.Minute))))
	if _, err := p.b.Revoked(ctx, old); err != nil {
		t.Fatal(err)
	}
	p.st.Rewind(1) // breaks the contract: sequence 2 will be given out again
	p.now = p.now.Add(time.Second)
	if revoked, err := p.b.Revoked(ctx, old); !revoked || err != nil {
		t.Fatalf("after the rewind: %v %v", revoked, err)
	}
	newer := testSession("s3", "cy", p.now.Add(-time.Minute))
	p.a.Add(ctx, sessionRevocation(newer)) // sequence 2 again
	p.now = p.now.Add(time.Second)
	for _, s := range []*session.Session{old, newer} {
		if revoked, err := p.b.Revoked(ctx, s); !revoked || err != nil {
			t.Fatalf("%s after the rewind: %v %v", s.ID, revoked, err)
		}
	}
}

// BenchmarkRevokedShared is the per-request revocation check of an
// instance with a shared list, against the memory list, with n entries:
// the shared one answers from its copy, with one store call per
// staleness period (none in the loop).
func BenchmarkRevokedShared(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{0, 1000, 100000} {
		now := time.Now()
		clock := func() time.Time { return now }
		st := sharedmem.New(clock)
		shared := newSharedRevocations(st, time.Second, clock)
		memory := newMemoryRevocations(clock)
		for i := range n {
			r := sessionRevocation(testSession(fmt.Sprint("s", i), fmt.Sprint("u", i), now.Add(-time.Minute)))
			shared.Add(ctx, r)
			memory.Add(ctx, r)
		}
		s := testSession("live", "someone", now)
		shared.Revoked(ctx, s) // the copy is fresh
		b.Run(fmt.Sprintf("memory/%d", n), func(b *testing.B) {
			for b.Loop() {
				memory.Revoked(ctx, s)
			}
		})
		b.Run(fmt.Sprintf("shared/%d", n), func(b *testing.B) {
			calls := st.Calls()
			for b.Loop() {
				shared.Revoked(ctx, s)
			}
			if st.Calls() != calls {
				b.Fatal("the shared check called the store")
			}
		})
	}
}
