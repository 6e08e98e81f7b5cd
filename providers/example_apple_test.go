package providers_test

import (
	"context"
	"fmt"
	"log"
	"net/url"

	"github.com/portcullis-go/portcullis/internal/fakeapple"
	"github.com/portcullis-go/portcullis/providers"
)

func ExampleApple() {
	// A stand-in for appleid.apple.com here; in production leave Authority
	// unset and read the key from the .p8 file Apple let you download:
	// key, err := os.ReadFile("AuthKey_K9L8M7N6P5.p8").
	fake := fakeapple.New(fakeapple.Config{RedirectURIs: []string{"https://app.example.com/auth/callback/apple"}})
	defer fake.Close()

	apple, err := providers.Apple(context.Background(), providers.AppleConfig{
		TeamID:     "A1B2C3D4E5",             // Membership details
		ClientID:   "com.example.web.signin", // the Services ID
		KeyID:      "K9L8M7N6P5",             // the Sign in with Apple key
		PrivateKey: fake.PrivateKeyPEM(),
		Authority:  fake.URL,
	})
	if err != nil {
		log.Fatal(err)
	}
	authURL, err := apple.AuthCodeURL(context.Background(), providers.Flow{
		RedirectURL: "https://app.example.com/auth/callback/apple",
		Issuer:      apple.Issuer(),
		State:       "state-from-crypto-rand",
		Nonce:       "nonce-from-crypto-rand",
		Verifier:    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
	})
	if err != nil {
		log.Fatal(err)
	}
	q, _ := url.Parse(authURL)
	fmt.Println(apple.Name(), apple.FormPost())
	fmt.Println(q.Query().Get("response_mode"), q.Query().Get("scope"))
	// Output:
	// apple true
	// form_post openid name email
}
