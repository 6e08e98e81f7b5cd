package providers_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"log"

	"github.com/portcullis-go/portcullis/providers"
)

// A provider whose client authenticates with private_key_jwt: register
// the public half of the key at the provider (as a JWK, with the kid:
// by default its RFC 7638 thumbprint). Each call that authenticates the
// client then sends a fresh assertion signed with it.
func ExampleOIDC_privateKeyJWT() {
	// In production, load the key from a file or use a KMS signer.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	// A done context: the discovery document is fetched on first use
	// (this example makes no network request).
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p, err := providers.OIDC(ctx, providers.OIDCConfig{
		Name:       "corp",
		Issuer:     "https://login.example.com",
		ClientID:   "app",
		ClientAuth: "private_key_jwt",
		ClientKey:  key,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Name())
	// Output: corp
}
