package devoidc

import (
	"net/http"
	"slices"
	"time"
)

// opSession is the provider's own browser session: who signed in, when,
// and how (acr, stepup.go). Single sign-on reuses all three: authTime is the
// time of the sign-in, never of a later silent reuse (OpenID Connect Core
// 1.0 §2, auth_time).
//
// The browser holds a random handle in the session cookie; the store keeps
// only its hash. The sid that relying parties see in ID tokens (OpenID
// Connect Back-Channel Logout 1.0 §2.1) is a different random value, so an
// ID token never reveals the cookie that would resume the session.
type opSession struct {
	sid      string
	subject  string
	authTime time.Time
	acr      string // ACRPassword or ACRMultiFactor
	expires  time.Time
}

// putSession stores a new session under the hash of its handle.
func (st *store) putSession(now time.Time, handle string, sess opSession) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.pruneLocked(now)
	st.sessions[tokenHash(handle)] = &sess
}

// session returns the unexpired session with the given handle.
func (st *store) session(now time.Time, handle string) (opSession, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	sess, ok := st.sessions[tokenHash(handle)]
	if !ok || !now.Before(sess.expires) {
		return opSession{}, false
	}
	return *sess, true
}

// sessionBySID returns the session with the given sid, expired or not.
func (st *store) sessionBySID(sid string) (opSession, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, sess := range st.sessions {
		if sess.sid == sid {
			return *sess, true
		}
	}
	return opSession{}, false
}

// forgetSession drops the session with the given handle, leaving its grants
// alone: a new sign-in in the same browser replaces the old session.
func (st *store) forgetSession(handle string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.sessions, tokenHash(handle))
}

// endSessionSID drops the session sid, revokes every grant issued under it
// and returns the IDs of the clients that held those grants.
func (st *store) endSessionSID(sid string) []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	for h, sess := range st.sessions {
		if sess.sid == sid {
			delete(st.sessions, h)
		}
	}
	return st.revokeSessionGrantsLocked(sid)
}

// endedSession is a session ended by endSubject, with the IDs of the
// clients whose grants under it were revoked.
type endedSession struct {
	sid     string
	clients []string
}

// endSubject ends every session of subject: the unexpired sessions, and
// the sids of subject's grants whose session was replaced or expired. It
// drops the sessions, revokes the grants and returns the ended sessions,
// sorted by sid.
func (st *store) endSubject(now time.Time, subject string) []endedSession {
	st.mu.Lock()
	defer st.mu.Unlock()
	var sids []string
	for h, sess := range st.sessions {
		if sess.subject != subject {
			continue
		}
		delete(st.sessions, h)
		if now.Before(sess.expires) {
			sids = append(sids, sess.sid)
		}
	}
	for _, g := range st.grants {
		if g.subject == subject && now.Before(g.expires) {
			sids = append(sids, g.sid)
		}
	}
	slices.Sort(sids)
	sids = slices.Compact(sids)
	ended := make([]endedSession, len(sids))
	for i, sid := range sids {
		ended[i] = endedSession{sid: sid, clients: st.revokeSessionGrantsLocked(sid)}
	}
	return ended
}

// currentSession returns the session named by the request's session
// cookie, if it is valid.
func (s *Server) currentSession(r *http.Request) (opSession, bool) {
	c, err := r.Cookie(s.sessionCookie)
	if err != nil || c.Value == "" {
		return opSession{}, false
	}
	return s.store.session(s.now(), c.Value)
}

// startSession signs subject in at the level acr: it creates a new session
// with a fresh handle and sid (never reusing one the browser presented,
// against session fixation) and auth time, sets the cookie and forgets any
// session it replaces.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, subject, acr string) opSession {
	if old, err := r.Cookie(s.sessionCookie); err == nil && old.Value != "" {
		s.store.forgetSession(old.Value)
	}
	now := s.now()
	handle := randomToken()
	sess := opSession{
		sid:      randomToken()[:22], // 128 bits is plenty for an identifier
		subject:  subject,
		authTime: now,
		acr:      acr,
		expires:  now.Add(sessionLifetime),
	}
	s.store.putSession(now, handle, sess)
	http.SetCookie(w, s.cookie(s.sessionCookie, handle, int(sessionLifetime/time.Second)))
	return sess
}

// clearSessionCookie deletes the session cookie in the browser.
func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, s.cookie(s.sessionCookie, "", -1))
}

// cookie returns a cookie scoped to the issuer's path: HttpOnly,
// SameSite=Lax, and Secure when the issuer is https.
func (s *Server) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     s.cookiePath,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   s.secure,
		SameSite: http.SameSiteLaxMode,
	}
}
