package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"sync"
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
	var sign func(input []byte) []byte
	switch h.Sign {
	case SignRS256, SignCorrupted:
		k := s.signingKey()
		members["alg"], members["kid"] = "RS256", k.kid
		sign = k.sign
	case SignRS256Unpublished:
		members["alg"], members["kid"] = "RS256", "k1"
		sign = keys.unpublished.sign
	case SignES256:
		members["alg"], members["kid"] = "ES256", "e1"
		sign = func(input []byte) []byte { return signES256(keys.ec, input) }
	case SignHS256Confusion:
		members["alg"], members["kid"] = "HS256", s.signingKey().kid
		secret := s.signingKey().publicPEM()
		sign = func(input []byte) []byte {
			m := hmac.New(sha256.New, secret)
			m.Write(input)
			return m.Sum(nil)
		}
	case SignNone:
		members["alg"] = "none"
		sign = func([]byte) []byte { return nil }
	case SignEmbeddedJWK:
		members["alg"], members["kid"] = "RS256", "attacker"
		members["jwk"] = keys.attacker.jwk()
		sign = keys.attacker.sign
	case SignJKU:
		members["alg"], members["kid"] = "RS256", "attacker"
		members["jku"] = s.URL + PathAttackerJWKS
		sign = keys.attacker.sign
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
	sig := sign([]byte(input))
	if h.Sign == SignCorrupted {
		sig[len(sig)/2] ^= 0x01
	}
	return input + "." + b64(sig)
}

// AtHash returns the OpenID Connect at_hash of an access token for RS256 or
// ES256 tokens: the left half of its SHA-256, base64url.
func AtHash(accessToken string) string {
	h := sha256.Sum256([]byte(accessToken))
	return b64(h[:16])
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// rsaKey is an RSA signing key with its key id.
type rsaKey struct {
	kid  string
	priv *rsa.PrivateKey
}

func newRSAKey(kid string) *rsaKey {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(fmt.Sprintf("oidctest: generate RSA key: %v", err))
	}
	return &rsaKey{kid: kid, priv: priv}
}

func (k *rsaKey) sign(input []byte) []byte {
	h := sha256.Sum256(input)
	sig, err := rsa.SignPKCS1v15(nil, k.priv, crypto.SHA256, h[:])
	if err != nil {
		panic(fmt.Sprintf("oidctest: RS256: %v", err))
	}
	return sig
}

func (k *rsaKey) jwk() map[string]any {
	return map[string]any{
		"kty": "RSA",
		"kid": k.kid,
		"use": "sig",
		"alg": "RS256",
		"n":   b64(k.priv.N.Bytes()),
		"e":   b64(big.NewInt(int64(k.priv.E)).Bytes()),
	}
}

func (k *rsaKey) publicPEM() []byte {
	der, err := x509.MarshalPKIXPublicKey(&k.priv.PublicKey)
	if err != nil {
		panic(fmt.Sprintf("oidctest: marshal RSA public key: %v", err))
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func signES256(priv *ecdsa.PrivateKey, input []byte) []byte {
	h := sha256.Sum256(input)
	der, err := ecdsa.SignASN1(rand.Reader, priv, h[:])
	if err != nil {
		panic(fmt.Sprintf("oidctest: ES256: %v", err))
	}
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &rs); err != nil {
		panic(fmt.Sprintf("oidctest: ES256: %v", err))
	}
	sig := make([]byte, 64)
	rs.R.FillBytes(sig[:32])
	rs.S.FillBytes(sig[32:])
	return sig
}

func ecJWK(priv *ecdsa.PrivateKey, kid string) map[string]any {
	pt, err := priv.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		panic(fmt.Sprintf("oidctest: EC public key: %v", err))
	}
	return map[string]any{
		"kty": "EC",
		"kid": kid,
		"use": "sig",
		"alg": "ES256",
		"crv": "P-256",
		"x":   b64(pt[1:33]),
		"y":   b64(pt[33:]),
	}
}

// keySet holds the keys every Server shares (generating RSA keys is slow);
// each Server has its own published key.
type keySet struct {
	unpublished *rsaKey
	attacker    *rsaKey
	ec          *ecdsa.PrivateKey
}

var testKeys = sync.OnceValue(func() *keySet {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(fmt.Sprintf("oidctest: generate EC key: %v", err))
	}
	return &keySet{
		unpublished: newRSAKey("k1"),
		attacker:    newRSAKey("attacker"),
		ec:          ec,
	}
})
