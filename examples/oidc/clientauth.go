package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"

	"github.com/go-jose/go-jose/v4"

	"github.com/portcullis-go/portcullis/providers"
)

// clientAuth reads OIDC_AUTH_PARAMS, OIDC_CLIENT_AUTH and OIDC_CLIENT_KEY
// into c, and logs the public JWK of the client key for its registration
// at the provider. Its errors name the variable and say what to do.
func clientAuth(getenv func(string) string, c *providers.OIDCConfig, logger *slog.Logger) error {
	if raw := getenv("OIDC_AUTH_PARAMS"); raw != "" {
		params, err := url.ParseQuery(raw)
		if err != nil {
			return fmt.Errorf("OIDC_AUTH_PARAMS must be in query form, such as audience=https://api.example.com&prompt=login (URL-encode & and = inside values): %w", err)
		}
		c.AuthParams = params
	}
	method, keyPath := getenv("OIDC_CLIENT_AUTH"), getenv("OIDC_CLIENT_KEY")
	switch method {
	case "", "client_secret_basic", "client_secret_post", "private_key_jwt":
	default:
		return fmt.Errorf("OIDC_CLIENT_AUTH is %q: use client_secret_basic, client_secret_post or private_key_jwt (or leave it unset to choose from the provider's discovery document)", method)
	}
	switch {
	case method == "private_key_jwt" && keyPath == "":
		return errors.New("OIDC_CLIENT_AUTH=private_key_jwt needs OIDC_CLIENT_KEY, the path to the client's PEM private key")
	case keyPath != "" && method != "" && method != "private_key_jwt":
		return fmt.Errorf("OIDC_CLIENT_KEY is for private_key_jwt, and OIDC_CLIENT_AUTH is %s: unset one of them", method)
	case keyPath != "" && c.ClientSecret != "":
		return errors.New("OIDC_CLIENT_KEY (private_key_jwt) and OIDC_CLIENT_SECRET are both set: unset the one the client is not registered with")
	}
	c.ClientAuth = method
	if keyPath == "" {
		return nil
	}
	key, err := readKey(keyPath)
	if err != nil {
		return fmt.Errorf("OIDC_CLIENT_KEY: %w", err)
	}
	jwk, kid, err := publicJWK(key)
	if err != nil {
		return fmt.Errorf("OIDC_CLIENT_KEY: %w", err)
	}
	c.ClientKey, c.ClientKeyID = key, kid
	logger.Info("private_key_jwt: register this public key (JWK) for the client at the provider", "kid", kid, "jwk", jwk)
	return nil
}

// readKey reads a PEM private key: PKCS #8, SEC 1 (EC) or PKCS #1 (RSA).
func readKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s is not a PEM file", path)
	}
	var k any
	switch block.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%s holds a %q, not a private key (PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY)", path, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		if n := k.Curve.Params().BitSize; n != 256 && n != 384 && n != 521 {
			return nil, fmt.Errorf("%s: an ECDSA key on %s: use P-256, P-384 or P-521", path, k.Curve.Params().Name)
		}
		return k, nil
	case *rsa.PrivateKey, ed25519.PrivateKey:
		return k.(crypto.Signer), nil
	}
	return nil, fmt.Errorf("%s: unsupported key type %T: use RSA, ECDSA or Ed25519", path, k)
}

// publicJWK returns key's public JWK (RFC 7517) with "use", "alg" and, as
// "kid", its RFC 7638 thumbprint: the kid portcullis signs with.
func publicJWK(key crypto.Signer) (jwk, kid string, err error) {
	var alg string
	switch pub := key.Public().(type) {
	case *rsa.PublicKey:
		alg = "RS256"
	case *ecdsa.PublicKey:
		alg = map[int]string{256: "ES256", 384: "ES384", 521: "ES512"}[pub.Curve.Params().BitSize]
	case ed25519.PublicKey:
		alg = "EdDSA"
	}
	tp, err := (&jose.JSONWebKey{Key: key.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", "", err
	}
	kid = base64.RawURLEncoding.EncodeToString(tp)
	b, err := (&jose.JSONWebKey{Key: key.Public(), KeyID: kid, Algorithm: alg, Use: "sig"}).MarshalJSON()
	if err != nil {
		return "", "", err
	}
	return string(b), kid, nil
}
