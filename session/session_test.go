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
