package devoidc

import (
	"net/http"
	"strings"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

// introspection is the introspection response of RFC 7662 §2.2
// (https://www.rfc-editor.org/rfc/rfc7662#section-2.2). For a token that is
// not active, every member but "active" is left out.
type introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Expiry    int64  `json:"exp,omitempty"`
	IssuedAt  int64  `json:"iat,omitempty"`
	Subject   string `json:"sub,omitempty"`
	Audience  string `json:"aud,omitempty"`
	Issuer    string `json:"iss,omitempty"`
}

// handleIntrospect serves POST /introspect, token introspection per RFC
// 7662. The caller authenticates as at the token endpoint, and any
// registered client may introspect any token: a resource server is
// registered as a client of its own (§2.1, §4).
//
// A live access token that devoidc issued, opaque or JWT, is active: the
// answer carries sub (the user, or the client ID for the client_credentials
// grant), client_id, scope, exp, iat, iss, token_type "Bearer" and, when
// [Config.AccessTokenAudience] is set, aud. Anything else is
// {"active":false} (§2.2): an expired or revoked access token, one from
// before a restart, a refresh token, an ID token, or garbage.
// token_type_hint is accepted and ignored.
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	s.stats.introspect.Add(1)
	opkit.NoStore(w)
	form, _, ok := s.clientForm(w, r, "devoidc: introspection refused")
	if !ok {
		return
	}
	token := form.Get("token")
	if token == "" {
		writeOAuthError(w, invalidRequest("token is required"))
		return
	}
	at, ok := s.store.lookupAccess(s.now(), s.tokenKey(token))
	if !ok {
		opkit.WriteJSON(w, http.StatusOK, introspection{})
		return
	}
	opkit.WriteJSON(w, http.StatusOK, introspection{
		Active:    true,
		Scope:     strings.Join(at.scope, " "),
		ClientID:  at.clientID,
		TokenType: "Bearer",
		Expiry:    at.expires.Unix(),
		IssuedAt:  at.issued.Unix(),
		Subject:   at.subject,
		Audience:  s.atAudience,
		Issuer:    s.issuer,
	})
}
