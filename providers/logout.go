package providers

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
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
	// jwksMinRefresh is the least time between two JWKS fetches (NET-05).
	jwksMinRefresh = 30 * time.Second
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
// provider without ID tokens (plain OAuth 2.0) returns an error.
func (p *Provider) VerifyLogoutToken(ctx context.Context, raw string) (*LogoutToken, error) {
	if p.logout == nil {
		return nil, fmt.Errorf("providers: %s: not an OpenID Connect provider: no back-channel logout", p.name)
	}
	t, err := p.logout.verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("providers: %s: %w", p.name, err)
	}
	return t, nil
}

// logoutVerifier verifies the logout tokens of one provider.
type logoutVerifier struct {
	verifier       *oidc.IDTokenVerifier
	clientID       string
	extraAudiences []string
	now            func() time.Time
}

// newLogoutVerifier returns the logout token verifier of the provider
// whose ID tokens id verifies: the same client, audiences, clock and
// pinned algorithms, and its own rate-limited cache of the keys at
// jwksURL.
func newLogoutVerifier(id *idTokenVerifier, issuer, jwksURL string, algs []string, client *http.Client) *logoutVerifier {
	keys := newJWKSCache(jwksURL, client, algs, jwksMinRefresh, id.now)
	return &logoutVerifier{
		verifier: oidc.NewVerifier(issuer, keys, &oidc.Config{
			ClientID:             id.clientID,
			SupportedSigningAlgs: slices.Clone(algs),
			Now:                  id.now,
		}),
		clientID:       id.clientID,
		extraAudiences: id.extraAudiences,
		now:            id.now,
	}
}

func (v *logoutVerifier) verify(ctx context.Context, raw string) (*LogoutToken, error) {
	if len(raw) > maxLogoutTokenSize {
		return nil, errors.New("logout_token: too large")
	}
	lt, err := v.verifier.VerifyLogout(ctx, raw)
	if err != nil {
		return nil, logoutError(err)
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

// checkLogoutEvents requires "events" to be a JSON object whose only
// member is the back-channel logout event, with an object as its value.
// A token that also asserts other events is refused: it is not a plain
// logout token, and nothing here would act on the rest.
func checkLogoutEvents(raw json.RawMessage) error {
	if !isJSONObject(raw) {
		return errors.New("logout_token: events missing or not an object")
	}
	var events map[string]json.RawMessage
	if err := json.Unmarshal(raw, &events); err != nil {
		return errors.New("logout_token: events malformed")
	}
	v, ok := events[backchannelLogoutEvent]
	if !ok || len(events) != 1 {
		return errors.New("logout_token: events must hold exactly the back-channel logout event")
	}
	if !isJSONObject(v) {
		return errors.New("logout_token: back-channel logout event value is not an object")
	}
	return nil
}

func isJSONObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

// logoutError turns an error from go-oidc's VerifyLogout into one that
// names the failed check but quotes nothing from the token (go-oidc's
// messages quote the unverified issuer and audiences).
func logoutError(err error) error {
	var expired *oidc.TokenExpiredError
	msg := err.Error()
	switch {
	case errors.As(err, &expired):
		return errors.New("logout_token: exp in the past")
	case strings.Contains(msg, errUnknownKey.Error()):
		return errors.New("logout_token: signed with an unknown key")
	case strings.Contains(msg, "parsing logout token payload"):
		return errors.New("logout_token: malformed claims")
	case strings.Contains(msg, "backchannel-logout event"):
		return errors.New("logout_token: events missing or without the back-channel logout event")
	case strings.Contains(msg, "'nonce'"):
		return errors.New("logout_token: nonce present")
	case strings.Contains(msg, "'jti'"):
		return errors.New("logout_token: jti missing")
	case strings.Contains(msg, "'exp'"):
		return errors.New("logout_token: exp missing")
	case strings.Contains(msg, "'sub' claim, a 'sid' claim"):
		return errors.New("logout_token: neither sub nor sid")
	case strings.Contains(msg, "logout token audience"):
		return errors.New("logout_token: wrong audience")
	}
	// Parsing, algorithm, signature and issuer errors are worded as for
	// ID tokens.
	return errors.New("logout_token: " + strings.TrimPrefix(verifyError(err).Error(), "id_token: "))
}

// errUnknownKey: no published key has the token's "kid" (or verifies a
// token without one), even after a fetch or because one is not yet due.
var errUnknownKey = errors.New("no published key verifies the token")

// jwksCache is the [oidc.KeySet] of ID and logout tokens: the provider's JWKS,
// fetched with the provider's hardened client on first use and again when
// a token names a key it lacks (key rotation), but at most once per
// jwksMinRefresh and one fetch at a time. go-oidc's RemoteKeySet fetches
// for every unknown "kid", so each forged token posted to the public
// back-channel endpoint would become a request to the provider
// (SECURITY.md NET-05). A failed fetch keeps the previous keys.
type jwksCache struct {
	url    string
	client *http.Client
	algs   []jose.SignatureAlgorithm
	now    func() time.Time
	// minRefresh is the least time between two fetches: jwksMinRefresh
	// for logout tokens, which anyone can post; 0 for ID tokens, which
	// arrive only from the token endpoint, so that a key rotated just
	// before signing is fetched at once (SECURITY.md IDT-08).
	minRefresh time.Duration

	mu       sync.Mutex
	keys     []jose.JSONWebKey
	last     time.Time     // start of the last fetch
	inflight chan struct{} // closed when the current fetch ends; nil if none
}

// newJWKSCache returns a key cache for jwksURL accepting the given
// algorithms.
func newJWKSCache(jwksURL string, client *http.Client, algs []string, minRefresh time.Duration, now func() time.Time) *jwksCache {
	c := &jwksCache{url: jwksURL, client: client, now: now, minRefresh: minRefresh}
	for _, a := range algs {
		c.algs = append(c.algs, jose.SignatureAlgorithm(a))
	}
	return c
}

// VerifySignature implements [oidc.KeySet]. The IDTokenVerifier has
// already checked the algorithm; it is checked again here.
func (c *jwksCache) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSigned(raw, c.algs)
	if err != nil {
		return nil, fmt.Errorf("oidc: malformed jwt: %v", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("oidc: multiple signatures")
	}
	h := jws.Signatures[0].Header
	keys := c.cached()
	if payload, ok := verifyWith(jws, keys, h.KeyID, h.Algorithm); ok {
		return payload, nil
	}
	if h.KeyID != "" && slices.ContainsFunc(keys, func(k jose.JSONWebKey) bool { return k.KeyID == h.KeyID }) {
		// A known key and a bad signature: fetching again cannot help.
		return nil, errors.New("signature invalid")
	}
	keys, err = c.refresh(ctx)
	if err != nil {
		return nil, err
	}
	if payload, ok := verifyWith(jws, keys, h.KeyID, h.Algorithm); ok {
		return payload, nil
	}
	return nil, errUnknownKey
}

// verifyWith tries the keys with the token's kid (all keys when it has
// none) that are meant for alg.
func verifyWith(jws *jose.JSONWebSignature, keys []jose.JSONWebKey, kid, alg string) ([]byte, bool) {
	for i := range keys {
		k := &keys[i]
		if kid != "" && k.KeyID != kid || k.Algorithm != "" && k.Algorithm != alg {
			continue
		}
		if payload, err := jws.Verify(k); err == nil {
			return payload, true
		}
	}
	return nil, false
}

func (c *jwksCache) cached() []jose.JSONWebKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.keys
}

// refresh fetches the JWKS unless a fetch is running (it waits for that
// one) or the last one started less than jwksMinRefresh ago (it returns
// the cached keys).
func (c *jwksCache) refresh(ctx context.Context) ([]jose.JSONWebKey, error) {
	c.mu.Lock()
	if ch := c.inflight; ch != nil {
		c.mu.Unlock()
		select {
		case <-ch:
			return c.cached(), nil
		case <-ctx.Done():
			return nil, fmt.Errorf("fetching keys: %w", ctx.Err())
		}
	}
	now := c.now()
	if !c.last.IsZero() && now.Sub(c.last) < c.minRefresh {
		keys := c.keys
		c.mu.Unlock()
		return keys, nil
	}
	c.last = now
	ch := make(chan struct{})
	c.inflight = ch
	c.mu.Unlock()

	// Waiters share this fetch: it must not end with this request.
	keys, err := c.fetch(context.WithoutCancel(ctx))
	c.mu.Lock()
	if err == nil {
		c.keys = keys
	}
	c.inflight = nil
	close(ch)
	c.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("fetching keys: %w", err)
	}
	return keys, nil
}

// fetch GETs the JWKS (the client bounds time and size) and keeps the
// public signing keys it understands, skipping the others (RFC 7517 §5).
func (c *jwksCache) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwks_uri answered %d", resp.StatusCode)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, errors.New("jwks_uri: malformed key set")
	}
	var keys []jose.JSONWebKey
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if json.Unmarshal(raw, &k) != nil || !k.Valid() || !k.IsPublic() || k.Use != "" && k.Use != "sig" {
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("jwks_uri: no usable signing key")
	}
	return keys, nil
}
