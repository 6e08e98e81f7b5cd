package opkit

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// S256Challenge returns the S256 code_challenge of verifier:
// BASE64URL(SHA256(ASCII(verifier))) without padding (RFC 7636 §4.2). It
// does not check the verifier's syntax; [VerifyS256] does.
func S256Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ValidVerifier reports whether v has the code_verifier syntax of RFC 7636
// §4.1: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" /
// "~".
func ValidVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if b := v[i]; !isAlnum(b) && b != '-' && b != '.' && b != '_' && b != '~' {
			return false
		}
	}
	return true
}

// ValidS256Challenge reports whether c can be an S256 code_challenge: the
// 43 characters of the unpadded base64url encoding of a SHA-256 digest
// (RFC 7636 §4.2, RFC 4648 §5). A provider checks this at the
// authorization endpoint, before it stores the challenge.
func ValidS256Challenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	for i := 0; i < len(c); i++ {
		if b := c[i]; !isAlnum(b) && b != '-' && b != '_' {
			return false
		}
	}
	return true
}

// VerifyS256 is the token endpoint's PKCE check (RFC 7636 §4.6) for the
// S256 method: verifier must have the syntax of §4.1 ([ValidVerifier]) and
// its [S256Challenge] must equal challenge, compared in constant time. An
// empty or malformed verifier never matches, whatever the challenge. The
// "plain" method is not offered: it protects nothing once the challenge
// leaks (RFC 9700 §2.1.1).
func VerifyS256(verifier, challenge string) bool {
	if !ValidVerifier(verifier) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(S256Challenge(verifier)), []byte(challenge)) == 1
}

func isAlnum(b byte) bool {
	return b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9'
}
