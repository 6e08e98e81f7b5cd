package devoidc

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

// maxClientScope bounds the scope parameter of a client_credentials
// request, so that a JWT access token stays well within maxJWTLen.
const maxClientScope = 1024

// clientCredentials performs the client_credentials grant (RFC 6749 §4.4,
// https://www.rfc-editor.org/rfc/rfc6749#section-4.4) for client, already
// authenticated like any token request, and writes the response: an access
// token whose subject is the client ID (RFC 9068 §2.2 for the JWT form),
// without a refresh token (§4.4.3) or an ID token, since no user takes
// part.
//
// The scope parameter is optional. The scopes asked are granted as they
// are, deduplicated, whatever they are: devoidc does not know what the
// scopes of an API mean. Without a scope parameter the token has no scope.
// The token works at the introspection and revocation endpoints; the
// userinfo endpoint refuses it, having no user to describe.
func (s *Server) clientCredentials(w http.ResponseWriter, form url.Values, client Client) {
	scope, oerr := clientScope(form)
	if oerr != nil {
		s.log.Info("devoidc: token request refused", "client_id", client.ID, "error", oerr.code)
		writeOAuthError(w, oerr)
		return
	}
	now := s.now()
	value, key := s.newAccessValue()
	at := accessToken{
		clientID: client.ID,
		subject:  client.ID,
		scope:    scope,
		issued:   now,
		expires:  now.Add(s.accessTTL),
	}
	access, err := s.encodeAccess(value, at)
	if err != nil {
		s.log.Error("devoidc: sign access token", "client_id", client.ID, "err", err)
		writeOAuthError(w, &oauthError{code: "server_error", description: "the access token could not be signed", status: http.StatusInternalServerError})
		return
	}
	s.store.putAccess(now, key, at)
	s.stats.clientCredentials.Add(1)
	s.log.Info("devoidc: client credentials granted", "client_id", client.ID)
	opkit.WriteJSON(w, http.StatusOK, tokenResponse{
		AccessToken: access,
		TokenType:   "Bearer",
		ExpiresIn:   int64(s.accessTTL / time.Second),
		Scope:       strings.Join(scope, " "),
	})
}

// clientScope reads the optional scope parameter of a client_credentials
// request: scope-tokens of RFC 6749 §3.3 separated by spaces, returned in
// order without duplicates. A parameter that is present must not be empty.
func clientScope(form url.Values) ([]string, *oauthError) {
	if !form.Has("scope") {
		return nil, nil
	}
	raw := form.Get("scope")
	if len(raw) > maxClientScope {
		return nil, invalidRequest("scope is too long")
	}
	var scope []string
	for _, sc := range strings.Split(raw, " ") {
		if sc == "" {
			continue
		}
		if !validScopeToken(sc) {
			return nil, &oauthError{code: "invalid_scope", description: "scope must be scope-tokens separated by spaces (RFC 6749 §3.3)", status: http.StatusBadRequest}
		}
		if !slices.Contains(scope, sc) {
			scope = append(scope, sc)
		}
	}
	if len(scope) == 0 {
		return nil, invalidRequest("scope must not be empty")
	}
	return scope, nil
}

// validScopeToken reports whether sc is a scope-token of RFC 6749 §3.3:
// 1*( %x21 / %x23-5B / %x5D-7E ), printable ASCII without space, '"' or
// '\'.
func validScopeToken(sc string) bool {
	for i := 0; i < len(sc); i++ {
		if c := sc[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return sc != ""
}
