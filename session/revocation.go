package session

import "time"

// Revocation is one entry of a revocation list: a statement that some
// sessions have ended even though their cookies may still be presented. A
// cookie store cannot forget a copied cookie; a revocation list checked on
// every request can.
//
// Every Revocation names a Provider and ends only sessions of that
// provider created before Before, and exactly one of four shapes is used.
// The middleware builds only these, and [Revocation.Matches] is their
// definition:
//
//   - One session (a local logout): ID, Provider and Subject set, SID
//     empty, Before just after the session's Created. It ends the session
//     with that ID. Provider and Subject name its account, so that a store
//     can group the entries of one account.
//   - A provider session (OpenID Connect Back-Channel Logout with only a
//     "sid"): Provider and SID set, ID and Subject empty, Before when the
//     logout token arrived. It ends every session opened in that provider
//     session.
//   - An account (back-channel logout with only a "sub"; the middleware's
//     EndSessions, "sign out everywhere"): Provider and Subject set, ID and
//     SID empty, Before when the token arrived or EndSessions was called.
//     It ends every session of the account.
//   - A provider session of an account (back-channel logout with both
//     "sid" and "sub"): Provider, Subject and SID set, ID empty, Before
//     when the token arrived. It ends the account's sessions opened in
//     that provider session, and the account's sessions without a SID:
//     their ID token carried no "sid", so nothing shows they were opened
//     in another provider session.
//
// Any other combination (no Provider or no Before, an ID without a
// Subject or with a SID, neither ID nor Subject nor SID) is malformed: it
// matches nothing, and a store refuses to add it ([Revocation.WellFormed]).
//
// Before bounds every shape, so a store that must bound the entries of one
// account can fold several of them into one account entry whose Before is
// the latest of theirs: that entry ends every session the folded ones
// ended, and also the account's other sessions created before it. A
// session opened after a back-channel logout arrived is never ended by it,
// even with the same "sid" (the provider ended that session first).
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

// WellFormed reports whether r has one of the four shapes of
// [Revocation].
func (r *Revocation) WellFormed() bool {
	switch {
	case r.Provider == "" || r.Before.IsZero():
		return false
	case r.ID != "":
		return r.Subject != "" && r.SID == ""
	}
	return r.Subject != "" || r.SID != ""
}

// Matches reports whether the revocation ends s. A malformed revocation
// matches nothing.
func (r *Revocation) Matches(s *Session) bool {
	if !r.WellFormed() || s.User.Provider != r.Provider || !s.Created.Before(r.Before) {
		return false
	}
	switch {
	case r.ID != "":
		return s.ID == r.ID && s.User.Subject == r.Subject
	case r.Subject == "":
		return s.SID == r.SID
	case r.SID == "":
		return s.User.Subject == r.Subject
	}
	return s.User.Subject == r.Subject && (s.SID == r.SID || s.SID == "")
}
