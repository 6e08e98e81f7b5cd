package devoidc

import (
	"slices"
	"strings"
	"time"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

// supportedScopes are the scopes devoidc grants; others are ignored, as
// RFC 6749 §3.3 allows.
func supportedScopes() []string {
	return []string{"openid", "profile", "email", "groups", "offline_access"}
}

// parseScope splits a scope parameter (RFC 6749 §3.3) and keeps the
// supported scopes, in order and without duplicates.
func parseScope(raw string) []string {
	var out []string
	supported := supportedScopes()
	for _, sc := range strings.Fields(raw) {
		if slices.Contains(supported, sc) && !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out
}

// userClaims are the claims about the user released by scope, in the ID
// token and at the userinfo endpoint (OpenID Connect Core 1.0 §5.4).
type userClaims struct {
	Name              string   `json:"name,omitempty"`
	PreferredUsername string   `json:"preferred_username,omitempty"`
	Email             string   `json:"email,omitempty"`
	EmailVerified     *bool    `json:"email_verified,omitempty"`
	Groups            []string `json:"groups,omitempty"`
}

// claimsFor releases u's claims for scope: profile gives name,
// preferred_username and groups; email gives email and email_verified;
// groups gives groups.
func claimsFor(u User, scope []string) userClaims {
	var c userClaims
	if slices.Contains(scope, "profile") {
		c.Name = u.Name
		c.PreferredUsername = u.PreferredUsername
	}
	if slices.Contains(scope, "email") && u.Email != "" {
		c.Email = u.Email
		c.EmailVerified = &u.EmailVerified
	}
	if slices.Contains(scope, "profile") || slices.Contains(scope, "groups") {
		c.Groups = u.Groups
	}
	return c
}

// idTokenClaims is the payload of an ID token (OpenID Connect Core 1.0
// §2, https://openid.net/specs/openid-connect-core-1_0.html#IDToken).
// "aud" is the client ID as a single string, and "azp" is omitted.
// auth_time, acr and amr describe the sign-in of the OP session (stepup.go),
// which single sign-on and refreshing never change.
type idTokenClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience string   `json:"aud"`
	Expiry   int64    `json:"exp"`
	IssuedAt int64    `json:"iat"`
	AuthTime int64    `json:"auth_time"`
	ACR      string   `json:"acr,omitempty"`
	AMR      []string `json:"amr,omitempty"`
	Nonce    string   `json:"nonce,omitempty"`
	AtHash   string   `json:"at_hash,omitempty"`
	SID      string   `json:"sid,omitempty"`
	userClaims
}

// idToken signs the ID token for g, bound to accessToken by at_hash
// (OpenID Connect Core 1.0 §3.1.3.6: the left half of its SHA-256,
// base64url-encoded).
func (s *Server) idToken(now time.Time, g grantView, accessToken string) (string, error) {
	at := g.access
	u, _ := s.user(at.subject)
	return s.keys.sign(idTokenClaims{
		Issuer:     s.issuer,
		Subject:    at.subject,
		Audience:   at.clientID,
		Expiry:     now.Add(s.idTTL).Unix(),
		IssuedAt:   now.Unix(),
		AuthTime:   at.authTime.Unix(),
		ACR:        at.acr,
		AMR:        amrFor(at.acr),
		Nonce:      g.nonce,
		AtHash:     opkit.AtHash(accessToken),
		SID:        g.sid,
		userClaims: claimsFor(u, at.scope),
	})
}
