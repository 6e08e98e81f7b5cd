package providers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Microsoft Entra ID (the Microsoft identity platform, v2.0 endpoints).
// What this file relies on, from Microsoft's documentation:
//
//   - The authority is {Authority}/{tenant}/v2.0, {tenant} being "common",
//     "organizations", "consumers", a tenant id or a tenant's verified
//     domain; its discovery document is at
//     {authority}/.well-known/openid-configuration
//     (https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc#find-your-apps-openid-configuration-document-uri).
//   - The documents of "common" and "organizations" state the issuer as
//     a template, https://login.microsoftonline.com/{tenantid}/v2.0: a
//     token's "iss" must equal it with the token's "tid" in place of
//     {tenantid}, "tid" must be a GUID, and the key that signed it must
//     have an "issuer" member that matches the same way; a
//     tenant-specific document's issuer is matched exactly
//     (https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens#validate-the-issuer).
//   - Personal Microsoft accounts sign in to the tenant
//     9188040d-6c67-4c5b-b112-36a304b66dad, which "consumers" names
//     (https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference).
//   - "email" is not verified: it is mutable and Microsoft says never to
//     use it for authorization; the optional claim "xms_edov" says the
//     domain owner verified it
//     (https://learn.microsoft.com/en-us/entra/identity-platform/optional-claims-reference).
//   - "roles" holds the app roles assigned to the user, "groups" the
//     object ids of the user's groups (groupMembershipClaims); above 200
//     groups a JWT carries instead the overage claim, "_claim_names"
//     naming "groups" with a "_claim_sources" endpoint, and an implicit
//     flow token "hasgroups"
//     (https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference#groups-overage-claim).

const (
	// entraAuthority is the Microsoft Entra ID authority host of the
	// Azure public cloud.
	entraAuthority = "https://login.microsoftonline.com"
	// entraConsumers is the tenant of personal Microsoft accounts.
	entraConsumers = "9188040d-6c67-4c5b-b112-36a304b66dad"
	// entraTenantPlaceholder is what Entra's multi-tenant issuer template
	// holds in place of the tenant id (compared in lower case).
	entraTenantPlaceholder = "{tenantid}"
)

// tenantIDRE is a tenant id: a GUID in lower case, as "tid" holds it.
var tenantIDRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// EntraConfig configures sign-in with Microsoft Entra ID (work and school
// accounts) and personal Microsoft accounts, through the Microsoft
// identity platform's v2.0 endpoints
// (https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc).
// Zero values are documented defaults.
type EntraConfig struct {
	// Name identifies the provider in paths and sessions. Default "entra":
	// the redirect URI to register is then BaseURL + "/auth/callback/entra".
	Name string
	// DisplayName is shown on the sign-in button. Default "Microsoft", as
	// Microsoft's branding guidelines word it ("Sign in with Microsoft").
	DisplayName string
	// Tenant says who may sign in, as the app registration's supported
	// account types do: "organizations" (work and school accounts of any
	// tenant), "common" (those and personal Microsoft accounts),
	// "consumers" (personal Microsoft accounts only), or one tenant: its
	// tenant id (a GUID) or a verified domain such as
	// "contoso.onmicrosoft.com". Required.
	Tenant string
	// ClientID is the app registration's Application (client) ID;
	// ClientSecret one of its client secrets. ClientID is required.
	ClientID     string
	ClientSecret string
	// AllowedTenants lists the tenant ids (GUIDs) whose users may sign in
	// with Tenant "common" or "organizations", by the ID token's "tid":
	// any other tenant's user is refused with [ErrNotAllowed]. Required
	// for those two, unless InsecureAllowAnyTenant; refused for a single
	// tenant, which admits only its own. Add
	// 9188040d-6c67-4c5b-b112-36a304b66dad to admit personal Microsoft
	// accounts with "common".
	AllowedTenants []string
	// InsecureAllowAnyTenant lets users of every Entra tenant (and, with
	// "common", every personal Microsoft account) sign in: anyone can
	// create a tenant. It MUST NOT be set unless the application itself
	// decides, from the tenant ("tid", kept in User.Claims) of each
	// user, what that user may see.
	InsecureAllowAnyTenant bool
	// GroupClaims names the claims that fill session.User.Groups, which
	// group policies check: "roles", the values of the app roles assigned
	// to the user (defined in the app registration, assigned by the
	// tenant's administrators), and "groups", the object ids (GUIDs) of
	// the user's groups, sent when the app registration's
	// groupMembershipClaims asks for them. Default both, roles first.
	// With "groups", an overage (a user in more than 200 groups) sets
	// User.GroupsIncomplete.
	GroupClaims []string
	// KeepClaims names ID token claims to keep in session.User.Claims, as
	// [OIDCConfig.KeepClaims] does (at most 14 here: "tid" and "oid" are
	// always kept, and are not to be named).
	KeepClaims []string
	// Scopes requested. Default "openid profile email offline_access"
	// (offline_access brings the refresh token); "openid" is always
	// included.
	Scopes []string
	// AuthParams are added to every authorization request, as
	// [OIDCConfig.AuthParams] are ("domain_hint", "login_hint", "prompt"
	// such as "select_account"), with the same refusals.
	AuthParams url.Values
	// Authority is the Entra cloud's sign-in host. Default
	// "https://login.microsoftonline.com" (the Azure public cloud); set it
	// for a national cloud, or to test against a local stand-in.
	Authority string
	// HTTPClient makes the requests to Entra, as [OIDCConfig.HTTPClient]
	// does.
	HTTPClient *http.Client
	// Logger receives the discovery events, as [OIDCConfig.Logger] does.
	// Default: events are discarded.
	Logger *slog.Logger
}

// Entra returns a provider for Microsoft Entra ID, built by discovery from
// Authority/Tenant/v2.0 and verified like any [OIDC] provider (signature,
// "aud", "exp", "nonce", "iat", "azp"), with Entra's issuer rules in place
// of the exact match of "iss":
//
//   - "common" and "organizations": "tid" must be a tenant id, "iss" must
//     equal the document's issuer template with "tid" in place of
//     {tenantid}, and so must the "issuer" of the key that signed the
//     token; then "tid" must be one of AllowedTenants (unless
//     InsecureAllowAnyTenant), and with "organizations" not the personal
//     accounts' tenant, or the sign-in is refused with [ErrNotAllowed];
//   - one tenant (and "consumers"): "iss" must equal the document's
//     issuer exactly, and "tid" the tenant id within it.
//
// The user's Issuer is [Provider.Issuer], Authority/Tenant/v2.0; the
// user's own tenant id and object id, which Microsoft says to key a
// user's data by, are kept in User.Claims as "tid" and "oid". The email
// is kept only when "xms_edov" is true (an optional claim to add in the
// app registration). Groups are filled from GroupClaims; when the token
// says the user has groups it does not list (the overage, "hasgroups"),
// or holds more than portcullis keeps (64 per claim), GroupsIncomplete is
// set and the groups policy refuses unless a listed group matches: the
// full list is at Microsoft Graph (GET /me/memberOf, or the
// "_claim_sources" endpoint, with a token for Graph), which an
// application may call at sign-in.
//
// Entra refuses a configuration that is wrong, saying what to use: no
// client ID, a Tenant or AllowedTenants entry that is not one of the forms
// above, AllowedTenants missing for "common" or "organizations" or given
// for a single tenant, an Authority that is not an https origin, a
// discovery document whose issuer is not the one Microsoft documents.
// Like [OIDC], it returns the provider when Entra cannot be reached, and
// discovers on first use.
//
// Access tokens ([Provider.VerifyAccessToken]) are checked against
// Provider.Issuer, so they verify only with Tenant given as a tenant id.
// Entra has no back-channel logout.
func Entra(ctx context.Context, cfg EntraConfig) (*Provider, error) {
	name := cmp.Or(cfg.Name, "entra")
	authority := strings.TrimSuffix(cmp.Or(cfg.Authority, entraAuthority), "/")
	if err := checkEndpoint("Authority", authority); err != nil {
		return nil, err
	}
	if u, _ := url.Parse(authority); u.Path != "" || u.RawQuery != "" {
		return nil, fmt.Errorf("providers: %s: Authority %q must be an origin only, such as %q", name, cfg.Authority, entraAuthority)
	}
	rule, err := entraTenancy(name, authority, cfg)
	if err != nil {
		return nil, err
	}
	groupClaims := []string{"roles", "groups"}
	if len(cfg.GroupClaims) > 0 {
		groupClaims = nil
		for _, c := range cfg.GroupClaims {
			if c != "roles" && c != "groups" || slices.Contains(groupClaims, c) {
				return nil, fmt.Errorf("providers: %s: GroupClaims %q: use \"roles\", \"groups\" or both, each once", name, cfg.GroupClaims)
			}
			groupClaims = append(groupClaims, c)
		}
	}
	keepClaims := slices.Clone(cfg.KeepClaims)
	for _, c := range keepClaims {
		if c == "tid" || c == "oid" {
			return nil, fmt.Errorf("providers: %s: KeepClaims: %q is always kept for Entra; leave it out", name, c)
		}
	}
	if len(cfg.KeepClaims) > maxKeepClaims-2 {
		return nil, fmt.Errorf("providers: %s: KeepClaims names %d claims, at most %d for Entra (\"tid\" and \"oid\" are always kept)", name, len(cfg.KeepClaims), maxKeepClaims-2)
	}
	scopes := cfg.Scopes
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess}
	}
	p, err := newOIDC(ctx, OIDCConfig{
		Name:         name,
		DisplayName:  cmp.Or(cfg.DisplayName, "Microsoft"),
		Issuer:       authority + "/" + rule.tenant + "/v2.0",
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Scopes:       scopes,
		AuthParams:   cfg.AuthParams,
		// The tenant and the object id: what Microsoft says to key a
		// user's data by (id-token-claims-reference, "Use claims to
		// reliably identify a user"), kept within the same bounds.
		KeepClaims: append(keepClaims, "tid", "oid"),
		HTTPClient: cfg.HTTPClient,
		Logger:     cfg.Logger,
	}, rule.discover)
	if err != nil {
		return nil, err
	}
	verified := p.identify
	p.identify = func(ctx context.Context, m *metadata, tok *oauth2.Token, f Flow) (*Identity, error) {
		id, err := verified(ctx, m, tok, f)
		if err != nil {
			return nil, err
		}
		return id, rule.identify(p, id, groupClaims)
	}
	return p, nil
}

// entraRule is how one Entra provider checks the issuer and the tenant.
type entraRule struct {
	authority string
	// tenant is the configured Tenant, normalised: the provider's issuer
	// is authority/tenant/v2.0.
	tenant string
	// multi is set for "common" and "organizations".
	multi bool
	// allowed are the allowed tenant ids of a multi-tenant provider; nil
	// with InsecureAllowAnyTenant.
	allowed []string
	// noConsumers refuses personal accounts ("organizations").
	noConsumers bool
	// wantIssuer is the issuer the document must state; "" for a tenant
	// given by domain, whose document names its tenant id.
	wantIssuer string
}

// entraTenancy checks cfg's tenant settings.
func entraTenancy(name, authority string, cfg EntraConfig) (*entraRule, error) {
	r := &entraRule{authority: authority, tenant: strings.ToLower(cfg.Tenant)}
	switch t := r.tenant; {
	case t == "common" || t == "organizations":
		r.multi, r.noConsumers = true, t == "organizations"
		r.wantIssuer = authority + "/" + entraTenantPlaceholder + "/v2.0"
	case t == "consumers" || t == entraConsumers:
		r.wantIssuer = authority + "/" + entraConsumers + "/v2.0"
	case tenantIDRE.MatchString(t):
		r.wantIssuer = authority + "/" + t + "/v2.0"
	case validDomain(t):
		// Its document names its tenant id (discover).
	default:
		return nil, fmt.Errorf("providers: %s: Tenant %q: use \"organizations\", \"common\", \"consumers\", a tenant id such as \"8eaef023-2b34-4da1-9baa-8bc8c9d6a490\" or a verified domain such as \"contoso.onmicrosoft.com\" (Entra admin center, Overview)", name, cfg.Tenant)
	}
	switch {
	case !r.multi && (len(cfg.AllowedTenants) > 0 || cfg.InsecureAllowAnyTenant):
		return nil, fmt.Errorf("providers: %s: AllowedTenants and InsecureAllowAnyTenant are for Tenant \"common\" or \"organizations\"; Tenant %q admits only its own users", name, cfg.Tenant)
	case r.multi && len(cfg.AllowedTenants) > 0 && cfg.InsecureAllowAnyTenant:
		return nil, fmt.Errorf("providers: %s: set AllowedTenants or InsecureAllowAnyTenant, not both", name)
	case r.multi && len(cfg.AllowedTenants) == 0 && !cfg.InsecureAllowAnyTenant:
		return nil, fmt.Errorf("providers: %s: Tenant %q admits every Entra tenant, and anyone can create one: list the tenant ids that may sign in in AllowedTenants", name, cfg.Tenant)
	}
	for _, t := range cfg.AllowedTenants {
		id := strings.ToLower(t)
		switch {
		case !tenantIDRE.MatchString(id):
			return nil, fmt.Errorf("providers: %s: AllowedTenants %q is not a tenant id: use the tenant's GUID, such as \"8eaef023-2b34-4da1-9baa-8bc8c9d6a490\" (Entra admin center, Overview), not its domain", name, t)
		case r.noConsumers && id == entraConsumers:
			return nil, fmt.Errorf("providers: %s: AllowedTenants holds the personal accounts' tenant %s, which Tenant \"organizations\" never admits: use Tenant \"common\"", name, t)
		}
		r.allowed = append(r.allowed, id)
	}
	return r, nil
}

// discover fetches the provider's discovery document, checks its issuer
// against what Microsoft documents, and completes v with the issuer rules.
func (r *entraRule) discover(ctx context.Context, client *http.Client, v *idTokenVerifier) (*document, error) {
	u := v.issuer + "/.well-known/openid-configuration"
	doc, err := fetchDocumentAt(ctx, client, u)
	if err != nil {
		return nil, err
	}
	want := r.wantIssuer
	if want == "" {
		// A tenant given by domain: its document says which tenant it is.
		id, prefixed := strings.CutPrefix(doc.Issuer, r.authority+"/")
		id, suffixed := strings.CutSuffix(id, "/v2.0")
		if !prefixed || !suffixed || !tenantIDRE.MatchString(id) {
			return nil, fmt.Errorf("%w: %s states the issuer %.256q, not %s/{tenant id}/v2.0 (is Authority right?)", errUnusableDocument, u, doc.Issuer, r.authority)
		}
		want = doc.Issuer
	}
	if doc.Issuer != want {
		return nil, fmt.Errorf("%w: %s states the issuer %.256q, not %q as Microsoft documents for Tenant %q (is Authority right?)", errUnusableDocument, u, doc.Issuer, want, r.tenant)
	}
	v.issuer = doc.Issuer
	v.checkIssuer = func(tok *oidc.IDToken, claims map[string]json.RawMessage, keyIssuer string) error {
		return r.checkToken(doc.Issuer, tok, claims, keyIssuer)
	}
	return doc, nil
}

// checkToken applies the issuer rules to a token whose signature, "aud"
// and "exp" go-oidc verified; claims are its claims, raw. issuer is the
// document's.
func (r *entraRule) checkToken(issuer string, tok *oidc.IDToken, claims map[string]json.RawMessage, keyIssuer string) error {
	tid, ok := jsonString(claims["tid"])
	if !ok || !tenantIDRE.MatchString(tid) {
		return errors.New("id_token: tid missing or not a tenant id")
	}
	want := issuer
	if r.multi {
		want = replacePlaceholder(issuer, tid)
	}
	if tok.Issuer != want {
		return errors.New("id_token: wrong issuer (iss is not the issuer of the token's tid)")
	}
	if !r.multi && tok.Issuer != r.authority+"/"+tid+"/v2.0" {
		return errors.New("id_token: tid is not the tenant of the issuer")
	}
	switch {
	case keyIssuer != "" && replacePlaceholder(keyIssuer, tid) != tok.Issuer:
		return errors.New("id_token: signed with a key of another issuer")
	case keyIssuer == "" && r.multi:
		// Without it, a key scoped to one tenant could sign for any.
		return errors.New("id_token: signed with a key that names no issuer")
	}
	return nil
}

// replacePlaceholder puts tid in place of {tenantid}, in any case, as
// Microsoft's own validation does.
func replacePlaceholder(template, tid string) string {
	i := strings.Index(strings.ToLower(template), entraTenantPlaceholder)
	if i < 0 {
		return template
	}
	return template[:i] + tid + template[i+len(entraTenantPlaceholder):]
}

// identify completes a verified identity: the tenant allowlist, the
// provider's issuer, the email, the groups. It reads the claims the login
// decoded (Identity.Claims: the ID token's, Entra having no UserInfo).
func (r *entraRule) identify(p *Provider, id *Identity, groupClaims []string) error {
	claims := id.Claims
	tid, _ := jsonString(claims["tid"]) // checkToken made it a tenant id
	if r.multi && (r.allowed != nil && !slices.Contains(r.allowed, tid) || r.noConsumers && tid == entraConsumers) {
		return fmt.Errorf("%w: not a user of an allowed Microsoft Entra tenant (tid)", ErrNotAllowed)
	}
	var email claimString
	var edov, hasGroups claimBool
	for _, m := range [...]struct {
		name string
		dst  json.Unmarshaler
	}{{"email", &email}, {"xms_edov", &edov}, {"hasgroups", &hasGroups}} {
		if v, ok := claims[m.name]; ok {
			m.dst.UnmarshalJSON(v) // tolerant: never fails
		}
	}
	u := &id.User
	u.Issuer = p.issuer
	u.Email = ""
	if edov {
		u.Email = string(email)
	}
	u.Groups, u.GroupsIncomplete = nil, false
	for _, claim := range groupClaims {
		var list claimGroups
		list.UnmarshalJSON(claims[claim])
		// Entries claimGroups left out (more than 64, odd ones) are
		// groups the list lacks; an odd shape counts as absent.
		var sent []json.RawMessage
		json.Unmarshal(claims[claim], &sent)
		u.GroupsIncomplete = u.GroupsIncomplete || len(list) < len(sent)
		if claim == "groups" {
			// The overage: the groups are at Microsoft Graph, not here.
			u.GroupsIncomplete = u.GroupsIncomplete || distributed(claims, "groups") || bool(hasGroups)
		}
		for _, g := range list {
			if !slices.Contains(u.Groups, g) {
				u.Groups = append(u.Groups, g)
			}
		}
	}
	// "tid" and "oid" were kept with the configured claims (Entra); an
	// object id that is not one is left out.
	if oid, _ := jsonString(claims["oid"]); !tenantIDRE.MatchString(oid) {
		delete(u.Claims, "oid")
	}
	return nil
}
