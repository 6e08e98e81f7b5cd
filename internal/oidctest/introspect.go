package oidctest

import (
	"net/http"
	"time"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

// issuedAccess is what the server remembers of an access token it issued,
// for its introspection endpoint.
type issuedAccess struct {
	scope    string
	iat, exp time.Time
}

// IssueAccessToken returns a fresh opaque access token, as if the token
// endpoint had issued it with scope: valid at the UserInfo endpoint, and
// active at the introspection endpoint until lifetime has passed (by the
// wall clock). It is listed in [Server.Secrets].
func (s *Server) IssueAccessToken(scope string, lifetime time.Duration) string {
	at := random(24)
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.access[at] = true
	s.issued[at] = issuedAccess{scope: scope, iat: now, exp: now.Add(lifetime)}
	s.secrets = append(s.secrets, at)
	return at
}

// serveIntrospect is a strict introspection endpoint (RFC 7662 §2): POST,
// a form body with one "token" (and an optional token_type_hint), and
// the client authenticated as at the token endpoint. An access token
// the server issued and that has not expired is active, with iss, sub,
// client_id, scope, token_type, exp and iat (no aud); anything else is
// {"active": false}. [Server.Introspection] edits the answer and
// [Server.IntrospectionResponse] replaces it.
func (s *Server) serveIntrospect(w http.ResponseWriter, r *http.Request) {
	if s.IntrospectionResponse != nil && s.IntrospectionResponse(w, r) {
		return
	}
	if _, ok := s.clientForm(w, r); !ok {
		return
	}
	token := r.PostForm.Get("token")
	if token == "" {
		opkit.WriteError(w, http.StatusBadRequest, "invalid_request", "token required")
		return
	}
	s.mu.Lock()
	info, ok := s.issued[token]
	s.mu.Unlock()
	c := Claims{"active": false}
	if ok && time.Now().Before(info.exp) {
		c = Claims{
			"active":     true,
			"iss":        s.URL,
			"sub":        Subject,
			"client_id":  ClientID,
			"scope":      info.scope,
			"token_type": "Bearer",
			"exp":        info.exp.Unix(),
			"iat":        info.iat.Unix(),
		}
	}
	if s.Introspection != nil {
		c = s.Introspection(token, c)
	}
	opkit.WriteJSON(w, http.StatusOK, c)
}
