package oidctest

import (
	"crypto"
	"crypto/subtle"
	"net/http"
	"slices"
	"time"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

// Client authentication methods (OpenID Connect Core 1.0 §9) for
// [WithClientAuth].
const (
	AuthSecretBasic   = "client_secret_basic"
	AuthSecretPost    = "client_secret_post"
	AuthPrivateKeyJWT = "private_key_jwt"
)

// maxAssertionLifetime bounds a client assertion's exp - iat: a client
// assertion is for one request.
const maxAssertionLifetime = 5 * time.Minute

// WithClientAuth makes the token, introspection and revocation endpoints
// accept only these client authentication methods, and the discovery
// document list them in token_endpoint_auth_methods_supported. Default:
// client_secret_basic. private_key_jwt needs [WithClientKey].
func WithClientAuth(methods ...string) Option {
	return func(s *Server) { s.authMethods = slices.Clone(methods) }
}

// WithClientKey registers the client's public key for private_key_jwt:
// an assertion must be signed with it, under kid when kid is not empty.
func WithClientKey(kid string, pub crypto.PublicKey) Option {
	return func(s *Server) { s.clientKID, s.clientKey = kid, pub }
}

// WithRevocation adds a revocation endpoint (/revoke, RFC 7009), listed
// as revocation_endpoint.
func WithRevocation() Option { return func(s *Server) { s.revocation = true } }

// authenticateClient checks the client's credentials in a request to the
// token, introspection or revocation endpoint: exactly one method, one of
// those the server accepts, with [ClientID] and [ClientSecret] or, for
// private_key_jwt, an assertion (RFC 7523 §3 with
// draft-ietf-oauth-rfc7523bis-11 §4) signed with the registered key,
// "typ" client-authentication+jwt, iss and sub the client id, "aud" the
// issuer as a single string, not expired, at most five minutes long, and
// a "jti" not seen before. It returns why it refused, or "".
func (s *Server) authenticateClient(r *http.Request) string {
	_, _, basic := r.BasicAuth()
	var used []string
	if basic {
		used = append(used, AuthSecretBasic)
	}
	if r.PostForm.Has("client_secret") {
		used = append(used, AuthSecretPost)
	}
	if r.PostForm.Has("client_assertion") || r.PostForm.Has("client_assertion_type") {
		used = append(used, AuthPrivateKeyJWT)
	}
	switch {
	case len(used) == 0:
		return "no client authentication"
	case len(used) > 1:
		return "more than one client authentication method"
	case !slices.Contains(s.methods(), used[0]):
		return used[0] + " is not allowed for this client"
	}
	if id := r.PostForm.Get("client_id"); r.PostForm.Has("client_id") && id != ClientID {
		return "client_id does not match"
	}
	switch used[0] {
	case AuthSecretBasic:
		id, secret, ok := opkit.ClientSecretBasic(r)
		if !ok || id != ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(ClientSecret)) != 1 {
			return "wrong client credentials"
		}
	case AuthSecretPost:
		if r.PostForm.Get("client_id") != ClientID || subtle.ConstantTimeCompare([]byte(r.PostForm.Get("client_secret")), []byte(ClientSecret)) != 1 {
			return "wrong client credentials"
		}
	case AuthPrivateKeyJWT:
		return s.checkAssertion(r)
	}
	return ""
}

// checkAssertion checks a private_key_jwt request's assertion.
func (s *Server) checkAssertion(r *http.Request) string {
	if s.clientKey == nil {
		return "no key registered for private_key_jwt"
	}
	if r.PostForm.Get("client_assertion_type") != opkit.ClientAssertionType {
		return "wrong client_assertion_type"
	}
	now := time.Now()
	c, err := opkit.ClientJWT{
		Key:         s.clientKey,
		KeyID:       s.clientKID,
		Typ:         opkit.ClientJWTType,
		Issuer:      ClientID,
		Subject:     ClientID,
		Audience:    s.URL,
		MaxLifetime: maxAssertionLifetime,
		Now:         now,
	}.Verify(r.PostForm.Get("client_assertion"))
	if err != nil {
		return err.Error()
	}
	if c.JTI == "" {
		return "client assertion without jti"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for jti, exp := range s.jtis {
		if now.After(exp) {
			delete(s.jtis, jti)
		}
	}
	if _, seen := s.jtis[c.JTI]; seen {
		return "client assertion replayed (jti seen before)"
	}
	s.jtis[c.JTI] = c.Expiry
	return ""
}

// methods returns the client authentication methods the server accepts.
func (s *Server) methods() []string {
	if len(s.authMethods) == 0 {
		return []string{AuthSecretBasic}
	}
	return s.authMethods
}

// serveRevoke is a revocation endpoint (RFC 7009 §2): the client is
// authenticated like at the token endpoint; the token, whatever it is,
// is forgotten, and the answer is 200.
func (s *Server) serveRevoke(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.clientForm(w, r); !ok {
		return
	}
	token := r.PostForm.Get("token")
	if token == "" {
		opkit.WriteError(w, http.StatusBadRequest, "invalid_request", "token required")
		return
	}
	s.mu.Lock()
	delete(s.access, token)
	delete(s.issued, token)
	delete(s.refresh, token)
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}
