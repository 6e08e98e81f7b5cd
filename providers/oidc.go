package providers

import (
	"cmp"
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDCConfig configures an OpenID Connect provider. Zero values are
// documented defaults.
type OIDCConfig struct {
	// Name identifies the provider in paths (/auth/login/{name},
	// /auth/callback/{name}) and in sessions: 1 to 32 lower-case letters,
	// digits or '-'. Required.
	Name string
	// DisplayName is shown on the sign-in button. Default: Name.
	DisplayName string
	// Issuer is the provider's issuer URL, exactly as its discovery document
	// states it (https; plain http only on loopback hosts). Required. Its
	// discovery document is fetched by [OIDC], or on first use when the
	// provider cannot be reached then.
	Issuer string
	// ClientID and ClientSecret are the application's credentials at the
	// provider. ClientID is required. How the secret is sent is
	// ClientAuth's choice.
	ClientID     string
	ClientSecret string
	// ClientAuth is how the application authenticates as the client in
	// the calls that need it: code exchange, refresh, revocation (RFC
	// 7009) and introspection (RFC 7662); OpenID Connect Core §9 names
	// the methods. "client_secret_basic" sends the secret with HTTP Basic
	// (RFC 6749 §2.3.1), "client_secret_post" in the request body, and
	// "private_key_jwt" sends a JWT signed with ClientKey instead (RFC
	// 7523 §2.2): "aud" the issuer, as its only audience, "typ"
	// client-authentication+jwt (draft-ietf-oauth-rfc7523bis), a fresh
	// "jti" and a one-minute lifetime for each request. The discovery
	// document's token_endpoint_auth_methods_supported, when present,
	// must list it. Default: chosen from that list — private_key_jwt when
	// ClientKey is set, else client_secret_basic when listed (or when
	// the list is absent, its default), else client_secret_post.
	ClientAuth string
	// ClientSecretFunc, in place of ClientSecret, produces the client
	// secret for each of those calls, for providers whose secret is
	// itself a short-lived token (Sign in with Apple's ES256 JWT); it
	// should cache its result until shortly before it expires. An error
	// fails that call with an error wrapping [ErrUnavailable] (a refresh
	// it stops does not end the session). The secret is never logged.
	// Default: ClientSecret is the secret.
	ClientSecretFunc func(ctx context.Context) (string, error)
	// ClientKey signs the private_key_jwt assertions: an RSA key of at
	// least 2048 bits (RS256), ECDSA on P-256, P-384 or P-521 (ES256,
	// ES384, ES512) or Ed25519 (EdDSA); any crypto.Signer, so a key in a
	// KMS works too. Its public key must be registered at the provider.
	// It excludes ClientSecret and ClientSecretFunc. ClientKeyID is the
	// assertions' "kid"; default the public key's RFC 7638 thumbprint
	// (base64url of its SHA-256). Default: no key.
	ClientKey   crypto.Signer
	ClientKeyID string
	// Scopes requested. Default "openid email profile"; "openid" is always
	// included.
	Scopes []string
	// SigningAlgs pins the algorithms an ID token may be signed with.
	// Default ["RS256"]. "none" and the HMAC algorithms are refused.
	SigningAlgs []string
	// ExtraAudiences lists other client IDs trusted to appear beside
	// ClientID in an ID token's "aud". An ID token with any other extra
	// audience is refused, and one with several audiences must name
	// ClientID as its authorized party ("azp").
	ExtraAudiences []string
	// GroupsClaim is the path to the claim that holds the user's groups or
	// roles, in the ID token (and UserInfo), one element per level of
	// nesting: []string{"realm_access", "roles"} for Keycloak realm roles,
	// []string{"roles"} for Microsoft Entra app roles,
	// []string{"https://example.com/roles"} for an Auth0 namespaced claim.
	// It fills session.User.Groups, which group policies check. The claim
	// may be an array of strings or a single string; other shapes give no
	// groups (a group policy then refuses). At most 8 elements. Default
	// "groups".
	GroupsClaim []string
	// KeepClaims names top-level claims of the ID token (and UserInfo)
	// to keep in the session, as raw JSON in session.User.Claims: a
	// tenant id ("tid"), a department, Keycloak's "realm_access", an
	// Auth0 namespaced claim. Read one with session.User.Claim. Claims
	// the provider did not send are simply absent. At most 16 distinct,
	// non-empty names, none of them a protocol claim (iss, sub, aud,
	// exp, iat, nbf, nonce, azp, at_hash, c_hash, auth_time, acr, amr,
	// sid, jti: the session keeps what it needs of those in its own
	// fields). Each kept value may be at most 1 KiB of compact JSON, and
	// the kept claims 4 KiB together, names included: a login whose
	// kept claims are larger is refused (an error wrapping
	// [ErrInvalidResponse] that names the claim, never its value), never
	// silently truncated. Every claim, kept or not, is available at
	// sign-in through [Identity.Claims]. Default: none.
	KeepClaims []string
	// AuthParams are added to every authorization request, for what a
	// provider needs beyond the protocol: Auth0's "audience", RFC 8707's
	// "resource", "organization", "login_hint", "domain_hint", "prompt".
	// Each has exactly one non-empty value (parameters must not be
	// repeated, RFC 6749 §3.1). OIDC refuses, naming it, a parameter
	// portcullis sets itself: response_type, client_id, redirect_uri,
	// scope (use Scopes), state, nonce, code_challenge,
	// code_challenge_method, response_mode, request, request_uri, and
	// max_age and acr_values, which a step-up sets. A configured "prompt"
	// is sent with every login except those that set their own: the
	// restart that asks for consent sends prompt=consent, and a step-up
	// with a maximum age prompt=login, in its place. Default: none.
	AuthParams url.Values
	// UserInfo makes the login also call the UserInfo endpoint and fill the
	// user from it; its "sub" must equal the ID token's.
	UserInfo bool
	// MaxIDTokenAge bounds how long ago an ID token may have been issued
	// ("iat"). Default 10 minutes.
	MaxIDTokenAge time.Duration
	// HTTPClient makes the requests to the provider. portcullis always
	// copies it to refuse redirects and cap response sizes; its Timeout
	// defaults to 10 s. Default: a client based on http.DefaultTransport.
	HTTPClient *http.Client
	// Logger receives the provider's discovery events: each failed
	// attempt to fetch the discovery document (warn when the provider
	// could not be reached, error when its document is unusable, with the
	// cause and the backoff) and the success after failures. Pass the
	// application's logger: a document that goes wrong while the
	// application runs is reported nowhere else. Default: events are
	// discarded.
	Logger *slog.Logger
}

// clockSkew is the leeway for "iat" in the future.
const clockSkew = time.Minute

// OIDC returns an OpenID Connect provider configured by discovery: its
// endpoints and keys come from Issuer/.well-known/openid-configuration,
// whose "issuer" must equal Issuer exactly, and whose endpoints must be
// https.
//
// A login with it verifies the ID token completely: signature with the
// provider's published keys and one of the pinned algorithms, "iss", "aud",
// "exp" (go-oidc), and the checks go-oidc leaves to its caller: "nonce"
// equal to the flow's, "iat" present, not in the future and not older than
// MaxIDTokenAge, "sub" present, extra audiences trusted and "azp" equal to
// the client ID, "at_hash" when present. Email is kept only when
// "email_verified" is true.
//
// OIDC refuses a configuration that is wrong: an invalid name, no client
// ID, an issuer that is not https (or http on a loopback host), a bad
// option (AuthParams that portcullis owns; client credentials that do not
// fit ClientAuth, or a ClientKey of a type it cannot sign with), an issuer given as its
// discovery URL, and a discovery document that is reached but wrong (an HTTP
// status other than 200 that is not 408, 425, 429 or 5xx, a body that is
// not a JSON object, another issuer, endpoints that are not https, no
// response_type code, none of the pinned signing algorithms among those
// the document lists, no userinfo_endpoint with UserInfo set, a
// token_endpoint_auth_methods_supported without the configured ClientAuth
// or without a method portcullis can use). A provider that cannot be
// reached is not a wrong configuration: when discovery
// gets no answer within ctx (or 10 s), or one that says "later" (HTTP
// 408, 425, 429, 5xx), OIDC returns the provider all the same, and the
// document is fetched when a method first needs it — a sign-in, a refresh,
// a logout, a token check —, one fetch at a time, with a backoff after
// each failure that doubles from 1 s to 1 min. Until it succeeds those
// methods fail with an error wrapping [ErrUnavailable], and a document
// that is wrong when first reached then keeps the provider unavailable,
// logged at error level once per attempt, until someone fixes it. So an
// application starts, and serves everything but sign-ins with this
// provider, while the provider is down. Once fetched, the document is
// kept for the provider's life.
//
// OIDC makes network requests; ctx bounds the first attempt.
func OIDC(ctx context.Context, cfg OIDCConfig) (*Provider, error) {
	if strings.Contains(strings.ToLower(cfg.Issuer), entraTenantPlaceholder) {
		return nil, fmt.Errorf("providers: %s: Issuer %q is Microsoft Entra ID's multi-tenant template: use providers.Entra, whose Tenant and AllowedTenants say which tenants may sign in", cfg.Name, cfg.Issuer)
	}
	return newOIDC(ctx, cfg, func(ctx context.Context, client *http.Client, v *idTokenVerifier) (*document, error) {
		return fetchDocument(ctx, client, v.issuer)
	})
}

// newOIDC is [OIDC] with the discovery document fetched and checked by
// discover, which may complete v (the issuer checks of Entra, entra.go).
func newOIDC(ctx context.Context, cfg OIDCConfig, discover func(ctx context.Context, client *http.Client, v *idTokenVerifier) (*document, error)) (*Provider, error) {
	if err := validName(cfg.Name); err != nil {
		return nil, err
	}
	if cfg.ClientID == "" {
		return nil, fmt.Errorf("providers: %s: ClientID is required", cfg.Name)
	}
	if err := checkEndpoint("issuer", cfg.Issuer); err != nil {
		return nil, err
	}
	auth, err := newClientAuth(&cfg)
	if err != nil {
		return nil, fmt.Errorf("providers: %s: %w", cfg.Name, err)
	}
	for _, wk := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		if base, ok := strings.CutSuffix(strings.TrimSuffix(cfg.Issuer, "/"), wk); ok {
			return nil, fmt.Errorf("providers: %s: Issuer %q: use the issuer, %s, not its discovery URL", cfg.Name, cfg.Issuer, base)
		}
	}
	authParams, err := authCodeOptions(cfg.Name, cfg.AuthParams, nil)
	if err != nil {
		return nil, err
	}
	var groupsClaim []string
	switch {
	case len(cfg.GroupsClaim) > maxGroupsPath:
		return nil, fmt.Errorf("providers: %s: GroupsClaim has %d elements, at most %d", cfg.Name, len(cfg.GroupsClaim), maxGroupsPath)
	case slices.Contains(cfg.GroupsClaim, ""):
		return nil, fmt.Errorf("providers: %s: GroupsClaim has an empty element", cfg.Name)
	case len(cfg.GroupsClaim) > 0 && !slices.Equal(cfg.GroupsClaim, []string{"groups"}):
		groupsClaim = slices.Clone(cfg.GroupsClaim)
	}
	keepClaims, err := keepClaimsOption(cfg.Name, cfg.KeepClaims)
	if err != nil {
		return nil, err
	}
	algs, err := signingAlgs(cfg.SigningAlgs)
	if err != nil {
		return nil, fmt.Errorf("providers: %s: %w", cfg.Name, err)
	}
	if cfg.MaxIDTokenAge == 0 {
		cfg.MaxIDTokenAge = 10 * time.Minute
	}
	if cfg.MaxIDTokenAge < 0 {
		return nil, fmt.Errorf("providers: %s: negative MaxIDTokenAge", cfg.Name)
	}
	scopes := slices.Clone(cfg.Scopes)
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	if !slices.Contains(scopes, oidc.ScopeOpenID) {
		scopes = append([]string{oidc.ScopeOpenID}, scopes...)
	}
	client := hardenedClient(cfg.HTTPClient)
	p := &Provider{
		name:        cfg.Name,
		displayName: cmp.Or(cfg.DisplayName, cfg.Name),
		issuer:      cfg.Issuer,
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Scopes:       scopes,
		},
		client:      client,
		authParams:  authParams,
		now:         time.Now,
		groupsClaim: groupsClaim,
	}
	p.auth, p.clientSecret = auth, cfg.ClientSecretFunc
	// What the metadata is built from is copied now: the caller may change
	// cfg's slices before the document is fetched.
	v := idTokenVerifier{
		clientID:       cfg.ClientID,
		extraAudiences: slices.Clone(cfg.ExtraAudiences),
		maxAge:         cfg.MaxIDTokenAge,
		issuer:         cfg.Issuer,
		algs:           algs,
		groupsClaim:    groupsClaim,
		keepClaims:     keepClaims,
		now:            func() time.Time { return p.now() },
	}
	userInfo := cfg.UserInfo
	p.disc = newDiscovery(cfg.Name, cfg.Logger, v.now, func(ctx context.Context) (*metadata, error) {
		v := v // this attempt's, which discover may complete
		doc, err := discover(ctx, client, &v)
		if err != nil {
			return nil, err
		}
		return oidcMetadata(doc, v, userInfo, auth, client)
	})
	p.identify = func(ctx context.Context, m *metadata, tok *oauth2.Token, f Flow) (*Identity, error) {
		var fetch func(ctx context.Context, tok *oauth2.Token) (*userInfoResponse, error)
		if userInfo {
			fetch = func(ctx context.Context, tok *oauth2.Token) (*userInfoResponse, error) {
				return p.fetchUserInfo(ctx, m.userInfoURL, tok)
			}
		}
		return m.idTokens.identify(ctx, p, tok, f.Nonce, fetch)
	}
	if err := p.disc.first(ctx); err != nil {
		return nil, fmt.Errorf("providers: %s: discovery: %w", cfg.Name, err)
	}
	return p, nil
}

// oidcMetadata checks a discovery document and builds the provider's
// metadata from it: endpoints, the ID token verifier v completed with the
// provider's keys, the access and logout token key caches, the
// introspector. A document portcullis cannot use fails with an error
// wrapping errUnusableDocument.
func oidcMetadata(doc *document, v idTokenVerifier, userInfo bool, auth clientAuth, client *http.Client) (*metadata, error) {
	unusable := func(err error) error { return fmt.Errorf("%w: %w", errUnusableDocument, err) }
	for _, e := range []struct{ what, url string }{
		{"authorization_endpoint", doc.AuthURL},
		{"token_endpoint", doc.TokenURL},
		{"jwks_uri", doc.JWKS},
	} {
		if err := endpointError(e.what, e.url); err != nil {
			return nil, unusable(err)
		}
	}
	for _, e := range []struct{ what, url string }{
		{"userinfo_endpoint", doc.UserInfo},
		{"end_session_endpoint", doc.EndSession},
		{"revocation_endpoint", doc.Revocation},
		{"introspection_endpoint", doc.Introspection},
	} {
		if e.url == "" {
			continue
		}
		if err := endpointError(e.what, e.url); err != nil {
			return nil, unusable(err)
		}
	}
	switch {
	case userInfo && doc.UserInfo == "":
		return nil, unusable(errors.New("UserInfo is set but the provider has no userinfo_endpoint"))
	case len(doc.ResponseTypes) > 0 && !slices.Contains(doc.ResponseTypes, "code"):
		return nil, unusable(errors.New("the provider does not support response_type=code"))
	case len(doc.SigningAlgs) > 0 && !slices.ContainsFunc(v.algs, func(a string) bool { return slices.Contains(doc.SigningAlgs, a) }):
		return nil, unusable(fmt.Errorf("the provider signs ID tokens with %.256s, none of the pinned SigningAlgs %s",
			strings.Join(doc.SigningAlgs, ", "), strings.Join(v.algs, ", ")))
	}
	method, err := auth.method(doc.AuthMethods)
	if err != nil {
		return nil, unusable(err)
	}
	// The keys are parsed one by one, so a key of a type go-jose does not
	// know (a post-quantum "AKP" key, say) is skipped instead of breaking
	// the whole set, as it would in go-oidc's RemoteKeySet (SECURITY.md
	// IDT-18). The key set reports how each signature check ended, so
	// that a refusal is named by its type (verifyError).
	v.verifier = oidc.NewVerifier(v.issuer, reportingKeySet{newJWKSCache(doc.JWKS, client, v.algs, 0, v.now)}, &oidc.Config{
		ClientID:             v.clientID,
		SupportedSigningAlgs: slices.Clone(v.algs),
		Now:                  v.now,
		// checkIssuer replaces go-oidc's exact match (verifyToken).
		SkipIssuerCheck: v.checkIssuer != nil,
	})
	m := &metadata{
		endpoint:         oauth2.Endpoint{AuthURL: doc.AuthURL, TokenURL: doc.TokenURL},
		clientAuth:       method,
		issParamRequired: doc.IssParam,
		endSessionURL:    doc.EndSession,
		revocationURL:    doc.Revocation,
		userInfoURL:      doc.UserInfo,
		idTokens:         &v,
		// Access tokens get their own key cache, rate-limited like the
		// logout tokens' (jwksMinRefresh): anyone can present one, so an
		// unknown kid must not cause a fetch each time (SECURITY.md
		// NET-05), as it would with the ID tokens' cache (IDT-08).
		accessKeys: newJWKSCache(doc.JWKS, client, v.algs, jwksMinRefresh, v.now),
		logout:     newLogoutVerifier(&v, v.issuer, doc.JWKS, v.algs, client),
	}
	if doc.Introspection != "" {
		m.introspection = newIntrospector(doc.Introspection, introspectionCacheSize, v.now)
	}
	return m, nil
}

// signingAlgs validates the pinned algorithm list.
func signingAlgs(algs []string) ([]string, error) {
	if len(algs) == 0 {
		return []string{oidc.RS256}, nil
	}
	allowed := []string{oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512, oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA}
	for _, a := range algs {
		if !slices.Contains(allowed, a) {
			return nil, fmt.Errorf("signing algorithm %q is not allowed (allowed: %s)", a, strings.Join(allowed, ", "))
		}
	}
	return slices.Clone(algs), nil
}

var errNoIDToken = errors.New("token response without id_token")
