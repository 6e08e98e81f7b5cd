package providers

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net"
	"slices"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/portcullis-go/portcullis/session"
	"golang.org/x/oauth2"
)

// idTokenVerifier adds to go-oidc's IDTokenVerifier (signature, pinned
// algorithms, iss, aud contains client, exp) the checks OpenID Connect
// Core §3.1.3.7 asks of the client and go-oidc leaves to its caller.
type idTokenVerifier struct {
	verifier       *oidc.IDTokenVerifier
	clientID       string
	extraAudiences []string
	maxAge         time.Duration
	now            func() time.Time
	// issuer and algs are the issuer and pinned algorithms verifier was
	// configured with. They only name the check a refused token failed
	// (verifyError).
	issuer string
	algs   []string
	// groupsClaim is the path of the groups claim when it is not "groups"
	// (OIDCConfig.GroupsClaim); nil for the default.
	groupsClaim []string
	// checkIssuer, when set, replaces go-oidc's exact match of "iss"
	// with issuer (verifier is then built with SkipIssuerCheck): it gets
	// a token whose signature, "aud" and "exp" go-oidc verified, its
	// claims, raw, and the "issuer" member of the published key that
	// verified it ("" if none), and refuses the token with an error.
	// Microsoft Entra ID's tenant rules (entra.go).
	checkIssuer func(tok *oidc.IDToken, claims map[string]json.RawMessage, keyIssuer string) error
	// keepClaims are the claims kept in the session
	// (OIDCConfig.KeepClaims).
	keepClaims []string
}

// idClaims are the ID token claims portcullis reads, derived by
// verifyToken from the one decoding of the verified payload. The
// protocol claims are strict: a token whose "nonce", "azp" or "sid" is not
// a string is refused (a session's back-channel logout rests on "sid").
// The profile claims and "auth_time" decode tolerantly (claims.go).
type idClaims struct {
	Nonce           string
	AuthorizedParty string
	SID             string
	AuthTime        claimTime
	ACR             claimString
	AMR             claimGroups
	profileClaims
}

// errIDClaims is the one way decoding idClaims fails.
var errIDClaims = errors.New("id_token: nonce, azp or sid is not a string")

// idClaimsOf reads the typed claims from a payload's members. A member's
// name matches exactly (RFC 7519 §4: claim names are case-sensitive,
// https://www.rfc-editor.org/rfc/rfc7519#section-4); a null member is
// absent, as encoding/json decodes it.
func idClaimsOf(raw map[string]json.RawMessage) (*idClaims, error) {
	c := new(idClaims)
	for _, m := range [...]struct {
		name string
		dst  *string
	}{{"nonce", &c.Nonce}, {"azp", &c.AuthorizedParty}, {"sid", &c.SID}} {
		if v, ok := raw[m.name]; ok {
			if *m.dst, ok = jsonString(v); !ok {
				return nil, errIDClaims
			}
		}
	}
	// The tolerant types never fail, whatever the value (claims.go).
	for _, m := range [...]struct {
		name string
		dst  json.Unmarshaler
	}{
		{"auth_time", &c.AuthTime}, {"acr", &c.ACR}, {"amr", &c.AMR},
		{"email", &c.Email}, {"email_verified", &c.EmailVerified}, {"name", &c.Name},
		{"preferred_username", &c.PreferredUsername}, {"picture", &c.Picture}, {"groups", &c.Groups},
	} {
		if v, ok := raw[m.name]; ok {
			m.dst.UnmarshalJSON(v)
		}
	}
	return c, nil
}

// verifyToken runs go-oidc's Verify and names the check it refused, then
// decodes the verified payload once: every claim, raw, and the typed
// claims idClaimsOf reads from them; checkIssuer, when set, gets the raw
// claims before the typed ones are read.
func (v *idTokenVerifier) verifyToken(ctx context.Context, raw string) (*oidc.IDToken, map[string]json.RawMessage, *idClaims, error) {
	ctx, rep := withKeyReport(ctx)
	tok, err := v.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, nil, nil, v.verifyError(raw, err, rep)
	}
	var claims map[string]json.RawMessage
	if tok.Claims(&claims) != nil {
		return nil, nil, nil, errIDClaims
	}
	if v.checkIssuer != nil {
		if err := v.checkIssuer(tok, claims, rep.keyIssuer); err != nil {
			return nil, nil, nil, err
		}
	}
	c, err := idClaimsOf(claims)
	if err != nil {
		return nil, nil, nil, err
	}
	return tok, claims, c, nil
}

// verify checks raw completely. nonce is the flow's nonce; it must be
// non-empty and equal the token's.
// It returns the token, its claims raw and the typed claims.
func (v *idTokenVerifier) verify(ctx context.Context, raw, nonce string) (*oidc.IDToken, map[string]json.RawMessage, *idClaims, error) {
	tok, claims, c, err := v.verifyToken(ctx, raw)
	if err != nil {
		return nil, nil, nil, err
	}
	if nonce == "" || c.Nonce == "" || subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(nonce)) != 1 {
		return nil, nil, nil, errors.New("id_token: nonce does not match the login flow")
	}
	if err := v.checkCommon(tok, c); err != nil {
		return nil, nil, nil, err
	}
	return tok, claims, c, nil
}

// checkCommon holds the checks shared by login and refresh: sub, iat,
// audiences and azp.
func (v *idTokenVerifier) checkCommon(tok *oidc.IDToken, c *idClaims) error {
	if tok.Subject == "" || len(tok.Subject) > 255 {
		return errors.New("id_token: sub missing or longer than 255 characters")
	}
	now := v.now()
	switch {
	case tok.IssuedAt.IsZero():
		return errors.New("id_token: iat missing")
	case tok.IssuedAt.After(now.Add(clockSkew)):
		return errors.New("id_token: iat in the future")
	case tok.IssuedAt.Before(now.Add(-v.maxAge - clockSkew)):
		return errors.New("id_token: iat too old")
	}
	for _, a := range tok.Audience {
		if a != v.clientID && !slices.Contains(v.extraAudiences, a) {
			return errors.New("id_token: untrusted audience")
		}
	}
	if len(tok.Audience) > 1 && c.AuthorizedParty == "" {
		return errors.New("id_token: several audiences and no azp")
	}
	if c.AuthorizedParty != "" && c.AuthorizedParty != v.clientID {
		return errors.New("id_token: azp is not this client")
	}
	return nil
}

// verifyError turns an error from go-oidc's Verify of raw into one that
// names the failed check but holds no value from the token: go-oidc's
// messages quote the unverified issuer and audiences, and errors end up in
// logs. It branches on types, never on go-oidc's text (see refusalOf).
func (v *idTokenVerifier) verifyError(raw string, err error, rep *keyReport) error {
	issuer := v.issuer
	if v.checkIssuer != nil {
		issuer = "" // go-oidc did not check it
	}
	r := refusalOf(raw, err, rep, v.algs, func(payload []byte) refusal {
		return idClaimsRefusal(payload, issuer, v.clientID, v.now())
	})
	if r == refusedKeysUnavailable {
		// Not the token's fault: the login or refresh may succeed later.
		return &keysUnavailableError{"id_token: " + r.String()}
	}
	return errors.New("id_token: " + r.String())
}

// keysUnavailableError is a token that could not be verified because the
// provider's keys could not be fetched; it wraps ErrUnavailable.
type keysUnavailableError struct{ text string }

func (e *keysUnavailableError) Error() string { return e.text }
func (e *keysUnavailableError) Unwrap() error { return ErrUnavailable }

// identify verifies the token response of a login and builds the identity.
func (v *idTokenVerifier) identify(ctx context.Context, p *Provider, tok *oauth2.Token, nonce string,
	userInfo func(context.Context, *oauth2.Token) (*userInfoResponse, error)) (*Identity, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, errNoIDToken
	}
	idt, claims, c, err := v.verify(ctx, raw, nonce)
	if err != nil {
		return nil, err
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, errors.New("id_token: at_hash does not match the access token")
		}
	}
	u := session.User{
		Provider: p.name,
		Issuer:   idt.Issuer,
		Subject:  idt.Subject,
		Email:    c.verifiedEmail(),
		Name:     string(c.Name),
		Login:    string(c.PreferredUsername),
		Picture:  string(c.Picture),
	}
	var uiClaims map[string]json.RawMessage
	// A configured claim path (Keycloak's realm_access.roles, Entra's
	// roles, an Auth0 namespaced claim) replaces "groups".
	groupsPath := v.groupsClaim
	if groupsPath == nil {
		groupsPath = []string{"groups"}
	}
	u.Groups, u.GroupsIncomplete = groupsIn(claims, groupsPath)
	if userInfo != nil {
		ui, err := userInfo(ctx, tok)
		if err != nil {
			return nil, err
		}
		if ui.Subject != idt.Subject {
			return nil, errors.New("userinfo: sub differs from the ID token's")
		}
		if ui.claims(&uiClaims) != nil {
			return nil, errors.New("userinfo: response is not a JSON object")
		}
		// The profile claims are read tolerantly: an odd claim in the
		// response drops that claim, never the sign-in.
		extra := &ui.profileClaims
		if e := extra.verifiedEmail(); e != "" {
			u.Email = e
		}
		u.Name = cmp.Or(string(extra.Name), u.Name)
		u.Login = cmp.Or(string(extra.PreferredUsername), u.Login)
		u.Picture = cmp.Or(string(extra.Picture), u.Picture)
		if groups, incomplete := groupsIn(uiClaims, groupsPath); len(groups) > 0 || incomplete {
			u.Groups, u.GroupsIncomplete = groups, incomplete
		}
	}
	claims, err = mergeClaims(claims, uiClaims)
	if err != nil {
		return nil, err
	}
	if u.Claims, err = keep(claims, v.keepClaims); err != nil {
		return nil, err
	}
	id := &Identity{User: u, Tokens: tokens(tok, raw), SID: c.SID, ACR: string(c.ACR), AMR: []string(c.AMR), Claims: claims}
	if c.AuthTime.valid {
		id.AuthTime = time.Unix(c.AuthTime.unix, 0)
	}
	return id, nil
}

// Naming the check go-oidc refused. go-oidc wraps key-set errors with %v
// and exports only *oidc.TokenExpiredError, so refusalOf establishes the
// failed check itself, in go-oidc's order (oidc/verify.go), from types
// (STYLE.md rule 22): go-jose's parse of the compact JWS, the key set's
// report through the call's keyReport, and the unverified claims. The
// claims only choose a label, never accept a token.

// refusal is the check a token failed.
type refusal int

const (
	refusedUnexplained     refusal = iota // no check below explains it
	refusedMalformed                      // not a compact JWS with one signature
	refusedAlgorithm                      // an algorithm that is not pinned
	refusedUnknownKey                     // no published key verifies it (errUnknownKey)
	refusedKeysUnavailable                // the provider's keys could not be fetched
	refusedSignature                      // a published key refuses the signature
	refusedClaims                         // a payload go-oidc cannot decode
	refusedIssuer
	refusedAudience
	refusedExpired
	refusedNotYetValid
	// Logout tokens only (go-oidc's VerifyLogout).
	refusedEvents
	refusedNonce
	refusedJTI
	refusedNoExp
	refusedNoSubject
)

// String words r as the ID token errors do (logoutError words the
// logout-only ones).
func (r refusal) String() string {
	switch r {
	case refusedMalformed:
		return "malformed"
	case refusedAlgorithm:
		return "signing algorithm not allowed"
	case refusedUnknownKey:
		return "signature invalid (no published key verifies it)"
	case refusedKeysUnavailable:
		return "could not fetch the provider's keys"
	case refusedSignature:
		return "signature invalid"
	case refusedClaims:
		return "malformed claims"
	case refusedIssuer:
		return "wrong issuer"
	case refusedAudience:
		return "wrong audience"
	case refusedExpired:
		return "expired"
	case refusedNotYetValid:
		return "not yet valid"
	}
	return "invalid"
}

// refusalOf names the check go-oidc refused raw for with err. algs are the
// pinned algorithms; claims repeats go-oidc's checks of the (unverified)
// payload after the signature and returns refusedUnexplained if it passes
// them. When the key set did not report (it is not wired to reportKeyErr),
// a token that passes every other check failed its signature; one that
// fails both its signature and a claim check is then named for the claim.
func refusalOf(raw string, err error, rep *keyReport, algs []string, claims func(payload []byte) refusal) refusal {
	var expired *oidc.TokenExpiredError
	if errors.As(err, &expired) {
		return refusedExpired
	}
	pinned := make([]jose.SignatureAlgorithm, 0, len(algs))
	for _, a := range algs {
		pinned = append(pinned, jose.SignatureAlgorithm(a))
	}
	if len(pinned) == 0 {
		pinned = append(pinned, jose.RS256) // go-oidc's default
	}
	// The same parse as go-oidc's first step.
	jws, perr := jose.ParseSigned(raw, pinned)
	var unexpected *jose.ErrUnexpectedSignatureAlgorithm
	switch {
	case errors.As(perr, &unexpected):
		return refusedAlgorithm
	case perr != nil, len(jws.Signatures) != 1:
		return refusedMalformed
	case rep.called && rep.err != nil:
		switch {
		case errors.Is(rep.err, errUnknownKey):
			return refusedUnknownKey
		case keysUnavailable(rep.err):
			return refusedKeysUnavailable
		}
		return refusedSignature
	}
	if r := claims(jws.UnsafePayloadWithoutVerification()); r != refusedUnexplained {
		return r
	}
	if !rep.called {
		return refusedSignature
	}
	return refusedUnexplained
}

// oidcIDClaims mirrors the claims go-oidc decodes from an ID token, with
// its types, so that a payload go-oidc cannot decode fails to decode here.
type oidcIDClaims struct {
	Issuer       string            `json:"iss"`
	Subject      string            `json:"sub"`
	Audience     audience          `json:"aud"`
	Expiry       oidcTime          `json:"exp"`
	IssuedAt     oidcTime          `json:"iat"`
	NotBefore    *oidcTime         `json:"nbf"`
	Nonce        string            `json:"nonce"`
	AtHash       string            `json:"at_hash"`
	ClaimNames   map[string]string `json:"_claim_names"`
	ClaimSources map[string]struct {
		Endpoint    string `json:"endpoint"`
		AccessToken string `json:"access_token"`
	} `json:"_claim_sources"`
}

// idClaimsRefusal repeats, on an unverified payload, go-oidc's checks of
// an ID token's claims after its signature, in its order.
func idClaimsRefusal(payload []byte, issuer, clientID string, now time.Time) refusal {
	var c oidcIDClaims
	if json.Unmarshal(payload, &c) != nil {
		return refusedClaims
	}
	for _, src := range c.ClaimNames {
		if _, ok := c.ClaimSources[src]; src == "" || !ok {
			return refusedClaims
		}
	}
	switch {
	case issuer != "" && !sameIssuer(c.Issuer, issuer):
		// go-oidc accepts Google's bare spelling for Google only, and
		// issuers here are https URLs, so sameIssuer is its rule.
		return refusedIssuer
	case !slices.Contains(c.Audience, clientID):
		return refusedAudience
	case c.Expiry.time().Before(now):
		return refusedExpired
	case c.NotBefore != nil && now.Add(5*time.Minute).Before(c.NotBefore.time()):
		return refusedNotYetValid
	}
	return refusedUnexplained
}

// oidcTime decodes a NumericDate exactly as go-oidc's jsonTime does: a
// number, or a string holding one; anything else (null included) is an
// error.
type oidcTime time.Time

func (t *oidcTime) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	unix, err := n.Int64()
	if err != nil {
		f, err := n.Float64()
		if err != nil {
			return err
		}
		unix = int64(f)
	}
	*t = oidcTime(time.Unix(unix, 0))
	return nil
}

func (t oidcTime) time() time.Time { return time.Time(t) }

// keysUnavailable reports whether a key set's error is a failure to fetch
// the keys: errKeysUnavailable, or the network or context errors of the
// fetch itself.
func keysUnavailable(err error) bool {
	var ne net.Error
	return errors.Is(err, errKeysUnavailable) || errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne)
}

// keyReport is the slot, one per Verify call, in which the key set reports
// how its signature check ended. go-oidc passes the caller's context to
// KeySet.VerifySignature but wraps its error with %v, losing the type; the
// slot keeps it.
type keyReport struct {
	called bool
	err    error
	// keyIssuer is the "issuer" member of the published key that
	// verified the signature (Microsoft Entra ID's), if it had one.
	keyIssuer string
}

type keyReportKey struct{}

// withKeyReport returns ctx with a fresh slot, and the slot.
func withKeyReport(ctx context.Context) (context.Context, *keyReport) {
	rep := new(keyReport)
	return context.WithValue(ctx, keyReportKey{}, rep), rep
}

// reportKeyErr records in ctx's slot, if it carries one, how a key set's
// VerifySignature ends: err is nil when a published key verified the
// signature, wraps errUnknownKey when no published key verifies it (none
// has its "kid", even after a fetch), wraps errKeysUnavailable (or is the
// fetch's network or context error) when the keys could not be fetched,
// and is any other error for a signature a published key refuses. Call it
// in VerifySignature's goroutine, before it returns; a later call
// overwrites an earlier one.
func reportKeyErr(ctx context.Context, err error) {
	if rep, ok := ctx.Value(keyReportKey{}).(*keyReport); ok {
		rep.called, rep.err = true, err
	}
}

// reportingKeySet is an [oidc.KeySet] that reports each outcome of the
// key set it wraps with reportKeyErr.
type reportingKeySet struct{ keys oidc.KeySet }

func (k reportingKeySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	payload, err := k.keys.VerifySignature(ctx, raw)
	reportKeyErr(ctx, err)
	return payload, err
}
