package opkit

import (
	"strings"
	"testing"
)

// The example of RFC 7636 Appendix B.
const (
	rfcVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	rfcChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

func TestS256ChallengeKnownAnswer(t *testing.T) {
	if got := S256Challenge(rfcVerifier); got != rfcChallenge {
		t.Fatalf("S256Challenge(%q) = %q, want %q (RFC 7636 Appendix B)", rfcVerifier, got, rfcChallenge)
	}
}

func TestValidVerifier(t *testing.T) {
	for _, tc := range []struct {
		name, v string
		want    bool
	}{
		{"RFC 7636 Appendix B", rfcVerifier, true},
		{"43 characters, the minimum", strings.Repeat("a", 43), true},
		{"128 characters, the maximum", strings.Repeat("Z", 128), true},
		{"every unreserved punctuation", strings.Repeat("-._~", 11), true},
		{"empty", "", false},
		{"42 characters", strings.Repeat("a", 42), false},
		{"129 characters", strings.Repeat("a", 129), false},
		{"space", strings.Repeat("a", 42) + " ", false},
		{"plus", strings.Repeat("a", 42) + "+", false},
		{"slash", strings.Repeat("a", 42) + "/", false},
		{"padding", strings.Repeat("a", 42) + "=", false},
		{"percent escape", strings.Repeat("a", 40) + "%7E", false},
		{"non-ASCII", strings.Repeat("a", 41) + "é", false},
		{"NUL", strings.Repeat("a", 42) + "\x00", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidVerifier(tc.v); got != tc.want {
				t.Errorf("ValidVerifier(%q) = %v, want %v", tc.v, got, tc.want)
			}
		})
	}
}

func TestValidS256Challenge(t *testing.T) {
	for _, tc := range []struct {
		name, c string
		want    bool
	}{
		{"RFC 7636 Appendix B", rfcChallenge, true},
		{"digest of a short string", S256Challenge("x"), true},
		{"empty", "", false},
		{"42 characters", rfcChallenge[:42], false},
		{"44 characters", rfcChallenge + "A", false},
		{"padded", rfcChallenge[:42] + "=", false},
		{"standard base64", rfcChallenge[:41] + "+/", false},
		{"tilde is a verifier character only", rfcChallenge[:42] + "~", false},
		{"dot is a verifier character only", rfcChallenge[:42] + ".", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidS256Challenge(tc.c); got != tc.want {
				t.Errorf("ValidS256Challenge(%q) = %v, want %v", tc.c, got, tc.want)
			}
		})
	}
}

// TestVerifyS256 includes the cases where the copies this kit replaced
// disagreed: internal/oidctest, fakegoogle and fakegithub compared digests
// only, so a verifier of the wrong syntax whose digest matched was
// accepted; devoidc refused it. VerifyS256 refuses it everywhere.
func TestVerifyS256(t *testing.T) {
	for _, tc := range []struct {
		name, verifier, challenge string
		want                      bool
	}{
		{"RFC 7636 Appendix B", rfcVerifier, rfcChallenge, true},
		{"128-character verifier", strings.Repeat("~", 128), S256Challenge(strings.Repeat("~", 128)), true},
		{"another verifier", strings.Repeat("a", 43), rfcChallenge, false},
		{"one character changed", "e" + rfcVerifier[1:], rfcChallenge, false},
		{"challenge sent as the verifier (plain)", rfcChallenge, rfcChallenge, false},
		{"empty verifier, digest of empty", "", S256Challenge(""), false},
		{"short verifier, digest matches", "abc", S256Challenge("abc"), false},
		{"verifier too long, digest matches", strings.Repeat("a", 129), S256Challenge(strings.Repeat("a", 129)), false},
		{"verifier with a space, digest matches", rfcVerifier + " ", S256Challenge(rfcVerifier + " "), false},
		{"empty challenge", rfcVerifier, "", false},
		{"challenge with padding", rfcVerifier, rfcChallenge + "=", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := VerifyS256(tc.verifier, tc.challenge); got != tc.want {
				t.Errorf("VerifyS256(%q, %q) = %v, want %v", tc.verifier, tc.challenge, got, tc.want)
			}
		})
	}
}
