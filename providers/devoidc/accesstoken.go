package devoidc

import (
	"strings"
	"time"
)

// Access tokens are opaque by default: 43 random characters, which only
// devoidc can read (at the userinfo and introspection endpoints). With
// Config.AccessTokenAudience they are JWTs in the profile of RFC 9068
// (https://www.rfc-editor.org/rfc/rfc9068), which a resource server
// verifies by itself against the JWKS.
//
// Either way the store keeps a record of every access token, so that
// revocation, the end of the OP session and introspection see it. An
// opaque token is stored under its hash, like every other secret; a JWT
// under the hash of its jti with a prefix, so that the jti, which resource
// servers may log, is never itself a credential.

// atJWTType is the typ header of a JWT access token (RFC 9068 §2.1).
const atJWTType = "at+jwt"

// accessToken is the record of an issued access token, opaque or JWT.
type accessToken struct {
	grantID  string // empty for the client_credentials grant: no user
	clientID string
	subject  string // the user, or the client ID when there is no user
	scope    []string
	authTime time.Time // zero without a user
	acr      string    // empty without a user
	issued   time.Time
	expires  time.Time
}

// hasUser reports whether a user authenticated for the token, which the
// client_credentials grant (clientcredentials.go) never involves.
func (at accessToken) hasUser() bool { return at.grantID != "" }

// accessTokenClaims is the payload of a JWT access token (RFC 9068 §2.2,
// https://www.rfc-editor.org/rfc/rfc9068#section-2.2). auth_time, acr and
// amr are there when a user authenticated (§2.2.1); scope is
// space-separated and left out when empty (§2.2.3).
type accessTokenClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience string   `json:"aud"`
	Expiry   int64    `json:"exp"`
	IssuedAt int64    `json:"iat"`
	JTI      string   `json:"jti"`
	ClientID string   `json:"client_id"`
	Scope    string   `json:"scope,omitempty"`
	AuthTime int64    `json:"auth_time,omitempty"`
	ACR      string   `json:"acr,omitempty"`
	AMR      []string `json:"amr,omitempty"`
	// The user's claims released by the grant's scope, as in the ID
	// token (RFC 9068 §2.2.3.1 allows identity claims): email and
	// email_verified, groups, so an API's policy can judge the user.
	userClaims
}

// newAccessValue draws a new access token: the opaque token itself, or the
// jti of a JWT one, and the key under which the store keeps its record.
func (s *Server) newAccessValue() (value, key string) {
	value = randomToken()
	if s.atAudience != "" {
		return value, jtiKey(value)
	}
	return value, tokenHash(value)
}

// jtiKey is the store key of the JWT access token with the given jti.
func jtiKey(jti string) string { return tokenHash("devoidc at+jwt jti\x00" + jti) }

// encodeAccess returns the access token handed to the client for the record
// at, drawn as value by newAccessValue: value itself when access tokens are
// opaque, else the JWT whose jti it is, signed like the ID tokens with the
// header typ "at+jwt" (RFC 9068 §2.1).
func (s *Server) encodeAccess(value string, at accessToken) (string, error) {
	if s.atAudience == "" {
		return value, nil
	}
	c := accessTokenClaims{
		Issuer:   s.issuer,
		Subject:  at.subject,
		Audience: s.atAudience,
		Expiry:   at.expires.Unix(),
		IssuedAt: at.issued.Unix(),
		JTI:      value,
		ClientID: at.clientID,
		Scope:    strings.Join(at.scope, " "),
	}
	if at.hasUser() {
		c.AuthTime = at.authTime.Unix()
		c.ACR = at.acr
		c.AMR = amrFor(at.acr)
		if u, ok := s.user(at.subject); ok {
			c.userClaims = claimsFor(u, at.scope)
		}
	}
	return s.keys.signTyped(atJWTType, c)
}

// tokenKey returns the store key of a token presented to the userinfo,
// revocation or introspection endpoint: for a JWT access token that this
// provider signed, the key of its jti; for anything else its hash, the key
// of opaque access tokens and of refresh tokens. A token that is neither
// gets a key nothing is stored under.
func (s *Server) tokenKey(token string) string {
	if s.atAudience != "" && strings.Count(token, ".") == 2 {
		var c accessTokenClaims
		if s.keys.verifyTyped(token, atJWTType, &c) == nil && c.Issuer == s.issuer && c.JTI != "" {
			return jtiKey(c.JTI)
		}
	}
	return tokenHash(token)
}

// putAccess stores the record of an access token that belongs to no grant:
// one issued by the client_credentials grant.
func (st *store) putAccess(now time.Time, key string, at accessToken) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.pruneLocked(now)
	st.access[key] = &at
}

// lookupAccess returns the record stored under key ([Server.tokenKey]) if
// it is an unexpired, unrevoked access token.
func (st *store) lookupAccess(now time.Time, key string) (accessToken, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	at, ok := st.access[key]
	if !ok || !now.Before(at.expires) {
		return accessToken{}, false
	}
	return *at, true
}
