package session

import "time"

// Revocation is one entry of a revocation list: a statement that some
// sessions have ended even though their cookies may still be presented. A
// cookie store cannot forget a copied cookie; a revocation list checked on
// every request can.
//
// Exactly one of three shapes is used:
//   - ID set: that one session ended (a local logout);
//   - Provider and SID set: every session the provider opened under that
//     provider session id ended (OpenID Connect Back-Channel Logout with a
//     "sid");
//   - Provider and Subject set: every session of that user at that
//     provider created before Before ended (back-channel logout with only
//     a "sub", "sign out everywhere", an administrator's action).
type Revocation struct {
	ID       string
	Provider string
	SID      string
	Subject  string
	Before   time.Time
	// Expires is when the entry may be forgotten: no session it matches
	// can be alive after it (the latest possible end of such a session).
	Expires time.Time
}

// Matches reports whether the revocation ends s.
func (r *Revocation) Matches(s *Session) bool {
	switch {
	case r.ID != "":
		return s.ID == r.ID
	case r.Provider != s.User.Provider:
		return false
	case r.SID != "":
		return s.SID == r.SID
	case r.Subject != "":
		return s.User.Subject == r.Subject && s.Created.Before(r.Before)
	}
	return false
}
