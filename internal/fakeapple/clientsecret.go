package fakeapple

import (
	"errors"
	"time"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

// maxSecretLifetime is Apple's bound on a client secret's exp - iat:
// 15777000 seconds, six months.
const maxSecretLifetime = 15777000

// checkSecret verifies a client secret JWT completely with
// [opkit.ClientJWT] and returns "" when it is good, or why it is not, the
// [opkit.ClientJWTError] check: "malformed", "alg", "kid", "signature",
// "iss", "sub", "aud", "iat", "exp", "expired", "lifetime".
func (s *Server) checkSecret(secret string) string {
	_, err := opkit.ClientJWT{
		Key: &s.clientKey.PublicKey, Alg: "ES256", KeyID: KeyID,
		Issuer: TeamID, Subject: ServicesID, Audience: "https://appleid.apple.com",
		MaxLifetime: maxSecretLifetime * time.Second, Now: s.cfg.Clock(),
	}.Verify(secret)
	var e *opkit.ClientJWTError
	if errors.As(err, &e) {
		return e.Check
	}
	return ""
}
