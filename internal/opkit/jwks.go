package opkit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/big"
)

// JWK is the public half of a [Key] as a JSON Web Key (RFC 7517 §4), with
// the RSA members n and e (RFC 7518 §6.3.1) or the EC members crv, x and y
// (RFC 7518 §6.2.1). It carries no private member.
type JWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}

// JWKS is a JWK Set document (RFC 7517 §5), what a jwks_uri serves.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// NewJWKS returns the JWK Set of keys, in order: a provider lists its
// current key first and the retired ones that still verify after it.
func NewJWKS(keys ...*Key) JWKS {
	set := JWKS{Keys: make([]JWK, len(keys))}
	for i, k := range keys {
		set.Keys[i] = k.JWK()
	}
	return set
}

// JWK returns the public JWK of k, with "use": "sig" and its kid and alg.
func (k *Key) JWK() JWK { return k.jwk }

// publicJWK returns the JWK of pub for alg, without a kid.
func publicJWK(pub crypto.PublicKey, alg string) (JWK, error) {
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		return JWK{Kty: "RSA", Use: "sig", Alg: alg, N: b64(pub.N.Bytes()), E: b64(big.NewInt(int64(pub.E)).Bytes())}, nil
	case *ecdsa.PublicKey:
		pt, err := pub.Bytes() // 0x04 || X || Y, 32 bytes each on P-256
		if err != nil {
			return JWK{}, fmt.Errorf("opkit: EC public key: %w", err)
		}
		return JWK{Kty: "EC", Use: "sig", Alg: alg, Crv: "P-256", X: b64(pt[1:33]), Y: b64(pt[33:])}, nil
	}
	return JWK{}, fmt.Errorf("opkit: unsupported public key type %T", pub)
}

// thumbprint returns the RFC 7638 JWK thumbprint of jwk: the base64url
// SHA-256 of its required members in lexicographic order, without spaces
// (§3.2).
func thumbprint(jwk JWK) (string, error) {
	var members any
	switch jwk.Kty {
	case "RSA":
		members = struct {
			E   string `json:"e"`
			Kty string `json:"kty"`
			N   string `json:"n"`
		}{jwk.E, jwk.Kty, jwk.N}
	case "EC":
		members = struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
			Y   string `json:"y"`
		}{jwk.Crv, jwk.Kty, jwk.X, jwk.Y}
	default:
		return "", fmt.Errorf("opkit: no thumbprint for key type %q", jwk.Kty)
	}
	b, err := json.Marshal(members)
	if err != nil {
		return "", fmt.Errorf("opkit: key thumbprint: %w", err)
	}
	sum := sha256.Sum256(b)
	return b64(sum[:]), nil
}
