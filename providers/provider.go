package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/portcullis-go/portcullis/session"
	"golang.org/x/oauth2"
)

// Provider is one sign-in provider: its endpoints, the application's client
// credentials there, and how a login's tokens become a verified
// [session.User]. Every constructor in this package returns a *Provider; its
// configuration is fixed at construction, and it is safe for concurrent
// use. An OpenID Connect provider learns its endpoints from its discovery
// document, fetched once, at construction or, when the provider cannot be
// reached then, on first use (see [OIDC]); until then its methods that need
// them fail with an error wrapping [ErrUnavailable].
type Provider struct {
	name        string
	displayName string
	brand       string // "google", "github" or ""; see Brand
	issuer      string // OpenID Connect issuer; empty for plain OAuth 2.0
	// oauth holds the client credentials and scopes; the endpoint comes
	// from the metadata and the redirect URL from the flow (config).
	oauth      oauth2.Config
	client     *http.Client
	authParams []oauth2.AuthCodeOption
	now        func() time.Time
	// disc holds the metadata (discovery.go): known from the start for
	// plain OAuth 2.0, from the discovery document for OpenID Connect.
	disc *discovery
	// identify turns a token response into an identity; it is the part
	// that differs between OpenID Connect and plain OAuth 2.0 providers.
	identify func(ctx context.Context, m *metadata, tok *oauth2.Token, f Flow) (*Identity, error)
	// groupsClaim is OIDCConfig.GroupsClaim when it is not "groups".
	groupsClaim []string
	// clientSecret, when set, produces the client secret of each
	// authenticated call to the provider (token, refresh, revocation,
	// introspection) in place of oauth.ClientSecret: fetched per call,
	// the function does its own caching (clientauth.go).
	clientSecret func(ctx context.Context) (string, error)
	// auth is the configured client authentication (clientauth.go);
	// metadata.clientAuth is the method it settled on.
	auth clientAuth
}

// metadata is what a provider's operations need beyond its configuration:
// its endpoints and what is built from them. Plain OAuth 2.0 providers
// have it from their configuration, OpenID Connect providers from their
// discovery document. It never changes once known.
type metadata struct {
	endpoint oauth2.Endpoint
	// issParamRequired is set when the provider advertises RFC 9207
	// authorization_response_iss_parameter_supported.
	issParamRequired bool
	// endSessionURL, revocationURL and userInfoURL are the provider's
	// end_session_endpoint (RP-Initiated Logout), revocation_endpoint
	// (RFC 7009) and userinfo_endpoint, if it has them.
	endSessionURL string
	revocationURL string
	userInfoURL   string
	// idTokens verifies ID tokens; nil for providers without them.
	idTokens *idTokenVerifier
	// accessKeys verifies JWT access tokens (accesstoken.go): the
	// provider's JWKS with the logout tokens' fetch floor, since anyone
	// can present an access token (SECURITY.md NET-05). nil for providers
	// without an issuer.
	accessKeys *jwksCache
	// introspection is the provider's introspection_endpoint (RFC 7662)
	// with its answer cache (introspect.go); nil if it has none.
	introspection *introspector
	// logout verifies Back-Channel Logout tokens; nil for providers
	// without ID tokens.
	logout *logoutVerifier
	// clientAuth is the client authentication method of every call that
	// authenticates the client (clientauth.go): client_secret_basic,
	// client_secret_post or private_key_jwt.
	clientAuth string
}

// metadata returns p's metadata, fetching the discovery document when it
// is not known yet (discovery.go). Its errors wrap ErrUnavailable.
func (p *Provider) metadata(ctx context.Context) (*metadata, error) {
	return p.disc.get(ctx)
}

// config returns the oauth2.Config of a request to m's endpoints with
// redirectURL.
func (p *Provider) config(m *metadata, redirectURL string) oauth2.Config {
	c := p.oauth
	c.Endpoint = m.endpoint
	c.RedirectURL = redirectURL
	return c
}

// Flow is what a login flow carries from its start to its callback. The
// middleware mints every value with crypto/rand and keeps them in the
// encrypted flow cookie; none of them ever comes from request input.
type Flow struct {
	// RedirectURL is the provider's callback URL, built from the
	// application's configured base URL, never from request headers.
	RedirectURL string
	// Issuer is the issuer the flow was started for ([Provider.Issuer]
	// then; "" for plain OAuth 2.0): a flow finishes only at a provider
	// with the same issuer.
	Issuer string
	// State is the OAuth 2.0 state (CSRF protection, RFC 6749 §10.12).
	State string
	// Nonce binds the ID token to this flow (OpenID Connect Core §15.5.2).
	Nonce string
	// Verifier is the PKCE code verifier (RFC 7636); only its S256
	// challenge goes into the authorization URL.
	Verifier string
	// Prompt, when set, is sent as the OpenID Connect "prompt" parameter
	// (e.g. "consent" when a login is restarted because a refresh token
	// is needed and the provider did not issue one).
	Prompt string
	// MaxAge, ACRValues and AMR ask for a step-up (OpenID Connect Core
	// §3.1.2.1): an authentication at most MaxAge old (sent as max_age,
	// with prompt=login), of one of the ACRValues classes (acr_values),
	// and using every AMR method (verified only: there is no request
	// parameter for it). [Provider.Callback] refuses, wrapping
	// ErrNotAllowed, an identity whose auth_time, acr or amr does not
	// meet them, so a provider that ignores the request cannot pass an
	// old or weak authentication as a strong one. Only OpenID Connect
	// providers can step up.
	MaxAge    time.Duration
	ACRValues []string
	AMR       []string
}

// Identity is the verified outcome of a login: who the user is, the tokens,
// and the provider's session id.
type Identity struct {
	User   session.User
	Tokens session.Tokens
	// SID is the OpenID Connect session id ("sid"), if the provider sent
	// one; back-channel logout refers to it.
	SID string
	// AuthTime is when the user authenticated at the provider (the ID
	// token's "auth_time"), and zero when it did not say: a login may be a
	// silent single sign-on over a provider session days old, so the time
	// of the login is not the time of the authentication. ACR and AMR are
	// the ID token's "acr" and "amr", when present.
	AuthTime time.Time
	ACR      string
	AMR      []string
	// Claims holds every claim the provider asserted, as raw JSON by
	// top-level name, for the application's own mapping at sign-in
	// (middleware SignInClaims). For an OpenID Connect provider they are
	// the verified ID token's claims with, when UserInfo is on, the
	// UserInfo response's claims added over the profile claims — never
	// over the claims the verification rests on (iss, sub, aud, exp, iat,
	// nbf, nonce, azp, at_hash, c_hash, auth_time, acr, amr, sid, jti),
	// which stay the ID token's. A merged set above 64 KiB of JSON is
	// refused (ErrInvalidResponse). It is nil for [GitHub] and other
	// plain OAuth 2.0 providers, which have no claims: their user is what
	// the provider's code reads from its user API (an
	// [OAuth2Config.Identify] may fill User.Claims itself). User.Claims
	// holds the part kept in the session ([OIDCConfig.KeepClaims]).
	Claims map[string]json.RawMessage
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

func validName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("providers: name %q must be 1 to 32 lower-case letters, digits or '-' (it appears in the callback path)", name)
	}
	return nil
}

// Name returns the provider's configured name, as used in the callback
// path /auth/callback/{name}.
func (p *Provider) Name() string { return p.name }

// DisplayName returns the name shown on the sign-in button.
func (p *Provider) DisplayName() string { return p.displayName }

// Issuer returns the OpenID Connect issuer, or "" for a plain OAuth 2.0
// provider.
func (p *Provider) Issuer() string { return p.issuer }

// AuthCodeURL returns the authorization request URL for f: response_type
// code, the configured scopes, state, nonce (OpenID Connect providers) and
// the PKCE S256 challenge — always, whatever the provider advertises —,
// and the configured AuthParams. f's prompt replaces a configured one, and
// a step-up's prompt=login replaces both.
//
// It fails only when the provider's endpoints are not known: an OpenID
// Connect provider whose discovery document could not be fetched yet (see
// [OIDC]). AuthCodeURL then fetches it, waiting as long as ctx allows, and
// returns an error wrapping [ErrUnavailable] if that fails or a backoff
// after an earlier failure is running.
func (p *Provider) AuthCodeURL(ctx context.Context, f Flow) (string, error) {
	m, err := p.metadata(ctx)
	if err != nil {
		return "", err
	}
	c := p.config(m, f.RedirectURL)
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(f.Verifier)}, p.authParams...)
	if p.issuer != "" {
		opts = append(opts, oauth2.SetAuthURLParam("nonce", f.Nonce))
	}
	if f.Prompt != "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", f.Prompt))
	}
	if p.issuer != "" {
		// A step-up's prompt=login replaces any other prompt.
		opts = append(opts, stepUpParams(f)...)
	}
	return c.AuthCodeURL(f.State, opts...), nil
}

// checkTokenResponse refuses token responses a client must not use
// (RFC 6749 §5.1, §7.1).
func checkTokenResponse(tok *oauth2.Token) error {
	if tok.AccessToken == "" {
		return errors.New("token response without access_token")
	}
	switch {
	case tok.TokenType == "", equalFoldASCII(tok.TokenType, "bearer"):
	default:
		return errors.New("token response with a token_type other than Bearer")
	}
	return nil
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// defaultTokenLifetime is assumed for an access token whose response had
// no expires_in, when it can be renewed (a refresh token) or comes from an
// OpenID Connect provider: such a token is treated as short-lived, never
// as eternal (RFC 6749 §5.1 makes expires_in only RECOMMENDED).
const defaultTokenLifetime = 10 * time.Minute

// defaultExpiry gives t an expiry when the provider sent none and the
// token is of a kind that expires; plain OAuth 2.0 tokens without a refresh
// token (GitHub OAuth apps) keep "does not expire".
func (p *Provider) defaultExpiry(t *session.Tokens) {
	if t.Expiry.IsZero() && (p.issuer != "" || t.RefreshToken != "") {
		t.Expiry = p.now().Add(defaultTokenLifetime)
	}
}

// tokens converts an oauth2 token to the session's form.
func tokens(tok *oauth2.Token, rawIDToken string) session.Tokens {
	return session.Tokens{
		AccessToken:  tok.AccessToken,
		TokenType:    "Bearer",
		RefreshToken: tok.RefreshToken,
		Expiry:       tok.Expiry,
		IDToken:      rawIDToken,
	}
}
