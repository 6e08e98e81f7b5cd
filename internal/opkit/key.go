package opkit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// minRSABits is the smallest RSA key a [Key] accepts (RFC 7518 §3.3).
const minRSABits = 2048

// Key is a private key that signs JWTs under a key ID ("kid"): RSA with
// RSASSA-PKCS1-v1_5 and SHA-256 (RS256, RFC 7518 §3.3), or ECDSA on P-256
// with SHA-256 (ES256, RFC 7518 §3.4). A Key is immutable and safe for
// concurrent use.
type Key struct {
	id   string
	alg  string
	priv crypto.Signer
	jwk  JWK // the public key, with id and alg
}

// NewKey returns the Key for priv: an *rsa.PrivateKey of at least 2048
// bits, which signs RS256, or an *ecdsa.PrivateKey on P-256, which signs
// ES256. An empty id means the RFC 7638 JWK thumbprint of the public key,
// so that the same key always has the same kid. priv must not be modified
// afterwards.
func NewKey(id string, priv crypto.Signer) (*Key, error) {
	k := &Key{id: id, priv: priv}
	switch p := priv.(type) {
	case *rsa.PrivateKey:
		if n := p.N.BitLen(); n < minRSABits {
			return nil, fmt.Errorf("opkit: RSA key has %d bits, want at least %d", n, minRSABits)
		}
		k.alg = "RS256"
	case *ecdsa.PrivateKey:
		if p.Curve != elliptic.P256() {
			return nil, errors.New("opkit: ECDSA key is not on P-256")
		}
		k.alg = "ES256"
	default:
		return nil, fmt.Errorf("opkit: unsupported key type %T", priv)
	}
	jwk, err := publicJWK(priv.Public(), k.alg)
	if err != nil {
		return nil, err
	}
	if k.id == "" {
		if k.id, err = thumbprint(jwk); err != nil {
			return nil, err
		}
	}
	jwk.Kid = k.id
	k.jwk = jwk
	return k, nil
}

// GenerateKey returns a fresh Key for alg, "RS256" (2048 bits) or "ES256",
// with the given id (empty: the thumbprint, as for [NewKey]).
func GenerateKey(id, alg string) (*Key, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case "RS256":
		priv, err = rsa.GenerateKey(rand.Reader, minRSABits)
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, fmt.Errorf("opkit: unsupported algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("opkit: generate %s key: %w", alg, err)
	}
	return NewKey(id, priv)
}

// ID returns the key ID, the "kid" of the tokens it signs and of its JWK.
func (k *Key) ID() string { return k.id }

// Alg returns the JWS algorithm, "RS256" or "ES256".
func (k *Key) Alg() string { return k.alg }

// Public returns the public key: an *rsa.PublicKey or an *ecdsa.PublicKey.
func (k *Key) Public() crypto.PublicKey { return k.priv.Public() }

// jwsHeader is the protected header [Key.Sign] writes (RFC 7515 §4.1).
type jwsHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ,omitempty"`
}

// Sign returns the JWS compact serialization (RFC 7515 §7.1) of claims,
// marshalled as JSON, with the protected header {"alg", "kid", "typ"}:
// typ is "JWT" for an ID token (RFC 7519 §5.1), "logout+jwt" for a logout
// token (OpenID Connect Back-Channel Logout 1.0 §2.4), or left out when
// empty. It checks no claim.
func (k *Key) Sign(typ string, claims any) (string, error) {
	header, err := json.Marshal(jwsHeader{Alg: k.alg, Kid: k.id, Typ: typ})
	if err != nil {
		return "", fmt.Errorf("opkit: marshal header: %w", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("opkit: marshal claims: %w", err)
	}
	input := b64(header) + "." + b64(payload)
	sig, err := k.SignInput([]byte(input))
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}

// SignInput returns the JWS signature of a signing input, ASCII(BASE64URL(
// header) || "." || BASE64URL(payload)) (RFC 7515 §5.1): the PKCS #1 v1.5
// signature for RS256, or R || S as two 32-byte big-endian integers for
// ES256 (RFC 7518 §3.4). It is the primitive under [Key.Sign], for a
// caller that writes its own header.
func (k *Key) SignInput(input []byte) ([]byte, error) {
	digest := sha256.Sum256(input)
	switch p := k.priv.(type) {
	case *rsa.PrivateKey:
		sig, err := rsa.SignPKCS1v15(nil, p, crypto.SHA256, digest[:])
		if err != nil {
			return nil, fmt.Errorf("opkit: RS256: %w", err)
		}
		return sig, nil
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, p, digest[:])
		if err != nil {
			return nil, fmt.Errorf("opkit: ES256: %w", err)
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig, nil
	}
	return nil, fmt.Errorf("opkit: unsupported key type %T", k.priv)
}

// AtHash returns the at_hash claim that binds an ID token signed with
// RS256 or ES256 to its access token: the base64url encoding of the left
// half of the access token's SHA-256 (OpenID Connect Core 1.0 §3.1.3.6).
func AtHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return b64(sum[:len(sum)/2])
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
