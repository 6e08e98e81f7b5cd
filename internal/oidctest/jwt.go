package oidctest

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"sync"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

// Signing chooses how [Server.Sign] signs a JWT: the key, the algorithm, and
// the header members that go with them.
type Signing int

const (
	// SignRS256 signs with the server's published RSA key ("k1", or the
	// newest after [Server.Rotate]). The default.
	SignRS256 Signing = iota
	// SignRS256Unpublished signs with an RSA key that is in no key set,
	// under kid "k1".
	SignRS256Unpublished
	// SignES256 signs with the P-256 key "e1", published with [WithECKey].
	SignES256
	// SignHS256Confusion signs with HMAC-SHA256 keyed with the PEM encoding
	// of the published RSA public key: the RS256/HS256 confusion attack.
	SignHS256Confusion
	// SignNone sends an empty signature; alg defaults to "none" (set
	// Header.Alg to "None" or "NONE" for the variants).
	SignNone
	// SignCorrupted is SignRS256 with one byte of the signature flipped.
	SignCorrupted
	// SignEmbeddedJWK signs with an attacker's RSA key and embeds its
	// public key in a "jwk" header (kid "attacker").
	SignEmbeddedJWK
	// SignJKU signs with the attacker's RSA key and points a "jku" header
	// at URL+[PathAttackerJWKS], which serves it (kid "attacker").
	SignJKU
)

// Header describes a JWT's protected header. Zero fields take the
// [Signing]'s defaults.
type Header struct {
	// Sign chooses the key and algorithm; default SignRS256.
	Sign Signing
	// Alg is the "alg" member; default the Signing's algorithm ("RS256",
	// "ES256", "HS256", "none"). Changing it does not change how the token
	// is signed.
	Alg string
	// Kid is the "kid" member; default the signing key's id.
	Kid string
	// Typ is the "typ" member; default "JWT".
	Typ string
	// Extra members are set last and override the above; a nil value
	// removes the member, e.g. {"kid": nil} sends no kid.
	Extra map[string]any
}

// Sign returns a compact JWS of claims with header h.
func (s *Server) Sign(c Claims, h Header) string {
	payload, err := json.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("oidctest: marshal claims: %v", err))
	}
	return s.SignRaw(h, payload)
}

// SignRaw returns a compact JWS of an arbitrary payload (which need not be
// JSON) with header h.
func (s *Server) SignRaw(h Header, payload []byte) string {
	keys := testKeys()
	members := map[string]any{"typ": "JWT"}
	var sign func(input []byte) ([]byte, error)
	// signWith signs with k under its own alg and kid.
	signWith := func(k *opkit.Key) {
		members["alg"], members["kid"] = k.Alg(), k.ID()
		sign = k.SignInput
	}
	switch h.Sign {
	case SignRS256, SignCorrupted:
		signWith(s.signingKey())
	case SignRS256Unpublished:
		signWith(keys.unpublished)
	case SignES256:
		signWith(keys.ec)
	case SignHS256Confusion:
		k := s.signingKey()
		members["alg"], members["kid"] = "HS256", k.ID()
		secret := publicPEM(k)
		sign = func(input []byte) ([]byte, error) {
			m := hmac.New(sha256.New, secret)
			m.Write(input)
			return m.Sum(nil), nil
		}
	case SignNone:
		members["alg"] = "none"
		sign = func([]byte) ([]byte, error) { return nil, nil }
	case SignEmbeddedJWK:
		signWith(keys.attacker)
		members["jwk"] = keys.attacker.JWK()
	case SignJKU:
		signWith(keys.attacker)
		members["jku"] = s.URL + PathAttackerJWKS
	default:
		panic(fmt.Sprintf("oidctest: unknown Signing %d", h.Sign))
	}
	if h.Alg != "" {
		members["alg"] = h.Alg
	}
	if h.Kid != "" {
		members["kid"] = h.Kid
	}
	if h.Typ != "" {
		members["typ"] = h.Typ
	}
	for k, v := range h.Extra {
		if v == nil {
			delete(members, k)
		} else {
			members[k] = v
		}
	}
	hdr, err := json.Marshal(members)
	if err != nil {
		panic(fmt.Sprintf("oidctest: marshal header: %v", err))
	}
	input := b64(hdr) + "." + b64(payload)
	sig, err := sign([]byte(input))
	if err != nil {
		panic(fmt.Sprintf("oidctest: sign: %v", err))
	}
	if h.Sign == SignCorrupted {
		sig[len(sig)/2] ^= 0x01
	}
	return input + "." + b64(sig)
}

// AtHash returns the OpenID Connect at_hash of an access token for RS256 or
// ES256 tokens: the left half of its SHA-256, base64url ([opkit.AtHash]).
func AtHash(accessToken string) string { return opkit.AtHash(accessToken) }

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// newKey generates a signing key; failing to is a broken machine.
func newKey(kid, alg string) *opkit.Key {
	k, err := opkit.GenerateKey(kid, alg)
	if err != nil {
		panic(fmt.Sprintf("oidctest: %v", err))
	}
	return k
}

// publicPEM returns the PEM encoding of k's public key: the HMAC secret of
// the RS256/HS256 confusion attack.
func publicPEM(k *opkit.Key) []byte {
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		panic(fmt.Sprintf("oidctest: marshal public key: %v", err))
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// keySet holds the keys every Server shares (generating RSA keys is slow);
// each Server has its own published key.
type keySet struct {
	unpublished *opkit.Key // RSA, kid "k1", in no key set
	attacker    *opkit.Key // RSA, kid "attacker"
	ec          *opkit.Key // P-256, kid "e1"
}

var testKeys = sync.OnceValue(func() *keySet {
	return &keySet{
		unpublished: newKey("k1", "RS256"),
		attacker:    newKey("attacker", "RS256"),
		ec:          newKey("e1", "ES256"),
	}
})
