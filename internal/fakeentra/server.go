// Package fakeentra is a local stand-in for Microsoft Entra ID's v2.0
// endpoints (the Microsoft identity platform), for tests. It is not public
// API.
//
// It reproduces the shapes Microsoft documents at
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc,
// .../v2-oauth2-auth-code-flow, .../access-tokens#validate-the-issuer and
// .../id-token-claims-reference:
//
//   - an authority per tenant, {URL}/{tenant}/v2.0, {tenant} being
//     "common", "organizations", "consumers", a tenant id or a domain of
//     [Config.Domains]; any other tenant gets HTTP 400 with AADSTS90002;
//   - per-tenant discovery documents: the issuer template
//     {URL}/{tenantid}/v2.0 for common and organizations, the exact
//     issuer {URL}/{tenant id}/v2.0 for a tenant (consumers: the tenant
//     9188040d-6c67-4c5b-b112-36a304b66dad), endpoints under the tenant's
//     path, token_endpoint_auth_methods_supported client_secret_post,
//     private_key_jwt and client_secret_basic;
//   - one key set for every tenant, each key with its "issuer" member:
//     the organisations' key (kid "org", issuer the template) and the
//     personal accounts' key (kid "msa", issuer the consumers tenant's);
//     a token is signed with the key of its tenant;
//   - the authorization endpoint: unknown clients and unregistered
//     redirect URIs get an error page; PKCE S256 is required; a user
//     outside the tenant of the path (another tenant, a personal account
//     at organizations, a work account at consumers) is sent back with
//     error=access_denied; a success carries code and state, no iss;
//   - the token endpoint: client_secret_basic or client_secret_post,
//     one-time codes bound to the path's tenant, the exact redirect_uri,
//     the PKCE verifier; an ID token (RS256, ver 2.0) with iss, tid, aud,
//     sub, oid, name, preferred_username, nonce, and email, xms_edov,
//     roles, groups or the groups overage (_claim_names and
//     _claim_sources) as the [User] says; a refresh token when the scope
//     held offline_access, and refresh grants;
//   - the end_session_endpoint, which sends the user back only to a
//     registered redirect URI.
//
// Every request is recorded ([Server.Requests]).
package fakeentra

import (
	"net/http"
	"regexp"
	"sync"

	"github.com/portcullis-go/portcullis/internal/fakenet"
	"github.com/portcullis-go/portcullis/internal/opkit"
)

// The client credentials the server accepts, and the tenants it knows.
const (
	ClientID     = "00001111-aaaa-2222-bbbb-3333cccc4444"
	ClientSecret = "fake~entra~secret"
	// Consumers is the tenant of personal Microsoft accounts.
	Consumers = "9188040d-6c67-4c5b-b112-36a304b66dad"
	// Contoso and Fabrikam are two organisations' tenant ids.
	Contoso  = "8eaef023-2b34-4da1-9baa-8bc8c9d6a490"
	Fabrikam = "82229342-1101-4ab6-817b-70c0747630f3"
)

// User is the account that signs in.
type User struct {
	// Tenant is the user's tenant id ("tid"). Default Contoso.
	Tenant string
	Sub    string // default "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ"
	OID    string // default "00000000-0000-0000-66f3-3332eca7ea81"
	Name   string
	// Email is sent as "email" when set; EDOV, when set, as "xms_edov".
	Email string
	EDOV  *bool
	Roles []string
	// Groups are sent as "groups", unless Overage, which sends the
	// groups overage claim instead.
	Groups  []string
	Overage bool
}

// Config sets up a Server. It is read-only once the server runs.
type Config struct {
	// RedirectURIs are the registered redirect URIs (exact match), for
	// sign-in and for the post-logout redirect alike.
	RedirectURIs []string
	// User signs in at once, without a page. Default: Ada, a Contoso user.
	User User
	// Domains maps verified domains to their tenant ids, so that
	// {URL}/{domain}/v2.0 is an authority.
	Domains map[string]string
	// Claims edits each ID token's claims before they are signed.
	Claims func(c map[string]any)
	// SigningKey signs every ID token with the key of this kid ("org" or
	// "msa") instead of the key of the token's tenant.
	SigningKey string
	// KeyIssuer, when set, replaces the "issuer" member of every
	// published key; "-" leaves the member out, and "{iss}" makes it the
	// issuer of [User]'s tenant.
	KeyIssuer string
}

// Server is the fake; Close stops it.
type Server struct {
	*fakenet.Server

	// URL is the authority host, such as "http://127.0.0.1:41234": the
	// tenants' authorities are URL/{tenant}/v2.0.
	URL string

	cfg  Config
	keys map[string]*opkit.Key // by kid; shared, never written
	rec  opkit.Recorder

	mu      sync.Mutex
	codes   map[string]*grant
	refresh map[string]*grant
}

// New starts a server; Close stops it.
func New(cfg Config) *Server {
	u := &cfg.User
	if u.Tenant == "" {
		u.Tenant = Contoso
	}
	if u.Sub == "" {
		u.Sub = "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ"
	}
	if u.OID == "" {
		u.OID = "00000000-0000-0000-66f3-3332eca7ea81"
	}
	if u.Name == "" {
		u.Name = "Ada Lovelace"
	}
	s := &Server{cfg: cfg, keys: signingKeys(), codes: map[string]*grant{}, refresh: map[string]*grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.serveDiscovery)
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", s.serveKeys)
	mux.HandleFunc("GET /{tenant}/oauth2/v2.0/authorize", s.serveAuthorize)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.serveToken)
	mux.HandleFunc("GET /{tenant}/oauth2/v2.0/logout", s.serveLogout)
	s.Server = fakenet.Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.rec.Record(r)
		mux.ServeHTTP(w, r)
	}), nil)
	s.URL = s.LoopbackURL()
	return s
}

// Requests returns copies of the requests received at path (such as
// "/common/oauth2/v2.0/token"), oldest first.
func (s *Server) Requests(path string) []*http.Request { return s.rec.Requests(path) }

var tenantIDRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// tenantOf resolves the {tenant} of a path: the tenant id it stands for,
// or "" for common and organizations; ok is false for an unknown tenant.
func (s *Server) tenantOf(r *http.Request) (path, id string, ok bool) {
	path = r.PathValue("tenant")
	switch {
	case path == "common", path == "organizations":
		return path, "", true
	case path == "consumers":
		return path, Consumers, true
	case tenantIDRE.MatchString(path):
		return path, path, true
	case s.cfg.Domains[path] != "":
		return path, s.cfg.Domains[path], true
	}
	return path, "", false
}

// unknownTenant is Entra's answer for a tenant it does not know.
func unknownTenant(w http.ResponseWriter) {
	opkit.WriteError(w, http.StatusBadRequest, "invalid_tenant", "AADSTS90002: Tenant not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")
}

func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	path, id, ok := s.tenantOf(r)
	if !ok {
		unknownTenant(w)
		return
	}
	issuer := s.URL + "/{tenantid}/v2.0"
	if id != "" {
		issuer = s.URL + "/" + id + "/v2.0"
	}
	base := s.URL + "/" + path
	opkit.WriteJSON(w, http.StatusOK, map[string]any{
		"issuer":                                issuer,
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"claims_supported":                      []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"},
		"request_uri_parameter_supported":       false,
		"tenant_region_scope":                   nil,
		"cloud_instance_name":                   "microsoftonline.com",
		"frontchannel_logout_supported":         true,
		"http_logout_supported":                 true,
	})
}

// jwk is a published key with Entra's "issuer" member.
type jwk struct {
	opkit.JWK
	Issuer string `json:"issuer,omitempty"`
}

func (s *Server) serveKeys(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := s.tenantOf(r); !ok {
		unknownTenant(w)
		return
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	for _, kid := range []string{"org", "msa"} {
		iss := s.URL + "/{tenantid}/v2.0"
		if kid == "msa" {
			iss = s.URL + "/" + Consumers + "/v2.0"
		}
		switch s.cfg.KeyIssuer {
		case "":
		case "-":
			iss = ""
		case "{iss}":
			iss = s.URL + "/" + s.cfg.User.Tenant + "/v2.0"
		default:
			iss = s.cfg.KeyIssuer
		}
		set.Keys = append(set.Keys, jwk{s.keys[kid].JWK(), iss})
	}
	opkit.WriteJSON(w, http.StatusOK, set)
}

// signingKeys returns the two keys, by kid: made once per test binary and
// shared by every Server (RSA key generation is what a test would wait
// for), since the keys never change.
var signingKeys = sync.OnceValue(func() map[string]*opkit.Key {
	keys := map[string]*opkit.Key{}
	for _, kid := range []string{"org", "msa"} {
		k, err := opkit.GenerateKey(kid, "RS256")
		if err != nil {
			panic(err)
		}
		keys[kid] = k
	}
	return keys
})
