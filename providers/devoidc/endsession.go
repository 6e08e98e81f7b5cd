package devoidc

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

// handleEndSession serves GET and POST /end_session, RP-Initiated Logout
// (https://openid.net/specs/openid-connect-rpinitiated-1_0.html). It reads
// id_token_hint, client_id, post_logout_redirect_uri and state.
//
// It always ends the browser's OP session, found by its cookie or else by
// the sid of a valid id_token_hint, revokes the grants issued under it and
// starts the back-channel logout of their clients, without waiting for it.
// It does not ask the user to confirm. It then redirects to
// post_logout_redirect_uri, with state, only when that URI is registered
// for the client exactly, the client is named by client_id or by the
// hint's aud (both, if given, must agree), and any id_token_hint was
// signed by this provider (an expired hint is fine, §2). Otherwise it shows
// a signed-out page.
func (s *Server) handleEndSession(w http.ResponseWriter, r *http.Request) {
	opkit.NoStore(w)
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
			target = opkit.AppendQuery(target, url.Values{"state": {state}})
		}
		redirect(w, target)
		return
	}
	s.messagePage(w, http.StatusOK, "Signed out", "You are signed out of the development provider. You can close this window.")
}

// EndSessions ends every OP session of the user subject, as if each of
// the user's browsers had logged out, and returns how many sessions ended:
// it is the provider-side "sign out everywhere" for a test or a demo.
// Sessions that a newer sign-in in the same browser replaced, or that
// expired, still count while tokens issued under them are valid.
//
// As at the end_session endpoint, the grants issued under each session are
// revoked, and every client with a BackchannelLogoutURI that obtained
// tokens under it is sent a logout token carrying the session's sid
// (OpenID Connect Back-Channel Logout 1.0). EndSessions does not wait for
// the deliveries: poll [Server.Stats] for BackchannelSent and
// BackchannelFailed. The browsers keep their now useless session cookies.
// An unknown subject ends nothing and returns 0.
func (s *Server) EndSessions(subject string) int {
	ended := s.store.endSubject(s.now(), subject)
	for _, e := range ended {
		s.log.Info("devoidc: OP session ended", "clients", len(e.clients))
		s.sendLogoutTokens(subject, e.sid, e.clients)
	}
	return len(ended)
}

// endSession ends the OP session sess: it forgets the session, revokes
// every grant issued under its sid and sends back-channel logout tokens to
// the clients that held them (backchannel.go), which it returns. The
// end_session endpoint goes through here; EndSessions does the same for
// all of a user's sessions at once.
func (s *Server) endSession(sess opSession) (clients []string) {
	clients = s.store.endSessionSID(sess.sid)
	s.log.Info("devoidc: OP session ended", "clients", len(clients))
	s.sendLogoutTokens(sess.subject, sess.sid, clients)
	return clients
}
