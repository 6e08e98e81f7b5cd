package fakeapple

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"time"
)

// maxSecretLifetime is Apple's bound on a client secret's exp - iat:
// 15777000 seconds, six months.
const maxSecretLifetime = 15777000

// clockSkew is the leeway for an iat in the future.
const clockSkew = time.Minute

// checkSecret verifies a client secret JWT completely and returns "" when
// it is good, or why it is not: "malformed", "alg", "kid", "signature",
// "iss", "sub", "aud", "iat", "exp", "expired", "lifetime".
func (s *Server) checkSecret(secret string) string {
	parts := strings.Split(secret, ".")
	if len(parts) != 3 {
		return "malformed"
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if !decodePart(parts[0], &header) {
		return "malformed"
	}
	switch {
	case header.Alg != "ES256":
		return "alg"
	case header.Kid != KeyID:
		return "kid"
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return "signature"
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, ss := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(&s.clientKey.PublicKey, digest[:], r, ss) {
		return "signature"
	}
	var c struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Iat *int64          `json:"iat"`
		Exp *int64          `json:"exp"`
	}
	if !decodePart(parts[1], &c) {
		return "malformed"
	}
	now := s.cfg.Clock()
	switch {
	case c.Iss != TeamID:
		return "iss"
	case c.Sub != ServicesID:
		return "sub"
	case !bytes.Equal(c.Aud, []byte(`"https://appleid.apple.com"`)):
		return "aud"
	case c.Iat == nil || time.Unix(*c.Iat, 0).After(now.Add(clockSkew)):
		return "iat"
	case c.Exp == nil || *c.Exp <= *c.Iat:
		return "exp"
	case !now.Before(time.Unix(*c.Exp, 0)):
		return "expired"
	case *c.Exp-*c.Iat > maxSecretLifetime:
		return "lifetime"
	}
	return ""
}

func decodePart(part string, v any) bool {
	b, err := base64.RawURLEncoding.DecodeString(part)
	return err == nil && json.Unmarshal(b, v) == nil
}
