package providers

import (
	"context"
	"fmt"
	"net/url"

	"golang.org/x/oauth2"
)

// maxCodeLen bounds an authorization code.
const maxCodeLen = 4 << 10

// Callback finishes a login from the authorization response's
// parameters (the callback URL's query, or the form body of the POST of a
// [Provider.FormPost] provider): it checks the response, redeems the code
// with f's PKCE verifier and redirect URL, and verifies the result
// completely (for OpenID Connect, see [OIDC]). In order:
//
//   - f.Issuer must be this provider's issuer (a flow started elsewhere
//     never finishes here: mix-up defence, RFC 9700 §4.4);
//   - RFC 9207: an "iss" parameter must equal the issuer byte for byte; a
//     provider that advertises authorization_response_iss_parameter_supported
//     must send it;
//   - an "error" parameter becomes an [*Error] (wrapping ErrDenied, or
//     ErrUnavailable for temporarily_unavailable and server_error);
//   - the code must be present, at most 4 KiB of printable ASCII, and not
//     sent together with an error;
//   - the code exchange, whose failures are classified like a refresh's
//     (see [ErrDenied], [ErrUnavailable]), and the identity checks.
//
// The state and the other checks of the request (one value per parameter,
// no tokens in the front channel) are the caller's: the middleware matches
// the state against its flow cookie before calling Callback. Failures of
// the first two checks and of the code wrap [ErrInvalidResponse]; a login
// whose identity the configuration refuses wraps [ErrNotAllowed], and one
// that must ask for consent once more wraps [ErrConsentRequired]. No
// network call happens unless the response passed every check, but for
// the discovery document of an OpenID Connect provider not fetched yet
// (see [OIDC]): Callback needs it after the first check, and fails with an
// error wrapping [ErrUnavailable] when it cannot have it.
func (p *Provider) Callback(ctx context.Context, f Flow, query url.Values) (*Identity, error) {
	if f.Issuer != p.issuer {
		return nil, &responseError{"provider_mismatch", "the flow belongs to another issuer"}
	}
	m, err := p.metadata(ctx)
	if err != nil {
		return nil, err
	}
	if vs, ok := query["iss"]; ok {
		if p.issuer == "" || len(vs) != 1 || vs[0] != p.issuer {
			return nil, &responseError{"issuer_mismatch", "iss is not the provider's issuer"}
		}
	} else if m.issParamRequired {
		return nil, &responseError{"issuer_missing", "iss missing, and the provider advertises it (RFC 9207)"}
	}
	code := query.Get("code")
	if query.Has("error") {
		if code != "" {
			return nil, &responseError{"code_and_error", "both code and error"}
		}
		return nil, authorizationError(query.Get("error"), query.Get("error_description"), query.Get("error_uri"))
	}
	if code == "" || len(code) > maxCodeLen || !printableASCII(code) {
		return nil, &responseError{"code_invalid", "code missing or malformed"}
	}
	if wantsStepUp(f) && p.issuer == "" {
		// Without an ID token nothing says when or how the user
		// authenticated.
		return nil, fmt.Errorf("providers: %s: %w: step-up needs an OpenID Connect provider", p.name, ErrNotAllowed)
	}
	id, err := p.exchange(ctx, m, f, code)
	if err != nil {
		return nil, err
	}
	if p.fromResponse != nil {
		p.fromResponse(query, id)
	}
	return id, nil
}

// responseError is an authorization response that failed a check. Reason
// names the check in the fixed vocabulary of the middleware's logs; the
// text holds nothing from the request.
type responseError struct{ reason, text string }

func (e *responseError) Error() string  { return "providers: authorization response: " + e.text }
func (e *responseError) Unwrap() error  { return ErrInvalidResponse }
func (e *responseError) Reason() string { return e.reason }

// exchange redeems an authorization code, which Callback checked, at the
// token endpoint and verifies the result.
func (p *Provider) exchange(ctx context.Context, m *metadata, f Flow, code string) (*Identity, error) {
	c, tctx, err := p.tokenRequest(ctx, m, f.RedirectURL)
	if err != nil {
		return nil, err
	}
	tok, err := c.Exchange(tctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return nil, fmt.Errorf("providers: %s: exchange code: %w", p.name, tokenError(err, p.now()))
	}
	if err := checkTokenResponse(tok); err != nil {
		return nil, fmt.Errorf("providers: %s: %w", p.name, err)
	}
	id, err := p.identify(ctx, m, tok, f)
	if err != nil {
		return nil, fmt.Errorf("providers: %s: %w", p.name, err)
	}
	now := p.now()
	if wantsStepUp(f) {
		if err := checkStepUp(f, id, now); err != nil {
			return nil, fmt.Errorf("providers: %s: %w", p.name, err)
		}
	}
	p.defaultExpiry(&id.Tokens)
	return id, nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
