package providers

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// appleIssuer is Apple's OpenID Connect issuer; its discovery document is
// https://appleid.apple.com/.well-known/openid-configuration.
const appleIssuer = "https://appleid.apple.com"

// AppleConfig configures Sign in with Apple for a website
// (https://developer.apple.com/documentation/signinwithapplerestapi). Zero
// values are documented defaults.
type AppleConfig struct {
	// Name identifies the provider in paths and sessions. Default "apple":
	// the Return URL to register with the Services ID is then BaseURL +
	// "/auth/callback/apple".
	Name string
	// DisplayName is shown on the sign-in button. Default "Apple" ("Sign in
	// with Apple").
	DisplayName string
	// TeamID is the developer team's 10-character Team ID (the client
	// secret's "iss"). Required.
	TeamID string
	// ClientID is the Services ID, such as "com.example.web" (the client
	// secret's "sub", the ID tokens' "aud"). Required.
	ClientID string
	// KeyID is the 10-character Key ID of the Sign in with Apple key (the
	// client secret's "kid"). Required.
	KeyID string
	// PrivateKey is that key as Apple lets you download it once: the
	// contents of the .p8 file, a PEM "PRIVATE KEY" block holding a PKCS #8
	// ECDSA P-256 key. Apple refused to start with anything else. It signs
	// the client secret; it is never sent. Required.
	PrivateKey []byte
	// Authority is where discovery starts. Default
	// "https://appleid.apple.com"; set it only to test against a local
	// stand-in.
	Authority string
	// Scopes requested, among "name" and "email" ("openid" is always
	// included). Default "name email". Apple sends the name only once (see
	// [Apple]).
	Scopes []string
	// HTTPClient makes the requests to Apple, as [OIDCConfig.HTTPClient].
	HTTPClient *http.Client
	// Logger receives the discovery events, as [OIDCConfig.Logger] does.
	Logger *slog.Logger
}

// Apple returns a provider for Sign in with Apple, built by discovery from
// cfg.Authority and verified like any [OIDC] provider: the ID token's
// signature against Apple's published keys (RS256), "iss", "aud" (the
// Services ID), "exp", "iat" and "nonce", which Apple echoes when the
// request carries one. What Apple does differently
// (https://developer.apple.com/documentation/sign_in_with_apple/sign_in_with_apple_js/incorporating_sign_in_with_apple_into_other_platforms):
//
//   - The authorization response is a cross-site form POST
//     (response_mode=form_post, which Apple requires when the name or
//     email scope is requested): see [Provider.FormPost].
//   - The client secret is a JWT signed ES256 with the .p8 key (header kid;
//     claims iss the Team ID, iat, exp at most six months later, aud
//     https://appleid.apple.com, sub the Services ID), sent in the body of
//     every token and revocation request (client_secret_post, the only
//     method Apple's discovery document lists). Apple mints one on demand,
//     valid for an hour, and keeps it until half of that is left.
//   - "email_verified" and "is_private_email" may be the strings "true"
//     and "false"; they are read either way. The email is kept only when
//     verified. A private relay address is a working address that
//     forwards to the user: "is_private_email" is kept in the session as
//     Apple sent it (true, or the string "true"), for
//     session.User.Claim.
//   - The user's name is not in the ID token: Apple sends it, on the
//     user's first authorization of the Services ID only, in the "user"
//     form field (JSON with name.firstName and name.lastName). It becomes
//     User.Name of that sign-in, read tolerantly from that POST alone (at
//     most 4 KiB, no control characters; anything else is no name), and
//     is never used for who the user is: the identity is the ID token's
//     "sub", and the email is the ID token's too, never the form's. Keep
//     the name in the application's own records if it is wanted later.
//
// Apple refuses a configuration that is wrong: a Team or Key ID that is
// not 10 letters or digits, no Services ID, a key that is not a PKCS #8
// P-256 key, a scope other than openid, name and email, and whatever
// [OIDC] refuses. It makes network requests (discovery); ctx bounds the
// first attempt, and an Apple that cannot be reached makes sign-ins with
// it unavailable until discovery succeeds, as for any [OIDC] provider.
func Apple(ctx context.Context, cfg AppleConfig) (*Provider, error) {
	name := cmp.Or(cfg.Name, "apple")
	for _, id := range []struct{ field, value string }{{"TeamID", cfg.TeamID}, {"KeyID", cfg.KeyID}} {
		if !appleID(id.value) {
			return nil, fmt.Errorf("providers: %s: %s %q must be the 10 letters and digits Apple shows in your developer account", name, id.field, id.value)
		}
	}
	scopes := slices.Clone(cfg.Scopes)
	if len(scopes) == 0 {
		scopes = []string{"name", "email"}
	}
	for _, sc := range scopes {
		if sc != "openid" && sc != "name" && sc != "email" {
			return nil, fmt.Errorf("providers: %s: scope %q: Sign in with Apple knows only name and email", name, sc)
		}
	}
	var p *Provider
	secret, err := newAppleSecret(cfg.TeamID, cfg.ClientID, cfg.KeyID, cfg.PrivateKey, func() time.Time { return p.now() })
	if err != nil {
		return nil, fmt.Errorf("providers: %s: %w", name, err)
	}
	p, err = OIDC(ctx, OIDCConfig{
		Name:        name,
		DisplayName: cmp.Or(cfg.DisplayName, "Apple"),
		Issuer:      cmp.Or(cfg.Authority, appleIssuer),
		ClientID:    cfg.ClientID,
		Scopes:      scopes,
		// The only method Apple's discovery document lists.
		ClientAuth:       "client_secret_post",
		ClientSecretFunc: secret.get,
		// Whether the email is a private relay address, for the
		// application (session.User.Claim).
		KeepClaims: []string{"is_private_email"},
		HTTPClient: cfg.HTTPClient,
		Logger:     cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	p.formPost = true
	p.fromResponse = func(params url.Values, id *Identity) {
		if id.User.Name == "" {
			id.User.Name = appleUserName(params)
		}
	}
	return p, nil
}

// appleID reports whether s has the shape of a Team ID or Key ID: 10 ASCII
// letters or digits.
func appleID(s string) bool {
	if len(s) != 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// Bounds on the "user" form field and the name read from it.
const (
	maxAppleUser     = 4 << 10
	maxAppleUserName = 256
)

// appleUserName returns the name in the authorization response's "user"
// field, "First Last", or "" when there is none: no field, several, a
// field above maxAppleUser, JSON of another shape, or a name that is not
// valid UTF-8, holds control characters or is above maxAppleUserName.
// It never fails a sign-in.
func appleUserName(params url.Values) string {
	vs := params["user"]
	if len(vs) != 1 || len(vs[0]) > maxAppleUser {
		return ""
	}
	var u struct {
		Name json.RawMessage `json:"name"`
	}
	if json.Unmarshal([]byte(vs[0]), &u) != nil || len(u.Name) == 0 {
		return ""
	}
	var n struct {
		First claimString `json:"firstName"`
		Last  claimString `json:"lastName"`
	}
	if json.Unmarshal(u.Name, &n) != nil {
		return ""
	}
	var parts []string
	for _, s := range []string{strings.TrimSpace(string(n.First)), strings.TrimSpace(string(n.Last))} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	name := strings.Join(parts, " ")
	if len(name) > maxAppleUserName || !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl) {
		return ""
	}
	return name
}
