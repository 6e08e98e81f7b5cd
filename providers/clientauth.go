package providers

import (
	"context"
	"errors"
	"fmt"
)

// clientSecretOf returns the client secret of one authenticated call to
// the provider (token, refresh, revocation, introspection): the configured
// one, or, when p.clientSecret is set, what it produces for this call. A
// failure of p.clientSecret wraps ErrUnavailable unless it says otherwise
// (it then keeps its own classification); the secret itself never appears
// in an error.
func (p *Provider) clientSecretOf(ctx context.Context) (string, error) {
	if p.clientSecret == nil {
		return p.oauth.ClientSecret, nil
	}
	s, err := p.clientSecret(ctx)
	switch {
	case errors.Is(err, ErrUnavailable):
		return "", fmt.Errorf("providers: %s: client secret: %w", p.name, err)
	case err != nil:
		return "", fmt.Errorf("providers: %s: client secret: %w: %w", p.name, ErrUnavailable, err)
	case s == "":
		return "", fmt.Errorf("providers: %s: client secret: %w: the client secret function returned an empty secret", p.name, ErrUnavailable)
	}
	return s, nil
}
