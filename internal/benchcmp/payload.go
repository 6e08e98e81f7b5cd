// Package benchcmp measures the per-request cost of portcullis beside the
// session libraries an application would otherwise use, on one realistic
// OpenID Connect session, in interleaved rounds (see Run and cmd/table).
// It is its own module so that the library's go.mod stays small; it is
// not part of the library.
package benchcmp

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// Payload is the session every contender carries: an RS256 ID token of
// about 1 KB (Google-like claims, 2048-bit key), a 200-character access
// token, a 103-character refresh token, the expiry and the user.
type Payload struct {
	IDToken      string    `json:"id_token"`
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	Expiry       time.Time `json:"expiry"`
	Subject      string    `json:"sub"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
}

// NewPayload returns the realistic payload, its ID token padded with pad
// bytes of random base64url text in a claim (0 for the realistic one).
func NewPayload(key *rsa.PrivateKey, now time.Time, pad int) Payload {
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "f5f4bf46e52b31d9b6249f7309ad0338400680cd", "typ": "JWT"})
	claims := map[string]any{
		"iss": "https://accounts.google.com", "azp": "1234567890-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com",
		"aud": "1234567890-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com", "sub": "110169484474386276334",
		"email": "ada.lovelace@example.com", "email_verified": true, "at_hash": "HK6E_P6Dh8Y93mRNtsDB1Q",
		"name": "Ada Lovelace", "picture": "https://lh3.googleusercontent.com/a/ACg8ocJ9s0mExAmPlEpIcTuReUrL=s96-c",
		"nonce": "n-0S6_WzA2Mj-0S6_WzA2Mj-0S6_WzA2Mj",
		"iat":   now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
	if pad > 0 {
		b := make([]byte, pad*3/4+3)
		rand.Read(b)
		claims["pad"] = base64.RawURLEncoding.EncodeToString(b)[:pad]
	}
	body, _ := json.Marshal(claims)
	signing := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(body)
	h := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
	if err != nil {
		panic(err)
	}
	return Payload{
		IDToken:      signing + "." + base64.RawURLEncoding.EncodeToString(sig),
		AccessToken:  "ya29." + strings.Repeat("a0B1c2D3e4", 19) + "xyzXY",
		RefreshToken: "1//" + strings.Repeat("0gAbCdEfGh", 10),
		Expiry:       now.Add(time.Hour),
		Subject:      "110169484474386276334",
		Email:        "ada.lovelace@example.com",
		Name:         "Ada Lovelace",
	}
}

// TokenBytes is the size of the token set: ID, access and refresh tokens.
func (p Payload) TokenBytes() int { return len(p.IDToken) + len(p.AccessToken) + len(p.RefreshToken) }

// JSONSize is the length of the payload as JSON.
func (p Payload) JSONSize() int {
	b, _ := json.Marshal(p)
	return len(b)
}

// PayloadWithTokens returns a payload whose token set is about n bytes.
func PayloadWithTokens(key *rsa.PrivateKey, now time.Time, n int) Payload {
	p := NewPayload(key, now, 0)
	pad := (n - p.TokenBytes()) * 3 / 4 // the claim is base64-encoded once more in the token
	if pad < 0 {
		pad = 0
	}
	return NewPayload(key, now, pad)
}
