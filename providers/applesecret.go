package providers

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Sign in with Apple has no fixed client secret: the client_secret of
// every token request is a JWT the client signs with its Sign in with
// Apple key (Apple, "Creating the client secret",
// https://developer.apple.com/documentation/sign_in_with_apple/generate_and_validate_tokens):
// header alg ES256 and kid the key's 10-character Key ID; claims iss the
// 10-character Team ID, iat, exp no more than 15777000 seconds (six
// months) after iat, aud "https://appleid.apple.com", sub the client ID
// (the Services ID).
const (
	// appleAudience is the client secret's fixed "aud".
	appleAudience = "https://appleid.apple.com"
	// appleMaxSecretLifetime is Apple's bound on exp - iat.
	appleMaxSecretLifetime = 15777000 * time.Second
	// appleSecretLifetime is how long a minted secret is valid. Apple
	// allows six months; a secret lives in memory only and minting one
	// costs one ECDSA signature, so a short life limits what a secret
	// seen in a log or a proxy is worth.
	appleSecretLifetime = time.Hour
	// appleSecretRenewal is how long before its exp a secret is replaced:
	// half its life, so a secret in use always has at least half an hour
	// left, whatever the clock skew between here and Apple.
	appleSecretRenewal = appleSecretLifetime / 2
)

// appleSecret mints Apple's client secret JWT on demand and keeps it until
// it is due for renewal. It is safe for concurrent use: concurrent callers
// get the same secret, minted once.
type appleSecret struct {
	teamID, clientID string
	// signer signs with the .p8 key, its kid the Key ID: ES256, as
	// parseAppleKey accepts P-256 keys only.
	signer *assertionSigner
	now    func() time.Time

	mu     sync.Mutex
	secret string
	exp    time.Time
}

// newAppleSecret parses pemKey, the .p8 file Apple hands out when a Sign
// in with Apple key is created: a PEM "PRIVATE KEY" block holding a
// PKCS #8 ECDSA key on P-256.
func newAppleSecret(teamID, clientID, keyID string, pemKey []byte, now func() time.Time) (*appleSecret, error) {
	key, err := parseAppleKey(pemKey)
	if err != nil {
		return nil, err
	}
	signer, err := newAssertionSigner(key, keyID)
	if err != nil {
		return nil, fmt.Errorf("PrivateKey: %w", err)
	}
	return &appleSecret{teamID: teamID, clientID: clientID, signer: signer, now: now}, nil
}

// parseAppleKey reads a .p8 key. Its errors say what was expected; they
// never quote the key.
func parseAppleKey(pemKey []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(pemKey)
	if block == nil {
		return nil, errors.New(`PrivateKey: no PEM block: give the contents of the .p8 file Apple let you download ("-----BEGIN PRIVATE KEY-----")`)
	}
	if block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf(`PrivateKey: a PEM %q block, want "PRIVATE KEY" (PKCS #8, as in Apple's .p8 file)`, block.Type)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("PrivateKey: not a PKCS #8 private key")
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, errors.New("PrivateKey: not an ECDSA P-256 key (Sign in with Apple keys are; create one under Certificates, Identifiers & Profiles > Keys)")
	}
	return key, nil
}

// appleSecretClaims are the client secret's claims.
type appleSecretClaims struct {
	Issuer   string `json:"iss"`
	IssuedAt int64  `json:"iat"`
	Expiry   int64  `json:"exp"`
	Audience string `json:"aud"`
	Subject  string `json:"sub"`
}

// get returns a client secret with at least appleSecretRenewal left,
// minting a new one when the cached one is closer to its end (or the
// clock went back before its iat).
func (s *appleSecret) get(context.Context) (string, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.secret != "" && now.Before(s.exp.Add(-appleSecretRenewal)) && !now.Before(s.exp.Add(-appleSecretLifetime)) {
		return s.secret, nil
	}
	iat := now.Truncate(time.Second)
	exp := iat.Add(appleSecretLifetime)
	secret, err := s.signer.jwt("", appleSecretClaims{
		Issuer: s.teamID, IssuedAt: iat.Unix(), Expiry: exp.Unix(), Audience: appleAudience, Subject: s.clientID,
	})
	if err != nil {
		return "", fmt.Errorf("providers: apple client secret: %w", err)
	}
	s.secret, s.exp = secret, exp
	return secret, nil
}
