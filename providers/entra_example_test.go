package providers_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/portcullis-go/portcullis/internal/fakeentra"
	"github.com/portcullis-go/portcullis/providers"
)

func ExampleEntra() {
	// A local stand-in for login.microsoftonline.com; in production leave
	// Authority and HTTPClient unset.
	fake := fakeentra.New(fakeentra.Config{})
	defer fake.Close()

	entra, err := providers.Entra(context.Background(), providers.EntraConfig{
		Tenant:         "organizations",
		ClientID:       fakeentra.ClientID,
		ClientSecret:   fakeentra.ClientSecret,
		AllowedTenants: []string{"8eaef023-2b34-4da1-9baa-8bc8c9d6a490"}, // Contoso only
		Authority:      fake.URL,
		HTTPClient:     fake.Client(),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(entra.Name(), entra.DisplayName(), strings.TrimPrefix(entra.Issuer(), fake.URL))

	// Every tenant, without saying so, is refused.
	_, err = providers.Entra(context.Background(), providers.EntraConfig{
		Tenant: "common", ClientID: fakeentra.ClientID, Authority: fake.URL, HTTPClient: fake.Client(),
	})
	fmt.Println(err)
	// Output:
	// entra Microsoft /organizations/v2.0
	// providers: entra: Tenant "common" admits every Entra tenant, and anyone can create one: list the tenant ids that may sign in in AllowedTenants
}
