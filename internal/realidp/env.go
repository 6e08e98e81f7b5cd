// Package realidp describes, for tests, the independent OpenID provider
// that .ci/run starts: node-oidc-provider configured by server.mjs in this
// directory (see README.md). Tests that need it call Need, which skips
// them when it is not running.
package realidp

import (
	"crypto"
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"errors"
	"os"
	"testing"
)

// Env is the running provider and the client registered at it.
type Env struct {
	// Issuer is the provider's issuer URL (PORTCULLIS_REALIDP_ISSUER).
	Issuer string
	// ClientID and ClientSecret are the registered client's credentials
	// (PORTCULLIS_REALIDP_CLIENT_ID, PORTCULLIS_REALIDP_CLIENT_SECRET).
	ClientID, ClientSecret string
	// PostClientID and PostClientSecret are a second client, registered
	// with client_secret_post (PORTCULLIS_REALIDP_POST_CLIENT_ID,
	// PORTCULLIS_REALIDP_POST_CLIENT_SECRET); PKJWTClientID a third,
	// registered with private_key_jwt and the public key of [Env.ClientKey]
	// (PORTCULLIS_REALIDP_PKJWT_CLIENT_ID). Both have the main client's
	// redirect URIs.
	PostClientID, PostClientSecret string
	PKJWTClientID                  string
	// AppAddr is the loopback address the client's redirect, post-logout
	// and back-channel URIs point at (PORTCULLIS_REALIDP_APP_ADDR): the
	// application under test must listen there.
	AppAddr string
}

// Need returns the provider from the environment, or skips t with a clear
// message when PORTCULLIS_REALIDP_ISSUER is unset; it fails t when the
// environment is half set.
func Need(t testing.TB) Env {
	t.Helper()
	e := Env{
		Issuer:       os.Getenv("PORTCULLIS_REALIDP_ISSUER"),
		ClientID:     os.Getenv("PORTCULLIS_REALIDP_CLIENT_ID"),
		ClientSecret: os.Getenv("PORTCULLIS_REALIDP_CLIENT_SECRET"),
		AppAddr:      os.Getenv("PORTCULLIS_REALIDP_APP_ADDR"),

		PostClientID:     os.Getenv("PORTCULLIS_REALIDP_POST_CLIENT_ID"),
		PostClientSecret: os.Getenv("PORTCULLIS_REALIDP_POST_CLIENT_SECRET"),
		PKJWTClientID:    os.Getenv("PORTCULLIS_REALIDP_PKJWT_CLIENT_ID"),
	}
	if e.Issuer == "" {
		t.Skip("PORTCULLIS_REALIDP_ISSUER is not set: tests against node-oidc-provider run under .ci/run (internal/realidp)")
	}
	if e.ClientID == "" || e.AppAddr == "" {
		t.Fatal("PORTCULLIS_REALIDP_ISSUER is set but PORTCULLIS_REALIDP_CLIENT_ID or PORTCULLIS_REALIDP_APP_ADDR is not")
	}
	return e
}

// pkjwtKey is the private key of the private_key_jwt client, a fixed
// P-256 test key: its public half is in server.mjs. It guards nothing.
//
//go:embed testdata/pkjwt-key.pem
var pkjwtKey []byte

// ClientKey returns the private key registered for PKJWTClientID.
func (Env) ClientKey() (crypto.Signer, error) {
	b, _ := pem.Decode(pkjwtKey)
	if b == nil {
		return nil, errors.New("realidp: testdata/pkjwt-key.pem is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("realidp: testdata/pkjwt-key.pem is not a signing key")
	}
	return s, nil
}
