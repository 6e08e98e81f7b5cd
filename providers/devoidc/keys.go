package devoidc

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

// maxRetiredKeys bounds how many previous public keys the JWKS keeps after
// [Server.RotateKey], so that rotating in a loop cannot grow memory.
const maxRetiredKeys = 4

// maxJWTLen bounds the size of a JWT that verify will look at.
const maxJWTLen = 16 << 10

// keyring holds the current signing key and the retired public keys.
type keyring struct {
	mu   sync.RWMutex
	keys []*opkit.Key // keys[0] signs; the rest only verify
}

func newKeyring(priv *rsa.PrivateKey) (*keyring, error) {
	k, err := newSigningKey(priv)
	if err != nil {
		return nil, err
	}
	return &keyring{keys: []*opkit.Key{k}}, nil
}

// newSigningKey returns the RS256 key of priv. The key ID is the RFC 7638
// JWK thumbprint, so the same key always has the same kid.
func newSigningKey(priv *rsa.PrivateKey) (*opkit.Key, error) {
	priv.Precompute()
	k, err := opkit.NewKey("", priv)
	if err != nil {
		return nil, fmt.Errorf("devoidc: signing key: %w", err)
	}
	return k, nil
}

// RotateKey generates a new 2048-bit signing key and makes it current: new
// ID tokens carry its kid. The previous public key stays in the JWKS, so
// tokens signed before the rotation still verify (OpenID Connect Core 1.0
// §10.1.1, https://openid.net/specs/openid-connect-core-1_0.html#RotateSigKeys).
// The JWKS keeps the current key and up to four retired ones.
func (s *Server) RotateKey() error {
	priv, err := rsa.GenerateKey(rand.Reader, minKeyBits)
	if err != nil {
		return fmt.Errorf("devoidc: generate signing key: %w", err)
	}
	k, err := newSigningKey(priv)
	if err != nil {
		return err
	}
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	s.keys.keys = append([]*opkit.Key{k}, s.keys.keys...)
	if len(s.keys.keys) > 1+maxRetiredKeys {
		s.keys.keys = s.keys.keys[:1+maxRetiredKeys]
	}
	s.log.Info("devoidc: signing key rotated", "kid", k.ID())
	return nil
}

// jwtHeader is the JOSE header devoidc reads (RFC 7515 §4).
type jwtHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ,omitempty"`
}

// sign returns the compact JWS (RFC 7515 §7.1) of claims, signed with the
// current key by RSASSA-PKCS1-v1_5 with SHA-256 (RS256, RFC 7518 §3.3),
// with the header typ "JWT".
func (kr *keyring) sign(claims any) (string, error) {
	return kr.signTyped("JWT", claims)
}

// signTyped is sign with the given header typ, such as "logout+jwt"
// (OpenID Connect Back-Channel Logout 1.0 §2.4).
func (kr *keyring) signTyped(typ string, claims any) (string, error) {
	kr.mu.RLock()
	k := kr.keys[0]
	kr.mu.RUnlock()
	token, err := k.Sign(typ, claims)
	if err != nil {
		return "", fmt.Errorf("devoidc: sign token: %w", err)
	}
	return token, nil
}

// errBadJWT is returned by verify for every malformed or forged token; the
// reason is not interesting to anyone but an attacker.
var errBadJWT = errors.New("devoidc: token is malformed or not signed by this provider")

// verify checks that token is a compact JWS signed with RS256 by one of the
// ring's keys and decodes its payload into claims. It checks no claim: the
// caller decides what an expired or foreign token means.
func (kr *keyring) verify(token string, claims any) error {
	return kr.verifyTyped(token, "", claims)
}

// verifyTyped is verify that also requires the header typ, unless typ is
// empty: "at+jwt" for an access token (RFC 9068 §4), so that an ID token or
// a logout token, signed by the same keys, is never taken for one.
func (kr *keyring) verifyTyped(token, typ string, claims any) error {
	if len(token) > maxJWTLen {
		return errBadJWT
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errBadJWT
	}
	dec := base64.RawURLEncoding.DecodeString
	rawHeader, err := dec(parts[0])
	if err != nil {
		return errBadJWT
	}
	var h jwtHeader
	if err := json.Unmarshal(rawHeader, &h); err != nil || h.Alg != "RS256" || h.Kid == "" || (typ != "" && h.Typ != typ) {
		return errBadJWT
	}
	sig, err := dec(parts[2])
	if err != nil {
		return errBadJWT
	}
	pub := kr.publicKey(h.Kid)
	if pub == nil {
		return errBadJWT
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) != nil {
		return errBadJWT
	}
	payload, err := dec(parts[1])
	if err != nil {
		return errBadJWT
	}
	if json.Unmarshal(payload, claims) != nil {
		return errBadJWT
	}
	return nil
}

// publicKey returns the RSA public key with the given kid, or nil.
func (kr *keyring) publicKey(kid string) *rsa.PublicKey {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	for _, k := range kr.keys {
		if pub, ok := k.Public().(*rsa.PublicKey); ok && k.ID() == kid {
			return pub
		}
	}
	return nil
}

// currentKID returns the kid of the current signing key.
func (kr *keyring) currentKID() string {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	return kr.keys[0].ID()
}

// handleJWKS serves GET /jwks: the JWK Set (RFC 7517 §5) of the current and
// retired public keys, current first.
func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	s.keys.mu.RLock()
	set := opkit.NewJWKS(s.keys.keys...)
	s.keys.mu.RUnlock()
	w.Header().Set("Cache-Control", "no-cache")
	opkit.WriteJSON(w, http.StatusOK, set)
}
