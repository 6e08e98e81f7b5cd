package providers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/portcullis-go/portcullis/session"
	"golang.org/x/oauth2"
)

// Brands a provider can have; see [Provider.Brand].
const (
	brandGoogle = "google"
	brandGitHub = "github"
)

// Brand reports whose sign-in button the provider gets on the sign-in page:
// "google" for providers made by [Google], "github" for [GitHub], and ""
// for every other provider, which gets a neutral button with the first
// letter of its display name. It is presentation only: nothing in a login
// depends on it.
func (p *Provider) Brand() string { return p.brand }

// OAuth2Config configures a plain OAuth 2.0 provider (RFC 6749), one that
// does not speak OpenID Connect. Zero values are documented defaults.
type OAuth2Config struct {
	// Name identifies the provider in paths (/auth/login/{name},
	// /auth/callback/{name}) and in sessions: 1 to 32 lower-case letters,
	// digits or '-'. Required.
	Name string
	// DisplayName is shown on the sign-in button. Default: Name.
	DisplayName string
	// ClientID and ClientSecret are the application's credentials at the
	// provider. ClientID is required.
	ClientID     string
	ClientSecret string
	// Endpoint holds the authorization and token endpoint URLs (https;
	// plain http only on loopback hosts), both required. Endpoint.AuthStyle
	// zero means HTTP Basic authentication (client_secret_basic, RFC 6749
	// §2.3.1); set [oauth2.AuthStyleInParams] for providers that want the
	// secret in the request body. The secret is never sent both ways.
	Endpoint oauth2.Endpoint
	// Scopes requested. Default: none (the provider's default).
	Scopes []string
	// AuthParams are added to every authorization request, as
	// [OIDCConfig.AuthParams] are, with the same refusals. Default: none.
	AuthParams url.Values
	// Identify maps the token response of a login to the user. client
	// sends tok as a Bearer token with every request (RFC 6750 §2.1), never
	// follows redirects, times out and caps response bodies at 1 MiB; use
	// it to call the provider's user API. The returned user's Subject must
	// be the provider's stable, never reassigned account id (not a login
	// name or an email address); Provider and Issuer are set by portcullis.
	// Keep Email empty unless the provider says it verified the address.
	// Return an error wrapping [ErrNotAllowed] to refuse the account; any
	// other error fails the login. Required.
	Identify func(ctx context.Context, client *http.Client, tok *oauth2.Token) (session.User, error)
	// HTTPClient makes the requests to the provider. portcullis always
	// copies it to refuse redirects and cap response sizes; its Timeout
	// defaults to 10 s. Default: a client based on http.DefaultTransport.
	HTTPClient *http.Client
}

// OAuth2 returns a provider for any OAuth 2.0 authorization server with the
// authorization code flow: GitLab, Discord, an in-house server, and so on.
// Logins send state and a PKCE S256 challenge, always (RFC 7636, RFC 9700
// §2.1.1); no nonce is sent and no ID token is expected, so who signed in
// is whatever cfg.Identify makes of the token.
//
// A login's token response must carry an access token of type Bearer.
// The refresh token and expiry, when the provider issues them, are kept in
// the session's tokens.
//
// OAuth2 makes no network request. It does not support OpenID Connect
// (use [OIDC], which verifies ID tokens) or the implicit flow.
func OAuth2(cfg OAuth2Config) (*Provider, error) {
	if err := validName(cfg.Name); err != nil {
		return nil, err
	}
	if cfg.ClientID == "" {
		return nil, fmt.Errorf("providers: %s: ClientID is required", cfg.Name)
	}
	if cfg.Identify == nil {
		return nil, fmt.Errorf("providers: %s: Identify is required (it maps a token to the user)", cfg.Name)
	}
	if err := checkEndpoint("authorization endpoint", cfg.Endpoint.AuthURL); err != nil {
		return nil, fmt.Errorf("%w (provider %s)", err, cfg.Name)
	}
	if err := checkEndpoint("token endpoint", cfg.Endpoint.TokenURL); err != nil {
		return nil, fmt.Errorf("%w (provider %s)", err, cfg.Name)
	}
	authParams, err := authCodeOptions(cfg.Name, cfg.AuthParams, nil)
	if err != nil {
		return nil, err
	}
	var method string
	switch cfg.Endpoint.AuthStyle {
	case oauth2.AuthStyleAutoDetect, oauth2.AuthStyleInHeader:
		// Auto-detection retries a refused request with the secret in the
		// body: the secret would be sent twice, two ways.
		method = authSecretBasic
	case oauth2.AuthStyleInParams:
		method = authSecretPost
	default:
		return nil, fmt.Errorf("providers: %s: unknown Endpoint.AuthStyle %d", cfg.Name, cfg.Endpoint.AuthStyle)
	}
	p := &Provider{
		name:        cfg.Name,
		displayName: cmp.Or(cfg.DisplayName, cfg.Name),
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Scopes:       slices.Clone(cfg.Scopes),
		},
		client:     hardenedClient(cfg.HTTPClient),
		authParams: authParams,
		now:        time.Now,
		disc: knownMetadata(cfg.Name, &metadata{
			endpoint:   oauth2.Endpoint{AuthURL: cfg.Endpoint.AuthURL, TokenURL: cfg.Endpoint.TokenURL},
			clientAuth: method,
		}),
	}
	identify := cfg.Identify
	p.identify = func(ctx context.Context, _ *metadata, tok *oauth2.Token, _ Flow) (*Identity, error) {
		u, err := identify(ctx, p.bearerClient(tok), tok)
		if err != nil {
			return nil, fmt.Errorf("identify: %w", err)
		}
		if u.Subject == "" || len(u.Subject) > 255 {
			return nil, errors.New("identify: subject missing or longer than 255 characters")
		}
		u.Provider, u.Issuer = p.name, ""
		u.Groups = slices.Clone(u.Groups)
		return &Identity{User: u, Tokens: tokens(tok, "")}, nil
	}
	return p, nil
}
