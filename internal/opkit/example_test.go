package opkit_test

import (
	"fmt"
	"net/url"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

// The example of RFC 7636 Appendix B: the challenge a client sends at the
// authorization endpoint, and the token endpoint's check of the verifier.
func ExampleVerifyS256() {
	verifier := "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	challenge := opkit.S256Challenge(verifier)
	fmt.Println(challenge)
	fmt.Println(opkit.ValidS256Challenge(challenge), opkit.VerifyS256(verifier, challenge), opkit.VerifyS256(challenge, challenge))
	// Output:
	// E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM
	// true true false
}

// An authorization response sent to a redirect URI registered with a query
// of its own.
func ExampleAppendQuery() {
	fmt.Println(opkit.AppendQuery("https://app.example/cb?tenant=a", url.Values{"code": {"c1"}, "state": {"s1"}}))
	// Output: https://app.example/cb?tenant=a&code=c1&state=s1
}

// A key signs an ID token; its public half is published in the JWKS.
func ExampleNewKey() {
	key, err := opkit.GenerateKey("k1", "ES256")
	if err != nil {
		panic(err)
	}
	token, err := key.Sign("JWT", map[string]any{"iss": "https://op.example", "sub": "ada"})
	if err != nil {
		panic(err)
	}
	jwks := opkit.NewJWKS(key)
	fmt.Println(len(token) > 0, jwks.Keys[0].Kid, jwks.Keys[0].Kty, jwks.Keys[0].Crv)
	// Output: true k1 EC P-256
}
