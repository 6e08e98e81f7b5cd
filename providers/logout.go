package providers

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// LogoutToken is a verified OpenID Connect Back-Channel Logout token
// (https://openid.net/specs/openid-connect-backchannel-1_0.html#LogoutToken):
// the provider's statement that the user's session there ended. It holds
// Subject, SID or both.
type LogoutToken struct {
	// Subject is the user ("sub"), or "" when the token names only a
	// provider session.
	Subject string
	// SID is the provider's session id ("sid"), or "": then every session
	// of Subject ends (§2.7).
	SID string
	// JTI is the token's unique id ("jti"). VerifyLogoutToken does not
	// detect replays: the caller remembers JTI until Expiry.
	JTI string
	// IssuedAt is the token's "iat".
	IssuedAt time.Time
	// Expiry is when VerifyLogoutToken stops accepting the token: its
	// "exp", or IssuedAt plus the maximum age (10 minutes, plus a minute
	// of clock skew) if that is earlier.
	Expiry time.Time
}

const (
	// backchannelLogoutEvent is the one member of a logout token's
	// "events" (§2.4).
	backchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"
	// maxLogoutTokenAge bounds a logout token's age ("iat"). The
	// conformance suite allows a day; providers send tokens at once with a
	// two-minute "exp", and ten minutes keeps a replay cache small.
	maxLogoutTokenAge = 10 * time.Minute
	// maxLogoutTokenSize bounds the compact JWS, checked before parsing.
	maxLogoutTokenSize = 16 << 10
	// maxLogoutClaimLen bounds "sub", "sid" and "jti" (keys of in-memory
	// revocation and replay lists).
	maxLogoutClaimLen = 255
)

// VerifyLogoutToken verifies a Back-Channel Logout token posted by the
// provider, as §2.6 of
// https://openid.net/specs/openid-connect-backchannel-1_0.html asks:
//
//   - go-oidc's [oidc.IDTokenVerifier.VerifyLogout]: the signature with
//     the provider's published keys and one of the algorithms pinned for
//     ID tokens (never "none" or HMAC), "iss", "aud" contains the client
//     ID, "exp" present and not past (the final specification requires
//     it), "jti" present, "sub" or "sid" present, no "nonce";
//   - the rest here: the "typ" header absent, "JWT" or "logout+jwt"
//     (§2.4; any other type is another kind of JWT); "events" an object
//     with exactly one member, the back-channel logout event, whose value
//     is an object (it SHOULD be empty; other members are not refused);
//     "iat" present, at most a minute in the future and at most 10
//     minutes old; every audience trusted (ID token rules, §2.6 step 3);
//     "sub", "sid" and "jti" at most 255 bytes.
//
// Unknown claims are ignored. Encrypted (JWE) logout tokens are not
// supported. Keys come from the provider's JWKS, fetched on first use and
// again for an unknown "kid" at most once every 30 seconds, so forged
// tokens cannot make portcullis hammer the provider.
//
// It does not detect replays (see [LogoutToken.JTI]) and ends no session.
// Errors name the failed check and hold no value from the token. A
// provider without ID tokens (plain OAuth 2.0) returns an error wrapping
// [errors.ErrUnsupported]; one whose discovery document cannot be
// fetched (see [OIDC]) an error wrapping [ErrUnavailable].
func (p *Provider) VerifyLogoutToken(ctx context.Context, raw string) (*LogoutToken, error) {
	if p.issuer == "" {
		return nil, fmt.Errorf("providers: %s: not an OpenID Connect provider: no back-channel logout: %w", p.name, errors.ErrUnsupported)
	}
	m, err := p.metadata(ctx)
	if err != nil {
		return nil, fmt.Errorf("providers: %s: logout token: %w", p.name, err)
	}
	t, err := m.logout.verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("providers: %s: %w", p.name, err)
	}
	return t, nil
}

// logoutVerifier verifies the logout tokens of one provider.
type logoutVerifier struct {
	verifier       *oidc.IDTokenVerifier
	issuer         string
	clientID       string
	extraAudiences []string
	algs           []string
	now            func() time.Time
}

// newLogoutVerifier returns the logout token verifier of the provider
// whose ID tokens id verifies: the same client, audiences, clock and
// pinned algorithms, and its own rate-limited cache of the keys at
// jwksURL.
func newLogoutVerifier(id *idTokenVerifier, issuer, jwksURL string, algs []string, client *http.Client) *logoutVerifier {
	keys := newJWKSCache(jwksURL, client, algs, jwksMinRefresh, id.now)
	return &logoutVerifier{
		// The key set reports how each signature check ended, so that a
		// refusal is named by its type (logoutError).
		verifier: oidc.NewVerifier(issuer, reportingKeySet{keys}, &oidc.Config{
			ClientID:             id.clientID,
			SupportedSigningAlgs: slices.Clone(algs),
			Now:                  id.now,
		}),
		issuer:         issuer,
		clientID:       id.clientID,
		extraAudiences: id.extraAudiences,
		algs:           slices.Clone(algs),
		now:            id.now,
	}
}

func (v *logoutVerifier) verify(ctx context.Context, raw string) (*LogoutToken, error) {
	if len(raw) > maxLogoutTokenSize {
		return nil, errors.New("logout_token: too large")
	}
	ctx, rep := withKeyReport(ctx)
	lt, err := v.verifier.VerifyLogout(ctx, raw)
	if err != nil {
		return nil, v.logoutError(raw, err, rep)
	}
	// The signature is valid: the header and claims are the provider's.
	if err := checkLogoutTyp(raw); err != nil {
		return nil, err
	}
	var claims map[string]json.RawMessage
	if err := lt.Claims(&claims); err != nil {
		return nil, errors.New("logout_token: malformed claims")
	}
	if _, ok := claims["nonce"]; ok {
		return nil, errors.New("logout_token: nonce present")
	}
	if err := checkLogoutEvents(claims["events"]); err != nil {
		return nil, err
	}
	now := v.now()
	switch {
	case lt.IssuedAt.IsZero():
		return nil, errors.New("logout_token: iat missing")
	case lt.IssuedAt.After(now.Add(clockSkew)):
		return nil, errors.New("logout_token: iat in the future")
	case lt.IssuedAt.Before(now.Add(-maxLogoutTokenAge - clockSkew)):
		return nil, errors.New("logout_token: iat too old")
	}
	for _, a := range lt.Audience {
		if a != v.clientID && !slices.Contains(v.extraAudiences, a) {
			return nil, errors.New("logout_token: untrusted audience")
		}
	}
	if len(lt.Subject) > maxLogoutClaimLen || len(lt.SessionID) > maxLogoutClaimLen || len(lt.TokenID) > maxLogoutClaimLen {
		return nil, errors.New("logout_token: sub, sid or jti longer than 255 bytes")
	}
	expiry := lt.IssuedAt.Add(maxLogoutTokenAge + clockSkew)
	if lt.Expiry.Before(expiry) {
		expiry = lt.Expiry
	}
	return &LogoutToken{
		Subject:  lt.Subject,
		SID:      lt.SessionID,
		JTI:      lt.TokenID,
		IssuedAt: lt.IssuedAt,
		Expiry:   expiry,
	}, nil
}

// checkLogoutTyp accepts the explicit type "logout+jwt" (§2.4), the
// generic "JWT" and no type; media types are case-insensitive and may
// carry "application/" (RFC 7515 §4.1.9).
func checkLogoutTyp(raw string) error {
	enc, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(enc)
	var h struct {
		Typ *string `json:"typ"`
	}
	if err != nil || json.Unmarshal(b, &h) != nil {
		return errors.New("logout_token: malformed header")
	}
	if h.Typ == nil {
		return nil
	}
	switch strings.TrimPrefix(strings.ToLower(*h.Typ), "application/") {
	case "jwt", "logout+jwt":
		return nil
	}
	return errors.New("logout_token: typ is not logout+jwt or JWT")
}

// checkLogoutEvents requires "events" to be a JSON object holding the
// back-channel logout event, with an object as its value. A token that
// also asserts other events is refused: it is not a plain logout token,
// and nothing here would act on the rest. One other member is accepted,
// Keycloak's "revoke_offline_access" with a boolean value, which Keycloak
// adds beside the logout event when its client setting "Backchannel
// logout revoke offline sessions" is on (DefaultTokenManager's
// initLogoutToken, keycloak/keycloak; docs/providers/keycloak.md): it is
// an instruction about Keycloak's own offline tokens, not another event,
// and the logout it comes with is acted on like any other. The
// specification asks only that the logout event be present
// (OpenID Connect Back-Channel Logout 1.0 §2.4, §2.6 step 5).
func checkLogoutEvents(raw json.RawMessage) error {
	if !isJSONObject(raw) {
		return errors.New("logout_token: events missing or not an object")
	}
	var events map[string]json.RawMessage
	if err := json.Unmarshal(raw, &events); err != nil {
		return errors.New("logout_token: events malformed")
	}
	v, ok := events[backchannelLogoutEvent]
	if !ok {
		return errors.New("logout_token: events must hold exactly the back-channel logout event")
	}
	for name, value := range events {
		switch {
		case name == backchannelLogoutEvent:
		case name == keycloakRevokeOffline && isJSONBool(value):
		default:
			return errors.New("logout_token: events must hold exactly the back-channel logout event")
		}
	}
	if !isJSONObject(v) {
		return errors.New("logout_token: back-channel logout event value is not an object")
	}
	return nil
}

// keycloakRevokeOffline is the member Keycloak adds to a logout token's
// events when it also revokes the user's offline sessions.
const keycloakRevokeOffline = "revoke_offline_access"

func isJSONBool(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return bytes.Equal(raw, []byte("true")) || bytes.Equal(raw, []byte("false"))
}

func isJSONObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

// logoutError turns an error from go-oidc's VerifyLogout of raw into one
// that names the failed check but quotes nothing from the token (go-oidc's
// messages quote the unverified issuer and audiences). Like the ID token's
// verifyError it branches on types only (refusalOf).
func (v *logoutVerifier) logoutError(raw string, err error, rep *keyReport) error {
	r := refusalOf(raw, err, rep, v.algs, func(payload []byte) refusal {
		return logoutClaimsRefusal(payload, v.issuer, v.clientID, v.now())
	})
	msg := r.String()
	switch r {
	case refusedExpired:
		msg = "exp in the past"
	case refusedUnknownKey:
		msg = "signed with an unknown key"
	case refusedEvents:
		msg = "events missing or without the back-channel logout event"
	case refusedNonce:
		msg = "nonce present"
	case refusedJTI:
		msg = "jti missing"
	case refusedNoExp:
		msg = "exp missing"
	case refusedNoSubject:
		msg = "neither sub nor sid"
	}
	return errors.New("logout_token: " + msg)
}

// oidcLogoutClaims mirrors the claims go-oidc decodes from a logout token,
// with its types.
type oidcLogoutClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience audience `json:"aud"`
	Expiry   oidcTime `json:"exp"`
	IssuedAt oidcTime `json:"iat"`
	JTI      string   `json:"jti"`
	Events   struct {
		Logout json.RawMessage `json:"http://schemas.openid.net/event/backchannel-logout"`
	} `json:"events"`
	SessionID string          `json:"sid"`
	Nonce     json.RawMessage `json:"nonce"`
}

// logoutClaimsRefusal repeats, on an unverified payload, go-oidc's checks
// of a logout token's claims after its signature, in its order.
func logoutClaimsRefusal(payload []byte, issuer, clientID string, now time.Time) refusal {
	var c oidcLogoutClaims
	if json.Unmarshal(payload, &c) != nil {
		return refusedClaims
	}
	switch {
	case len(c.Events.Logout) == 0:
		return refusedEvents
	case len(c.Nonce) != 0:
		return refusedNonce
	case c.JTI == "":
		return refusedJTI
	case c.Expiry.time().IsZero():
		return refusedNoExp
	case c.Subject == "" && c.SessionID == "":
		return refusedNoSubject
	case issuer != "" && c.Issuer != issuer: // no Google exception here
		return refusedIssuer
	case !slices.Contains(c.Audience, clientID):
		return refusedAudience
	case c.Expiry.time().Before(now):
		return refusedExpired
	}
	return refusedUnexplained
}
