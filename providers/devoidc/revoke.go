package devoidc

import (
	"net/http"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

// handleRevoke serves POST /revoke, token revocation per RFC 7009. The
// client authenticates as at the token endpoint. Revoking a refresh token
// revokes its whole grant, access tokens included (RFC 7009 §2.1); revoking
// an access token, opaque or JWT, revokes only that token. token_type_hint is accepted and
// ignored: both kinds are searched. Unknown tokens, and tokens issued to
// another client, are left alone and answered with 200 like any other, so
// the endpoint reveals nothing about them (RFC 7009 §2.2).
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	opkit.NoStore(w)
	form, client, ok := s.clientForm(w, r, "devoidc: revocation refused")
	if !ok {
		return
	}
	token := form.Get("token")
	if token == "" {
		writeOAuthError(w, invalidRequest("token is required"))
		return
	}
	s.stats.revocations.Add(1)
	if s.store.revoke(s.tokenKey(token), client.ID) {
		s.log.Info("devoidc: token revoked", "client_id", client.ID)
	}
	w.WriteHeader(http.StatusOK)
}
