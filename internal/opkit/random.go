package opkit

import (
	"crypto/rand"
	"encoding/base64"
)

// RandomToken returns prefix followed by 24 random bytes in unpadded
// base64url (32 characters): an authorization code, access or refresh
// token that cannot be guessed, the prefix giving it a provider's look
// ("ya29." for Google, say).
func RandomToken(prefix string) string {
	b := make([]byte, 24)
	rand.Read(b) // never returns an error; it crashes the program instead
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}
