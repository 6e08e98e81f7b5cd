package devoidc

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/portcullis-go/portcullis/internal/loopback"
)

// Config configures a [Server]. The zero value of every optional field is a
// documented default. [New] copies and validates the Config; changing it, or
// the slices it holds, afterwards has no effect on the Server.
type Config struct {
	// Issuer is the issuer identifier of the provider (OpenID Connect
	// Discovery 1.0 §3, https://openid.net/specs/openid-connect-discovery-1_0.html#IssuerDiscovery):
	// an absolute URL with no query, fragment or user info, which may have a
	// path (routes are then served under that path). It must use https,
	// except on loopback hosts (127.0.0.0/8, ::1, localhost and names under
	// .localhost), where http is allowed: the rule the providers package
	// applies to a provider's URLs. Required. It appears verbatim as "iss"
	// in every ID token.
	Issuer string

	// Clients are the registered relying parties. At least one is required.
	Clients []Client

	// Name is what the provider's pages call it, such as "Stand-in for
	// Google" when it plays another provider in a demo: they then say
	// "<Name> — development provider, not for production" and carry it in
	// their title. Plain text, at most 64 bytes. Default: "Development
	// provider — not for production", and "devoidc" in the title.
	Name string

	// Users are the test users offered on the sign-in page. Default: two
	// users, "ada" (Ada Lovelace) and "grace" (Grace Hopper), with verified
	// example.com email addresses.
	Users []User

	// AutoLogin, when set, is the Subject of a user that the authorization
	// endpoint signs in immediately, without showing the sign-in page: a
	// browserless test can follow the redirects straight to the code. It
	// does not override prompt=none, which still needs an existing session.
	// Default: show the sign-in page.
	AutoLogin string

	// IgnoreStepUp simulates a provider that ignores step-up requests, for
	// testing how a relying party copes with one: it breaks a promise the
	// provider otherwise keeps, and MUST NOT be set for any other use.
	// While the browser has an OP session, the authorization endpoint then
	// reuses it whatever max_age, acr_values and prompt=login ask (OpenID
	// Connect Core 1.0 §3.1.2.1), and the ID token carries the session's
	// old auth_time, acr and amr; AutoLogin signs in with [ACRPassword]
	// even when acr_values ask for [ACRMultiFactor]. prompt=none still
	// needs a session, and the sign-in page still offers both levels.
	// Default: false, step-up requests are honoured.
	IgnoreStepUp bool

	// AccessTokenAudience, when set, makes every access token a JWT in the
	// profile of RFC 9068 (https://www.rfc-editor.org/rfc/rfc9068), with
	// this string as its "aud", so that a resource server with that
	// identifier can verify it against the JWKS by itself. The JWT is
	// signed like the ID tokens, with the header typ "at+jwt" and the kid,
	// and carries iss, sub, aud, exp, iat, jti, client_id, scope (space
	// separated) and, when a user authenticated, auth_time, acr and amr.
	// The userinfo, revocation and introspection endpoints accept it as
	// they accept an opaque token. It must be UTF-8 without spaces or
	// control characters. Default: opaque access tokens, which only devoidc
	// reads.
	AccessTokenAudience string

	// AccessTokenTTL is the lifetime of access tokens. Default: 5 minutes.
	AccessTokenTTL time.Duration

	// IDTokenTTL is the lifetime ("exp" minus "iat") of ID tokens.
	// Default: 5 minutes.
	IDTokenTTL time.Duration

	// RefreshTokenTTL is the absolute lifetime of a grant, counted from the
	// code exchange: refreshing never extends it. Default: 24 hours.
	RefreshTokenTTL time.Duration

	// Key is the RS256 signing key, of at least 2048 bits. It must not be
	// modified after New. Default: a fresh 2048-bit key, so tokens from a
	// previous run of the program do not verify.
	Key *rsa.PrivateKey

	// HTTPClient sends back-channel logout tokens to the clients'
	// BackchannelLogoutURI. Only its Transport and Timeout are used:
	// devoidc never follows a redirect and never sends cookies. A zero
	// Timeout means 5 seconds; a negative one is an error. Default:
	// [net/http.DefaultTransport] with a 5-second timeout. A test whose
	// relying party is an [net/http/httptest.Server] started with TLS
	// passes that server's Client here.
	HTTPClient *http.Client

	// Logger receives one line per notable event (sign-in, code exchange,
	// client_credentials grant, replay detected, revocation, logout,
	// back-channel delivery) with the
	// client ID. It never receives tokens, codes, secrets, cookies or
	// claims. Default: discard.
	Logger *slog.Logger
}

// Client is a registered relying party (OpenID Connect Dynamic Client
// Registration 1.0 §2 describes the metadata, although devoidc offers no
// registration endpoint). Only confidential clients are supported: every
// client authenticates at the token, revocation and introspection
// endpoints with its secret, by client_secret_basic or client_secret_post
// (https://openid.net/specs/openid-connect-core-1_0.html#ClientAuthentication).
type Client struct {
	// ID is the client_id. Required and unique.
	ID string

	// Secret is the client_secret. Required.
	Secret string

	// RedirectURIs are the absolute http or https redirection URIs the
	// client may use. The redirect_uri of a request must equal one of them
	// exactly, byte for byte (RFC 9700 §4.1.3). At least one is required;
	// none may have a fragment.
	RedirectURIs []string

	// PostLogoutRedirectURIs are the absolute URIs the end_session endpoint
	// may redirect to after logout, again compared exactly
	// (https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RedirectionAfterLogout).
	// Optional.
	PostLogoutRedirectURIs []string

	// BackchannelLogoutURI is the client's back-channel logout endpoint
	// (https://openid.net/specs/openid-connect-backchannel-1_0.html#BCRegistration).
	// When an OP session in which the client obtained tokens ends, devoidc
	// POSTs a logout token carrying the session's sid and the user's sub
	// to it, in the background (see the package documentation). Optional:
	// without it the client is not told.
	BackchannelLogoutURI string
}

// User is a test user. The claims are released by scope as in OpenID
// Connect Core 1.0 §5.4 (https://openid.net/specs/openid-connect-core-1_0.html#ScopeClaims):
// "profile" releases name, preferred_username and groups, "email" releases
// email and email_verified, and "groups" releases groups.
type User struct {
	// Subject is the "sub" claim: required, unique, at most 255 ASCII
	// characters (OpenID Connect Core 1.0 §2).
	Subject string

	// Name is the full name, shown on the sign-in page.
	Name string

	// Email is the email address.
	Email string

	// EmailVerified is the "email_verified" claim.
	EmailVerified bool

	// PreferredUsername is the "preferred_username" claim.
	PreferredUsername string

	// Groups is a non-standard "groups" claim, as many providers send it.
	Groups []string
}

// Defaults for the zero values of Config.
const (
	defaultAccessTokenTTL  = 5 * time.Minute
	defaultIDTokenTTL      = 5 * time.Minute
	defaultRefreshTokenTTL = 24 * time.Hour
	minKeyBits             = 2048
)

// defaultUsers returns the users offered when Config.Users is empty.
func defaultUsers() []User {
	return []User{
		{
			Subject:           "ada",
			Name:              "Ada Lovelace",
			Email:             "ada@example.com",
			EmailVerified:     true,
			PreferredUsername: "ada",
			Groups:            []string{"admins", "engineers"},
		},
		{
			Subject:           "grace",
			Name:              "Grace Hopper",
			Email:             "grace@example.com",
			EmailVerified:     true,
			PreferredUsername: "grace",
			Groups:            []string{"engineers"},
		},
	}
}

// config is a validated deep copy of Config with the defaults applied.
type config struct {
	Config
	issuerURL *url.URL
}

// validate checks cfg, applies the defaults and returns a deep copy.
func validate(cfg Config) (*config, error) {
	u, err := parseIssuer(cfg.Issuer)
	if err != nil {
		return nil, err
	}
	c := &config{Config: cfg, issuerURL: u}

	if len(cfg.Clients) == 0 {
		return nil, errors.New("devoidc: at least one Client is required")
	}
	c.Clients = make([]Client, len(cfg.Clients))
	seen := map[string]bool{}
	for i, cl := range cfg.Clients {
		if err := validateClient(cl); err != nil {
			return nil, fmt.Errorf("devoidc: Clients[%d]: %w", i, err)
		}
		if seen[cl.ID] {
			return nil, fmt.Errorf("devoidc: Clients[%d]: duplicate ID %q", i, cl.ID)
		}
		seen[cl.ID] = true
		cl.RedirectURIs = slices.Clone(cl.RedirectURIs)
		cl.PostLogoutRedirectURIs = slices.Clone(cl.PostLogoutRedirectURIs)
		c.Clients[i] = cl
	}

	if len(cfg.Name) > 64 || !utf8.ValidString(cfg.Name) || strings.ContainsFunc(cfg.Name, unicode.IsControl) {
		return nil, errors.New("devoidc: Name must be UTF-8 text of at most 64 bytes without control characters")
	}

	users := cfg.Users
	if len(users) == 0 {
		users = defaultUsers()
	}
	c.Users = make([]User, len(users))
	seen = map[string]bool{}
	for i, u := range users {
		if err := validateSubject(u.Subject); err != nil {
			return nil, fmt.Errorf("devoidc: Users[%d]: %w", i, err)
		}
		if seen[u.Subject] {
			return nil, fmt.Errorf("devoidc: Users[%d]: duplicate Subject %q", i, u.Subject)
		}
		seen[u.Subject] = true
		u.Groups = slices.Clone(u.Groups)
		c.Users[i] = u
	}
	if cfg.AutoLogin != "" && !seen[cfg.AutoLogin] {
		return nil, fmt.Errorf("devoidc: AutoLogin %q is not the Subject of any User", cfg.AutoLogin)
	}

	if aud := cfg.AccessTokenAudience; !utf8.ValidString(aud) || strings.ContainsFunc(aud, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}) {
		return nil, errors.New("devoidc: AccessTokenAudience must be UTF-8 without spaces or control characters")
	}

	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"AccessTokenTTL", &c.AccessTokenTTL, defaultAccessTokenTTL},
		{"IDTokenTTL", &c.IDTokenTTL, defaultIDTokenTTL},
		{"RefreshTokenTTL", &c.RefreshTokenTTL, defaultRefreshTokenTTL},
	} {
		switch {
		case *d.v < 0:
			return nil, fmt.Errorf("devoidc: %s must not be negative", d.name)
		case *d.v == 0:
			*d.v = d.def
		case *d.v < time.Second:
			return nil, fmt.Errorf("devoidc: %s must be at least one second", d.name)
		}
	}

	if cfg.Key != nil {
		if err := cfg.Key.Validate(); err != nil {
			return nil, fmt.Errorf("devoidc: Key: %w", err)
		}
		if n := cfg.Key.N.BitLen(); n < minKeyBits {
			return nil, fmt.Errorf("devoidc: Key has %d bits, want at least %d", n, minKeyBits)
		}
	}
	if cfg.HTTPClient != nil && cfg.HTTPClient.Timeout < 0 {
		return nil, errors.New("devoidc: HTTPClient.Timeout must not be negative")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// parseIssuer checks the issuer rules documented on Config.Issuer.
func parseIssuer(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("devoidc: Issuer is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("devoidc: Issuer: %w", err)
	}
	switch {
	case !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return nil, fmt.Errorf("devoidc: Issuer %q must be an absolute URL", raw)
	case u.User != nil:
		return nil, fmt.Errorf("devoidc: Issuer %q must not contain user info", raw)
	case u.RawQuery != "" || u.ForceQuery:
		return nil, fmt.Errorf("devoidc: Issuer %q must not have a query", raw)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, fmt.Errorf("devoidc: Issuer %q must not have a fragment", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopback.Host(u.Hostname()) {
			return nil, fmt.Errorf("devoidc: Issuer %q uses http on a non-loopback host; use https", raw)
		}
	default:
		return nil, fmt.Errorf("devoidc: Issuer %q must use https (or http on a loopback host)", raw)
	}
	p := strings.TrimSuffix(u.Path, "/")
	if u.EscapedPath() != u.Path || (p != "" && path.Clean(p) != p) {
		return nil, fmt.Errorf("devoidc: Issuer %q must have a clean path without escapes", raw)
	}
	return u, nil
}

func validateClient(c Client) error {
	if c.ID == "" {
		return errors.New("missing ID")
	}
	if c.Secret == "" {
		return fmt.Errorf("client %q: Secret is required", c.ID)
	}
	if len(c.RedirectURIs) == 0 {
		return fmt.Errorf("client %q: at least one RedirectURI is required", c.ID)
	}
	for _, list := range []struct {
		name string
		uris []string
	}{
		{"RedirectURIs", c.RedirectURIs},
		{"PostLogoutRedirectURIs", c.PostLogoutRedirectURIs},
	} {
		for _, raw := range list.uris {
			if err := validateClientURI(raw); err != nil {
				return fmt.Errorf("client %q: %s: %w", c.ID, list.name, err)
			}
		}
	}
	if c.BackchannelLogoutURI != "" {
		if err := validateClientURI(c.BackchannelLogoutURI); err != nil {
			return fmt.Errorf("client %q: BackchannelLogoutURI: %w", c.ID, err)
		}
	}
	return nil
}

// validateClientURI accepts absolute http and https URLs without a fragment.
func validateClientURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q must be an absolute http or https URL", raw)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("%q must not have a fragment", raw)
	}
	return nil
}

// validateSubject applies OpenID Connect Core 1.0 §2: "sub" is at most 255
// ASCII characters; devoidc also refuses control characters.
func validateSubject(sub string) error {
	if sub == "" {
		return errors.New("missing Subject")
	}
	if len(sub) > 255 {
		return errors.New("the Subject is longer than 255 characters")
	}
	for i := 0; i < len(sub); i++ {
		if sub[i] < 0x20 || sub[i] > 0x7e {
			return fmt.Errorf("the Subject %q must be printable ASCII", sub)
		}
	}
	return nil
}
