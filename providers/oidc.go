package providers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
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
	// states it (https; plain http only on loopback hosts). Required.
	Issuer string
	// ClientID and ClientSecret are the application's credentials at the
	// provider. ClientID is required; the secret is sent with HTTP Basic
	// authentication (client_secret_basic).
	ClientID     string
	ClientSecret string
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
}

// clockSkew is the leeway for "iat" in the future.
const clockSkew = time.Minute

// OIDC returns an OpenID Connect provider configured by discovery: it
// fetches Issuer/.well-known/openid-configuration (its "issuer" must equal
// Issuer exactly) and refuses endpoints that are not https.
//
// A login with it verifies the ID token completely: signature with the
// provider's published keys and one of the pinned algorithms, "iss", "aud",
// "exp" (go-oidc), and the checks go-oidc leaves to its caller: "nonce"
// equal to the flow's, "iat" present, not in the future and not older than
// MaxIDTokenAge, "sub" present, extra audiences trusted and "azp" equal to
// the client ID, "at_hash" when present. Email is kept only when
// "email_verified" is true.
//
// OIDC makes network requests; ctx bounds them.
func OIDC(ctx context.Context, cfg OIDCConfig) (*Provider, error) {
	if err := validName(cfg.Name); err != nil {
		return nil, err
	}
	if cfg.ClientID == "" {
		return nil, fmt.Errorf("providers: %s: ClientID is required", cfg.Name)
	}
	if err := checkEndpoint("issuer", cfg.Issuer); err != nil {
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
	client := hardenedClient(cfg.HTTPClient)
	op, err := oidc.NewProvider(oidc.ClientContext(ctx, client), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("providers: %s: discovery: %w", cfg.Name, err)
	}
	var meta struct {
		JWKS          string   `json:"jwks_uri"`
		EndSession    string   `json:"end_session_endpoint"`
		Revocation    string   `json:"revocation_endpoint"`
		Introspection string   `json:"introspection_endpoint"`
		IssParam      bool     `json:"authorization_response_iss_parameter_supported"`
		ResponseTypes []string `json:"response_types_supported"`
	}
	if err := op.Claims(&meta); err != nil {
		return nil, fmt.Errorf("providers: %s: discovery: %w", cfg.Name, err)
	}
	ep := op.Endpoint()
	for what, u := range map[string]string{
		"authorization_endpoint": ep.AuthURL,
		"token_endpoint":         ep.TokenURL,
		"jwks_uri":               meta.JWKS,
	} {
		if err := checkEndpoint(what, u); err != nil {
			return nil, fmt.Errorf("%w (from %s's discovery document)", err, cfg.Name)
		}
	}
	for what, u := range map[string]string{
		"userinfo_endpoint":      op.UserInfoEndpoint(),
		"end_session_endpoint":   meta.EndSession,
		"revocation_endpoint":    meta.Revocation,
		"introspection_endpoint": meta.Introspection,
	} {
		if u == "" {
			continue
		}
		if err := checkEndpoint(what, u); err != nil {
			return nil, fmt.Errorf("%w (from %s's discovery document)", err, cfg.Name)
		}
	}
	if cfg.UserInfo && op.UserInfoEndpoint() == "" {
		return nil, fmt.Errorf("providers: %s: UserInfo is set but the provider has no userinfo_endpoint", cfg.Name)
	}
	if len(meta.ResponseTypes) > 0 && !slices.Contains(meta.ResponseTypes, "code") {
		return nil, fmt.Errorf("providers: %s: the provider does not support response_type=code", cfg.Name)
	}
	scopes := cfg.Scopes
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	if !slices.Contains(scopes, oidc.ScopeOpenID) {
		scopes = append([]string{oidc.ScopeOpenID}, scopes...)
	}
	p := &Provider{
		name:             cfg.Name,
		displayName:      cmp.Or(cfg.DisplayName, cfg.Name),
		issuer:           cfg.Issuer,
		issParamRequired: meta.IssParam,
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Endpoint:     oauth2.Endpoint{AuthURL: ep.AuthURL, TokenURL: ep.TokenURL, AuthStyle: oauth2.AuthStyleInHeader},
			Scopes:       scopes,
		},
		client:        client,
		now:           time.Now,
		endSessionURL: meta.EndSession,
		revocationURL: meta.Revocation,
	}
	v := &idTokenVerifier{
		clientID:       cfg.ClientID,
		extraAudiences: slices.Clone(cfg.ExtraAudiences),
		maxAge:         cfg.MaxIDTokenAge,
		issuer:         cfg.Issuer,
		algs:           slices.Clone(algs),
		groupsClaim:    groupsClaim,
		now:            func() time.Time { return p.now() },
	}
	// The keys are parsed one by one, so a key of a type go-jose does not
	// know (a post-quantum "AKP" key, say) is skipped instead of breaking
	// the whole set, as it would in go-oidc's RemoteKeySet (SECURITY.md
	// IDT-18). The key set reports how each signature check ended, so
	// that a refusal is named by its type (verifyError).
	v.verifier = oidc.NewVerifier(cfg.Issuer, reportingKeySet{newJWKSCache(meta.JWKS, client, algs, 0, v.now)}, &oidc.Config{
		ClientID:             cfg.ClientID,
		SupportedSigningAlgs: algs,
		Now:                  v.now,
	})
	// Access tokens get their own key cache, rate-limited like the logout
	// tokens' (jwksMinRefresh): anyone can present one, so an unknown kid
	// must not cause a fetch each time (SECURITY.md NET-05), as it would
	// with the ID tokens' cache (IDT-08).
	p.accessKeys = newJWKSCache(meta.JWKS, client, algs, jwksMinRefresh, v.now)
	if meta.Introspection != "" {
		p.introspection = newIntrospector(meta.Introspection, introspectionCacheSize, v.now)
	}
	var userInfo func(ctx context.Context, tok *oauth2.Token) (*userInfoResponse, error)
	if cfg.UserInfo {
		endpoint := op.UserInfoEndpoint()
		userInfo = func(ctx context.Context, tok *oauth2.Token) (*userInfoResponse, error) {
			return p.fetchUserInfo(ctx, endpoint, tok)
		}
	}
	p.identify = func(ctx context.Context, tok *oauth2.Token, f Flow) (*Identity, error) {
		return v.identify(ctx, p, tok, f.Nonce, userInfo)
	}
	p.refreshed = v.verifyRefreshed
	p.groupsClaim = groupsClaim
	p.logout = newLogoutVerifier(v, cfg.Issuer, meta.JWKS, algs, client)
	return p, nil
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
