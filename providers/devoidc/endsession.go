package devoidc

import (
	"net/http"
	"net/url"
	"slices"
)

// handleEndSession serves GET and POST /end_session, RP-Initiated Logout
// (https://openid.net/specs/openid-connect-rpinitiated-1_0.html). It reads
// id_token_hint, client_id, post_logout_redirect_uri and state.
//
// It always ends the browser's OP session, found by its cookie or else by
// the sid of a valid id_token_hint, and revokes the grants issued under it.
// It does not ask the user to confirm. It then redirects to
// post_logout_redirect_uri, with state, only when that URI is registered
// for the client exactly, the client is named by client_id or by the
// hint's aud (both, if given, must agree), and any id_token_hint was
// signed by this provider (an expired hint is fine, §2). Otherwise it shows
// a signed-out page.
func (s *Server) handleEndSession(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			s.messagePage(w, http.StatusBadRequest, "Request refused", "The logout request could not be read.")
			return
		}
		params = r.PostForm
	}

	hintOK := true
	var hint idTokenClaims
	if raw := params.Get("id_token_hint"); raw != "" {
		hintOK = s.keys.verify(raw, &hint) == nil && hint.Issuer == s.issuer
	}
	clientID := params.Get("client_id")
	if hintOK && hint.Audience != "" {
		if clientID == "" {
			clientID = hint.Audience
		} else if clientID != hint.Audience {
			hintOK = false
		}
	}

	sess, ok := s.currentSession(r)
	if !ok && hintOK && hint.SID != "" {
		sess, ok = s.store.sessionBySID(hint.SID)
	}
	if ok {
		s.endSession(sess)
	}
	s.clearSessionCookie(w)

	target := params.Get("post_logout_redirect_uri")
	c, known := s.clients[clientID]
	if target != "" && hintOK && known && slices.Contains(c.PostLogoutRedirectURIs, target) {
		if state := params.Get("state"); state != "" {
			target = appendQuery(target, url.Values{"state": {state}})
		}
		redirect(w, target)
		return
	}
	s.messagePage(w, http.StatusOK, "Signed out", "You are signed out of the development provider. You can close this window.")
}

// endSession ends the OP session sess: it forgets the session and revokes
// every grant issued under its sid. Every way a session ends goes through
// here.
//
// Back-channel logout (not implemented yet) belongs here: the returned
// clients are the ones to send a logout token to, at their
// BackchannelLogoutURI, with sess.subject and sess.sid.
func (s *Server) endSession(sess opSession) (clients []string) {
	clients = s.store.endSessionSID(sess.sid)
	s.log.Info("devoidc: OP session ended", "clients", len(clients))
	return clients
}
