package providers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/oauth2"
)

// googleIssuer is Google's OpenID Connect issuer.
const googleIssuer = "https://accounts.google.com"

// GoogleConfig configures sign-in with Google
// (https://developers.google.com/identity/openid-connect/openid-connect).
// Zero values are documented defaults.
type GoogleConfig struct {
	// Name identifies the provider in paths and sessions. Default "google":
	// the redirect URI to register is then BaseURL + "/auth/callback/google".
	Name string
	// DisplayName is shown on the sign-in button. Default "Google", which
	// Google's branding guidelines ask for ("Sign in with Google").
	DisplayName string
	// ClientID and ClientSecret are the OAuth client's credentials (type
	// "Web application" in the Google Cloud console). ClientID is required.
	ClientID     string
	ClientSecret string
	// HostedDomains restricts sign-in to Google Workspace (or Cloud
	// Identity) accounts of these domains, such as "example.com", by the
	// ID token's "hd" claim — never by the email address, which proves
	// nothing about the organisation that manages an account. Accounts
	// without "hd" (consumer Gmail accounts) or with another domain are
	// refused with [ErrNotAllowed]. With exactly one domain, the
	// authorization request also carries it as the "hd" hint, which only
	// streamlines Google's account chooser. Default: any Google account.
	HostedDomains []string
	// Offline asks for a refresh token (access_type=offline), so the
	// session can outlive the one-hour access token. A login that gets no
	// refresh token without having asked for consent fails with
	// [ErrConsentRequired], for the middleware to ask again with
	// prompt=consent.
	Offline bool
	// Scopes requested. Default "openid email profile"; "openid" is always
	// included.
	Scopes []string
	// AuthParams are added to every authorization request, as
	// [OIDCConfig.AuthParams] are ("login_hint", "prompt" such as
	// "select_account"), with the same refusals, and also of "hd" and
	// "access_type", which HostedDomains and Offline set. Default: none.
	AuthParams url.Values
	// KeepClaims names claims of Google's ID token to keep in the
	// session, such as "hd" or "locale", as [OIDCConfig.KeepClaims] does,
	// with the same rules. Default: none.
	KeepClaims []string
	// Issuer is where discovery starts. Default "https://accounts.google.com";
	// set it only to test against a local stand-in.
	Issuer string
	// HTTPClient makes the requests to Google. portcullis always copies it
	// to refuse redirects and cap response sizes; its Timeout defaults to
	// 10 s. Default: a client based on http.DefaultTransport.
	HTTPClient *http.Client
	// Logger receives the discovery events, as [OIDCConfig.Logger] does.
	// Default: events are discarded.
	Logger *slog.Logger
}

// Google returns a provider for Google's OpenID Connect service, built by
// discovery from cfg.Issuer and verified like any [OIDC] provider: the ID
// token's signature against Google's published keys, "iss", "aud", "exp",
// "nonce", "iat", "azp" and "at_hash". Google may write "iss" without the
// scheme ("accounts.google.com"); go-oidc accepts that spelling for the
// issuer https://accounts.google.com only, so it never applies to another
// provider. The user's issuer is always recorded as cfg.Issuer.
//
// The email is kept only when "email_verified" is true. With HostedDomains,
// the "hd" claim decides who may sign in. Google announces the issuer in
// its authorization responses ("iss", RFC 9207), which the middleware
// checks.
//
// Google makes network requests (discovery); ctx bounds the first attempt.
// When Google cannot be reached, Google returns the provider all the same
// and sign-ins with it are unavailable until discovery succeeds, as for
// any [OIDC] provider; a configuration that is wrong is refused.
func Google(ctx context.Context, cfg GoogleConfig) (*Provider, error) {
	name := cmp.Or(cfg.Name, "google")
	var domains []string
	for _, d := range cfg.HostedDomains {
		if !validDomain(d) {
			return nil, fmt.Errorf("providers: %s: hosted domain %q must be a lower-case DNS name such as \"example.com\" (punycode for international names)", name, d)
		}
		domains = append(domains, d)
	}
	if _, err := authCodeOptions(name, cfg.AuthParams, map[string]string{"hd": "HostedDomains", "access_type": "Offline"}); err != nil {
		return nil, err
	}
	p, err := OIDC(ctx, OIDCConfig{
		Name:         name,
		DisplayName:  cmp.Or(cfg.DisplayName, "Google"),
		Issuer:       cmp.Or(cfg.Issuer, googleIssuer),
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Scopes:       cfg.Scopes,
		AuthParams:   cfg.AuthParams,
		KeepClaims:   cfg.KeepClaims,
		HTTPClient:   cfg.HTTPClient,
		Logger:       cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	p.brand = brandGoogle
	if cfg.Offline {
		p.authParams = append(p.authParams, oauth2.AccessTypeOffline)
	}
	if len(domains) == 1 {
		p.authParams = append(p.authParams, oauth2.SetAuthURLParam("hd", domains[0]))
	}
	verified := p.identify
	offline := cfg.Offline
	p.identify = func(ctx context.Context, m *metadata, tok *oauth2.Token, f Flow) (*Identity, error) {
		id, err := verified(ctx, m, tok, f)
		if err != nil {
			return nil, err
		}
		id.User.Issuer = p.issuer
		if len(domains) > 0 {
			// The claims the login decoded (Google has no UserInfo here).
			var hd string
			if raw, ok := id.Claims["hd"]; ok {
				if hd, ok = jsonString(raw); !ok {
					return nil, errors.New("id_token: malformed claims")
				}
			}
			if !slices.Contains(domains, hd) {
				return nil, fmt.Errorf("%w: not an account of an allowed Google Workspace domain (hd)", ErrNotAllowed)
			}
		}
		if offline && tok.RefreshToken == "" && f.Prompt != "consent" {
			return nil, ErrConsentRequired
		}
		return id, nil
	}
	return p, nil
}

// validDomain reports whether d is a lower-case ASCII DNS name with at
// least two labels. Comparing such names byte for byte leaves no room for
// case-folding or homoglyph tricks (SECURITY.md AZ-03, AZ-04).
func validDomain(d string) bool {
	if len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
