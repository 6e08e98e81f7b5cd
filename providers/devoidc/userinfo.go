package devoidc

import (
	"net/http"
	"strings"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

// handleUserInfo serves GET and POST /userinfo (OpenID Connect Core 1.0
// §5.3, https://openid.net/specs/openid-connect-core-1_0.html#UserInfo).
// The access token is accepted only in the Authorization header with the
// Bearer scheme (RFC 6750 §2.1); one in the query string is refused, since
// URLs end up in logs and Referer headers (RFC 6750 §5.3). Opaque and JWT
// access tokens are both accepted, but not those of the client_credentials
// grant, which name no user. The response holds "sub" and the claims the
// token's scope releases.
func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	s.stats.userinfo.Add(1)
	opkit.NoStore(w)
	if r.URL.Query().Has("access_token") {
		bearerError(w, http.StatusBadRequest, `Bearer realm="devoidc", error="invalid_request", error_description="send the access token in the Authorization header"`)
		return
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		// RFC 6750 §3.1: no error code when the request has no credentials.
		bearerError(w, http.StatusUnauthorized, `Bearer realm="devoidc"`)
		return
	}
	scheme, token, _ := strings.Cut(auth, " ")
	token = strings.TrimSpace(token)
	at, ok := s.store.lookupAccess(s.now(), s.tokenKey(token))
	if !strings.EqualFold(scheme, "Bearer") || token == "" || !ok || !at.hasUser() {
		bearerError(w, http.StatusUnauthorized, `Bearer realm="devoidc", error="invalid_token", error_description="the access token is invalid, expired or revoked"`)
		return
	}
	u, _ := s.user(at.subject)
	opkit.WriteJSON(w, http.StatusOK, struct {
		Subject string `json:"sub"`
		userClaims
	}{at.subject, claimsFor(u, at.scope)})
}

// bearerError writes an RFC 6750 §3 error: the details are in the
// WWW-Authenticate header, and the body is empty.
func bearerError(w http.ResponseWriter, status int, challenge string) {
	w.Header().Set("WWW-Authenticate", challenge)
	w.WriteHeader(status)
}
