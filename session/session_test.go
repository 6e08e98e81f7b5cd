package session

import (
	"encoding/base64"
	"testing"
	"time"
)

func TestNew(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	u := User{Provider: "github", Subject: "583231"}
	a := New(u, Tokens{AccessToken: "gho_x"}, now, time.Hour)
	b := New(u, Tokens{AccessToken: "gho_x"}, now, time.Hour)
	if a.ID == b.ID {
		t.Fatal("two sessions got the same ID")
	}
	for _, s := range []*Session{a, b} {
		id, err := base64.RawURLEncoding.DecodeString(s.ID)
		if err != nil || len(id) != 16 {
			t.Fatalf("ID %q is not 128 bits of base64url: %v", s.ID, err)
		}
		if s.User.Subject != u.Subject || s.Tokens.AccessToken != "gho_x" || s.SID != "" {
			t.Fatalf("New did not keep the user and tokens: %+v", s)
		}
		if !s.Created.Equal(now) || !s.LastSeen.Equal(now) || !s.Expires.Equal(now.Add(time.Hour)) {
			t.Fatalf("times %v %v %v", s.Created, s.LastSeen, s.Expires)
		}
	}
}

func TestNewIDUnique(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		id := NewID()
		if len(id) != 22 || seen[id] {
			t.Fatalf("NewID gave %q (length %d, seen before %v)", id, len(id), seen[id])
		}
		seen[id] = true
	}
}

func TestSessionValid(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name string
		s    *Session
		want bool
	}{
		{"nil", nil, false},
		{"zero Expires", &Session{}, false},
		{"before Expires", &Session{Expires: now.Add(time.Nanosecond)}, true},
		{"at Expires", &Session{Expires: now}, false},
		{"after Expires", &Session{Expires: now.Add(-time.Second)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.Valid(now); got != tc.want {
				t.Fatalf("Valid = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestUserID(t *testing.T) {
	for _, tc := range []struct {
		u    User
		want string
	}{
		{User{Provider: "google", Subject: "123"}, "google|123"},
		{User{Provider: "github", Subject: "123"}, "github|123"},
		{User{Provider: "corp", Subject: "a|b", Email: "x@example.com"}, "corp|a|b"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.u.ID(); got != tc.want {
				t.Fatalf("ID = %q, want %q", got, tc.want)
			}
		})
	}
}

// revocationSessions are the sessions the revocation tables run against:
// the account corp|ada with several provider sessions and none, another
// account, another provider, and a session opened after the revocations.
func revocationSessions(now time.Time) map[string]*Session {
	mk := func(id, provider, sub, sid string, created time.Time) *Session {
		return &Session{ID: id, SID: sid, Created: created, Expires: created.Add(time.Hour), User: User{Provider: provider, Subject: sub}}
	}
	before := now.Add(-time.Minute)
	return map[string]*Session{
		"ada sid-1":       mk("s1", "corp", "ada", "sid-1", before),
		"ada sid-2":       mk("s2", "corp", "ada", "sid-2", before),
		"ada no sid":      mk("s3", "corp", "ada", "", before),
		"ada sid-1 late":  mk("s4", "corp", "ada", "sid-1", now.Add(time.Second)),
		"ada no sid late": mk("s5", "corp", "ada", "", now.Add(time.Second)),
		"grace sid-1":     mk("s6", "corp", "grace", "sid-1", before),
		"grace no sid":    mk("s7", "corp", "grace", "", before),
		"other provider":  mk("s8", "other", "ada", "sid-1", before),
	}
}

// TestRevocationSIDAndSubject: a back-channel logout with both "sid" and
// "sub" ends the account's sessions of that provider session and the
// account's sessions without a sid; not its other provider sessions,
// another account's, or sessions opened after it.
func TestRevocationSIDAndSubject(t *testing.T) {
	now := time.Now()
	r := Revocation{Provider: "corp", Subject: "ada", SID: "sid-1", Before: now, Expires: now.Add(time.Hour)}
	want := map[string]bool{"ada sid-1": true, "ada no sid": true}
	for name, s := range revocationSessions(now) {
		if got := r.Matches(s); got != want[name] {
			t.Errorf("%s: Matches = %v, want %v", name, got, want[name])
		}
	}
}

// TestRevocationShapes: each documented shape ends exactly its sessions,
// and every other combination is malformed and matches nothing.
func TestRevocationShapes(t *testing.T) {
	now := time.Now()
	exp := now.Add(time.Hour)
	ss := revocationSessions(now)
	for _, tc := range []struct {
		name string
		r    Revocation
		ends []string // nil: malformed
	}{
		{"one session", Revocation{ID: "s1", Provider: "corp", Subject: "ada", Before: ss["ada sid-1"].Created.Add(time.Nanosecond), Expires: exp},
			[]string{"ada sid-1"}},
		{"one session, Before at its creation", Revocation{ID: "s1", Provider: "corp", Subject: "ada", Before: ss["ada sid-1"].Created, Expires: exp},
			[]string{}},
		{"one session, wrong account", Revocation{ID: "s1", Provider: "corp", Subject: "grace", Before: now, Expires: exp},
			[]string{}},
		{"provider session", Revocation{Provider: "corp", SID: "sid-1", Before: now, Expires: exp},
			[]string{"ada sid-1", "grace sid-1"}},
		{"account", Revocation{Provider: "corp", Subject: "ada", Before: now, Expires: exp},
			[]string{"ada sid-1", "ada sid-2", "ada no sid"}},
		{"provider session of an account", Revocation{Provider: "corp", Subject: "ada", SID: "sid-1", Before: now, Expires: exp},
			[]string{"ada sid-1", "ada no sid"}},
		{"malformed: nothing", Revocation{Before: now, Expires: exp}, nil},
		{"malformed: no provider", Revocation{Subject: "ada", Before: now, Expires: exp}, nil},
		{"malformed: no Before", Revocation{Provider: "corp", Subject: "ada", Expires: exp}, nil},
		{"malformed: ID alone", Revocation{ID: "s1", Provider: "corp", Before: now, Expires: exp}, nil},
		{"malformed: ID with SID", Revocation{ID: "s1", Provider: "corp", Subject: "ada", SID: "sid-1", Before: now, Expires: exp}, nil},
		{"malformed: provider only", Revocation{Provider: "corp", Before: now, Expires: exp}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.WellFormed(); got != (tc.ends != nil) {
				t.Fatalf("WellFormed = %v", got)
			}
			for name, s := range ss {
				want := false
				for _, e := range tc.ends {
					want = want || e == name
				}
				if got := tc.r.Matches(s); got != want {
					t.Errorf("%s: Matches = %v, want %v", name, got, want)
				}
			}
		})
	}
}
