package providers

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Limits on an access token, checked before any parsing.
const (
	// maxAccessTokenSize bounds a presented token, JWT or opaque.
	maxAccessTokenSize = 16 << 10
	// maxAccessTokenHeader bounds a JWT's encoded protected header.
	maxAccessTokenHeader = 4 << 10
	// maxSubjectLen bounds "sub", a key applications store.
	maxSubjectLen = 255
)

// AccessTokenRules says what the application's API requires of an access
// token presented to it ([Provider.VerifyAccessToken],
// [Provider.Introspect]). Rules are passed with each call; the zero value
// is not usable (Audience is required).
type AccessTokenRules struct {
	// Audience identifies the application's API at the provider (its
	// resource indicator, RFC 8707, or "API identifier"); the token's
	// "aud" must contain it. Required: there is no "any audience", since
	// a token the provider issued for another API of the same provider
	// would then be accepted here (RFC 9068 §4, RFC 8725 §3.9).
	Audience string
	// InsecureAllowIDTokens makes VerifyAccessToken accept a JWT that
	// looks like an ID token: typed "JWT" or untyped, with a "nonce" or
	// "at_hash" claim or without "client_id". Such a token is refused by
	// default, because an ID token is a statement to the client that a
	// user signed in, not a credential for an API. It MUST NOT be set
	// when Audience is the client ID of an application users sign in to:
	// every ID token issued to that client would then open the API. It
	// exists for providers whose access tokens have the shape of ID
	// tokens (no client_id: Entra ID's, say, and Keycloak's by default).
	// Introspect ignores it.
	InsecureAllowIDTokens bool
	// InsecureAllowNoAudience makes Introspect accept an answer without
	// "aud" (RFC 7662 makes it optional): nothing then says which API the
	// token is for, and a token the provider issued to another client or
	// API passes. Refused by default. It MUST NOT be set unless every
	// token the provider issues is meant for this API. VerifyAccessToken
	// ignores it (a JWT's aud is required).
	InsecureAllowNoAudience bool
}

// AccessToken is a verified access token: a JWT access token (RFC 9068)
// or the provider's introspection answer for an opaque one (RFC 7662).
// Fields are zero when the token does not carry the claim.
type AccessToken struct {
	// Subject is "sub": the user, or for a token a client obtained for
	// itself, usually the client. Always set for a JWT access token; an
	// introspection answer may omit it.
	Subject string
	// ClientID is "client_id", the client the token was issued to.
	ClientID string
	// Scopes are the space-separated entries of "scope".
	Scopes []string
	// Audience is "aud"; it contains [AccessTokenRules.Audience] (an
	// introspection answer may omit it, see [Provider.Introspect]).
	Audience []string
	// Expiry is "exp" (zero only for an introspection answer without it).
	Expiry time.Time
	// IssuedAt is "iat".
	IssuedAt time.Time
	// AuthTime, ACR and AMR describe the user's authentication
	// ("auth_time", "acr", "amr", RFC 9068 §2.2.1; OpenID Connect Core
	// §2). They decode tolerantly: a claim of the wrong type is absent.
	AuthTime time.Time
	ACR      string
	AMR      []string
	// Groups are the groups or roles at the provider's GroupsClaim path
	// (OIDCConfig.GroupsClaim; default "groups"), read like an ID
	// token's.
	Groups []string

	claims []byte
}

// Claims unmarshals the token's claims — the JWT's payload, or the
// introspection answer — into v, as go-oidc's IDToken.Claims does, for
// claims AccessToken does not carry ("groups", say). Their signature,
// issuer, audience and lifetime are verified; their meaning is the
// provider's.
func (t *AccessToken) Claims(v any) error {
	if t.claims == nil {
		return errors.New("providers: access token has no claims")
	}
	return json.Unmarshal(t.claims, v)
}

// VerifyAccessToken verifies raw, a JWT access token presented to the
// application's API (RFC 9068 §4):
//
//   - at most 16 KiB, a header of at most 4 KiB, compact serialization;
//   - "typ" at+jwt or application/at+jwt (any case), or JWT or absent,
//     the shape of older access tokens — but then a token with a "nonce"
//     or "at_hash" claim, or without "client_id", is an ID token and is
//     refused unless [AccessTokenRules.InsecureAllowIDTokens];
//   - signed with one of the provider's published keys and one of the
//     algorithms pinned for its ID tokens ([OIDCConfig.SigningAlgs]):
//     never "none" or HMAC;
//   - "iss" exactly the provider's issuer, "aud" containing
//     rules.Audience, "exp" present and not past, "iat" present (RFC
//     9068 §2.2) and, like "nbf" when present, at most a minute in the
//     future, "sub" present and at most 255 bytes.
//
// Keys are fetched on first use and cached by the rules of the ID
// tokens' keys (Cache-Control max-age, stale keys for one more max age
// when a fetch fails), except that a token signed with an unknown key
// causes at most one fetch per 30 s, whoever sends such tokens. Refusals
// wrap [ErrInvalidToken] and name the failed check, never a value from
// the token; keys that cannot be fetched wrap [ErrUnavailable], as does a
// discovery document that cannot be fetched (see [OIDC]). A provider
// without an issuer (plain OAuth 2.0) returns an error wrapping
// [errors.ErrUnsupported], an empty Audience one wrapping none of these.
//
// It does not check scopes (the application decides what each needs), a
// maximum age, or revocation: a JWT access token stays valid until "exp"
// — use [Provider.Introspect] to learn of revocation. Encrypted (JWE)
// access tokens are not supported.
func (p *Provider) VerifyAccessToken(ctx context.Context, raw string, rules AccessTokenRules) (*AccessToken, error) {
	if p.issuer == "" {
		return nil, fmt.Errorf("providers: %s: not an OpenID Connect provider: no JWT access tokens: %w", p.name, errors.ErrUnsupported)
	}
	if rules.Audience == "" {
		return nil, fmt.Errorf("providers: %s: AccessTokenRules.Audience is required", p.name)
	}
	m, err := p.metadata(ctx)
	if err != nil {
		return nil, fmt.Errorf("providers: %s: access token: %w", p.name, err)
	}
	t, err := p.verifyAccessToken(ctx, m.accessKeys, raw, rules)
	switch {
	case err == nil:
		t.Groups = p.tokenGroups(t)
		return t, nil
	case keysUnavailable(err):
		return nil, fmt.Errorf("providers: %s: access token: %w: %w", p.name, ErrUnavailable, err)
	}
	return nil, fmt.Errorf("providers: %s: access token: %w: %w", p.name, ErrInvalidToken, err)
}

// atHeader holds the header members the typ check reads.
type atHeader struct {
	Typ *string `json:"typ"`
}

// atClaims are the claims of a JWT access token. Those a check rests on
// are strict (a value of the wrong type refuses the token); scope, acr,
// amr and auth_time decode tolerantly, as absent, which can only take
// something away.
type atClaims struct {
	Issuer    string          `json:"iss"`
	Subject   string          `json:"sub"`
	Audience  audience        `json:"aud"`
	Expiry    *oidcTime       `json:"exp"`
	NotBefore *oidcTime       `json:"nbf"`
	IssuedAt  *oidcTime       `json:"iat"`
	ClientID  *string         `json:"client_id"`
	Nonce     json.RawMessage `json:"nonce"`
	AtHash    json.RawMessage `json:"at_hash"`
	Scope     claimScope      `json:"scope"`
	AuthTime  claimTime       `json:"auth_time"`
	ACR       claimString     `json:"acr"`
	AMR       claimGroups     `json:"amr"` // decoded like groups
}

// verifyAccessToken runs the checks; its errors say which failed (those
// of the key set keep their types for keysUnavailable).
func (p *Provider) verifyAccessToken(ctx context.Context, keys *jwksCache, raw string, rules AccessTokenRules) (*AccessToken, error) {
	if len(raw) > maxAccessTokenSize {
		return nil, errors.New("too large")
	}
	enc, _, _ := strings.Cut(raw, ".")
	if len(enc) > maxAccessTokenHeader {
		return nil, errors.New("header too large")
	}
	if strings.Count(raw, ".") != 2 || !base64URLDotted(raw) {
		return nil, errors.New("malformed (not a compact JWS)")
	}
	jwtLike, err := checkAccessTyp(enc)
	if err != nil {
		return nil, err
	}
	jws, err := jose.ParseSignedCompact(raw, keys.algs)
	var unexpected *jose.ErrUnexpectedSignatureAlgorithm
	switch {
	case errors.As(err, &unexpected):
		return nil, errors.New("signing algorithm not allowed")
	case err != nil, len(jws.Signatures) != 1:
		return nil, errors.New("malformed")
	}
	payload, err := keys.VerifySignature(ctx, raw)
	switch {
	case err == nil:
	case keysUnavailable(err):
		return nil, err
	case errors.Is(err, errUnknownKey):
		return nil, errors.New("signed with an unknown key")
	default:
		return nil, errors.New("signature invalid")
	}
	// The signature is valid: header and claims are the provider's.
	var c atClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, errors.New("malformed claims")
	}
	now := p.now()
	switch {
	case c.Issuer != p.issuer:
		return nil, errors.New("wrong issuer")
	case !slices.Contains(c.Audience, rules.Audience):
		return nil, errors.New("wrong audience")
	case c.Expiry == nil:
		return nil, errors.New("exp missing")
	case now.After(c.Expiry.time()):
		return nil, errors.New("expired")
	case c.NotBefore != nil && c.NotBefore.time().After(now.Add(clockSkew)):
		return nil, errors.New("not yet valid (nbf)")
	case c.IssuedAt == nil:
		return nil, errors.New("iat missing")
	case c.IssuedAt.time().After(now.Add(clockSkew)):
		return nil, errors.New("iat in the future")
	case c.Subject == "" || len(c.Subject) > maxSubjectLen:
		return nil, errors.New("sub missing or longer than 255 bytes")
	}
	if jwtLike && !rules.InsecureAllowIDTokens {
		switch {
		case c.Nonce != nil:
			return nil, errors.New("an ID token (nonce), not an access token")
		case c.AtHash != nil:
			return nil, errors.New("an ID token (at_hash), not an access token")
		case c.ClientID == nil:
			return nil, errors.New("an ID token (no client_id), not an access token")
		}
	}
	t := &AccessToken{
		Subject:  c.Subject,
		Scopes:   c.Scope,
		Audience: c.Audience,
		Expiry:   c.Expiry.time(),
		IssuedAt: c.IssuedAt.time(),
		ACR:      string(c.ACR),
		AMR:      c.AMR,
		claims:   payload,
	}
	if c.ClientID != nil {
		t.ClientID = *c.ClientID
	}
	if c.AuthTime.valid {
		t.AuthTime = time.Unix(c.AuthTime.unix, 0)
	}
	return t, nil
}

// checkAccessTyp reads the "typ" of a JWT's encoded header: at+jwt (RFC
// 9068 §2.1) is an access token; JWT or no typ is the older shape, which
// an ID token has too (jwtLike); any other type (logout+jwt,
// id_token+jwt…) is another kind of JWT. Media types are
// case-insensitive and may carry "application/" (RFC 7515 §4.1.9).
func checkAccessTyp(enc string) (jwtLike bool, err error) {
	b, err := base64.RawURLEncoding.DecodeString(enc)
	var h atHeader
	if err != nil || json.Unmarshal(b, &h) != nil {
		return false, errors.New("malformed header")
	}
	if h.Typ == nil {
		return true, nil
	}
	switch strings.TrimPrefix(strings.ToLower(*h.Typ), "application/") {
	case "at+jwt":
		return false, nil
	case "jwt":
		return true, nil
	}
	return false, errors.New("typ is not at+jwt or JWT")
}

// base64URLDotted reports whether s holds only base64url characters and
// dots (compact JWS, RFC 7515 §7.1), so that no whitespace or padding is
// silently dropped by a parser.
func base64URLDotted(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// claimScope is a "scope" claim: a space-separated string (RFC 9068
// §2.2.3, RFC 7662 §2.2), or an array of strings as some providers send.
// Any other value decodes as no scopes; empty entries are dropped.
type claimScope []string

func (s *claimScope) UnmarshalJSON(b []byte) error {
	*s = nil
	var one string
	if json.Unmarshal(b, &one) == nil {
		*s = strings.Fields(one)
		return nil
	}
	var many []string
	if json.Unmarshal(b, &many) == nil {
		for _, v := range many {
			*s = append(*s, strings.Fields(v)...)
		}
	}
	return nil
}

// tokenGroups reads an access token's groups at the provider's groups
// claim path.
func (p *Provider) tokenGroups(t *AccessToken) []string {
	path := p.groupsClaim
	if path == nil {
		path = []string{"groups"}
	}
	return groupsAt(t.Claims, path)
}
