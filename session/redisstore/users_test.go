package redisstore

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/session"
)

func TestSessionsAndEndSessions(t *testing.T) {
	s, c, now := testStore(t, nil)
	ctx := context.Background()
	a1 := newSession("ada", t0)
	a2 := newSession("ada", t0.Add(time.Minute))
	g := newSession("grace", t0)
	ckA1 := save(t, s, a1)
	*now = t0.Add(time.Minute)
	ckA2 := save(t, s, a2)
	ckG := save(t, s, g)

	got, err := s.Sessions(ctx, "dev", "ada")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != a1.ID || got[1].ID != a2.ID {
		t.Fatalf("Sessions(ada): %v, want a1 then a2", ids(got))
	}
	if got, _ := s.Sessions(ctx, "dev", "nobody"); len(got) != 0 {
		t.Errorf("Sessions(nobody): %v", ids(got))
	}

	// Dangling entries are dropped: a vanished record, a malformed id, and
	// another user's session.
	ukey := s.userKey("dev", "ada")
	c.SAdd(ctx, ukey, session.NewID(), "not an id", g.ID)
	if got, err := s.Sessions(ctx, "dev", "ada"); err != nil || len(got) != 2 {
		t.Errorf("Sessions with dangling entries: %v, %v", err, ids(got))
	}
	if n := c.SCard(ctx, ukey).Val(); n != 2 {
		t.Errorf("index holds %d entries after listing, want 2", n)
	}

	n, err := s.EndSessions(ctx, "dev", "ada")
	if err != nil || n != 2 {
		t.Fatalf("EndSessions(ada): %d, %v; want 2", n, err)
	}
	for _, ck := range []*http.Cookie{ckA1, ckA2} {
		if _, err := load(s, ck); !errors.Is(err, session.ErrNoSession) {
			t.Errorf("ada's session after EndSessions: %v", err)
		}
	}
	if c.Exists(ctx, ukey).Val() != 0 {
		t.Error("EndSessions left the index")
	}
	if _, err := load(s, ckG); err != nil {
		t.Errorf("grace's session after EndSessions(ada): %v", err)
	}
	if got, _ := s.Sessions(ctx, "dev", "grace"); len(got) != 1 || got[0].ID != g.ID {
		t.Errorf("Sessions(grace): %v", ids(got))
	}
	if n, err := s.EndSessions(ctx, "dev", "ada"); err != nil || n != 0 {
		t.Errorf("EndSessions again: %d, %v", n, err)
	}
}

func ids(ss []session.Session) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.ID)
	}
	return out
}
