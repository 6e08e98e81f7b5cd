package devoidc

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

// Server is an in-memory OpenID provider. It is an [http.Handler] that
// serves the routes listed in the package documentation under the path of
// the issuer. A Server is safe for concurrent use; its configuration is
// fixed by [New]. All its state is in memory. It is for development and
// tests only: see the package documentation for what it does not do.
type Server struct {
	issuer     string // Config.Issuer, verbatim
	base       string // issuer without a trailing slash: endpoint URLs are base + route
	cookiePath string
	secure     bool // issuer is https: cookies get the Secure attribute

	sessionCookie string
	csrfCookie    string
	csrfKey       []byte
	cop           *http.CrossOriginProtection

	clients      map[string]Client
	users        []User // in Config order, for the sign-in page
	autoLogin    string
	ignoreStepUp bool
	atAudience   string // Config.AccessTokenAudience: JWT access tokens when set
	accessTTL    time.Duration
	idTTL        time.Duration
	refreshTTL   time.Duration

	log   *slog.Logger
	now   func() time.Time
	keys  *keyring
	store *store
	pages *pages
	stats counters
	mux   *http.ServeMux

	// Back-channel logout delivery (backchannel.go).
	bcClient  *http.Client   // never follows redirects, sends no cookies
	bcRetry   time.Duration  // pause before the one retry
	bcPending sync.WaitGroup // deliveries in flight; tests Wait on it

	discovery []byte // the discovery document, marshalled once
}

// Stats counts what a [Server] has done since [New], for assertions in
// tests. Each field is a plain count.
type Stats struct {
	// AuthorizeRequests counts requests to the authorization endpoint,
	// including sign-in form posts and rejected requests.
	AuthorizeRequests int
	// TokenRequests counts requests to the token endpoint, including
	// rejected ones.
	TokenRequests int
	// CodeExchanges counts authorization codes successfully exchanged.
	CodeExchanges int
	// Refreshes counts successful refresh_token grants.
	Refreshes int
	// RefreshReuses counts replays detected: an already rotated refresh
	// token presented again (RFC 9700 §4.14.2).
	RefreshReuses int
	// Revocations counts well-formed revocation requests (RFC 7009) that
	// passed client authentication, whether or not the token was known.
	Revocations int
	// UserInfoRequests counts requests to the userinfo endpoint, including
	// rejected ones.
	UserInfoRequests int
	// ClientCredentialsGrants counts successful client_credentials grants
	// (RFC 6749 §4.4).
	ClientCredentialsGrants int
	// IntrospectionRequests counts requests to the introspection endpoint
	// (RFC 7662), including rejected ones.
	IntrospectionRequests int
	// GrantsRevoked counts grants revoked for any reason: refresh token
	// reuse, code replay, revocation, or the end of the OP session.
	GrantsRevoked int
	// BackchannelSent counts logout tokens that a client's
	// BackchannelLogoutURI acknowledged with 200 or 204, at the first
	// attempt or at the one retry.
	BackchannelSent int
	// BackchannelFailed counts logout tokens that were not delivered: the
	// client answered 400 (a refusal) or a 2xx status other than 200 and
	// 204, neither of which is retried, or both attempts met a network
	// error or a status outside 2xx.
	//
	// Delivery happens in the background after the session ends, so a test
	// that expects n logout tokens polls Stats, with a deadline, until
	// BackchannelSent+BackchannelFailed reaches n.
	BackchannelFailed int
}

// counters backs Stats.
type counters struct {
	authorize, token, exchanges, refreshes, reuses, revocations, userinfo, grantsRevoked atomic.Int64
	clientCredentials, introspect, bcSent, bcFailed                                      atomic.Int64
}

// New validates cfg and returns a Server. Every problem with cfg is an
// error that starts with "devoidc:"; New never logs a warning instead.
//
// The Server is not listening anywhere: mount it on a listener whose
// address matches cfg.Issuer, for example a [net/http/httptest.Server]
// created with NewUnstartedServer, whose address is known before it starts.
func New(cfg Config) (*Server, error) {
	c, err := validate(cfg)
	if err != nil {
		return nil, err
	}
	key := c.Key
	if key == nil {
		if key, err = rsa.GenerateKey(rand.Reader, minKeyBits); err != nil {
			return nil, fmt.Errorf("devoidc: generate signing key: %w", err)
		}
	}
	keys, err := newKeyring(key)
	if err != nil {
		return nil, err
	}

	base := strings.TrimSuffix(c.Issuer, "/")
	routePath := strings.TrimSuffix(c.issuerURL.Path, "/")
	cookiePath := routePath
	if cookiePath == "" {
		cookiePath = "/"
	}
	// The cookie names carry a digest of the issuer, so two devoidc
	// instances on one host (cookies ignore the port) never share cookies.
	sum := sha256.Sum256([]byte(c.Issuer))
	suffix := hex.EncodeToString(sum[:4])

	s := &Server{
		issuer:        c.Issuer,
		base:          base,
		cookiePath:    cookiePath,
		secure:        c.issuerURL.Scheme == "https",
		sessionCookie: "devoidc_session_" + suffix,
		csrfCookie:    "devoidc_csrf_" + suffix,
		csrfKey:       make([]byte, 32),
		cop:           http.NewCrossOriginProtection(),
		clients:       make(map[string]Client, len(c.Clients)),
		users:         c.Users,
		autoLogin:     c.AutoLogin,
		ignoreStepUp:  c.IgnoreStepUp,
		atAudience:    c.AccessTokenAudience,
		accessTTL:     c.AccessTokenTTL,
		idTTL:         c.IDTokenTTL,
		refreshTTL:    c.RefreshTokenTTL,
		log:           c.Logger,
		now:           time.Now,
		keys:          keys,
		pages:         newPages(c.Name),
		mux:           http.NewServeMux(),
		bcClient:      newBackchannelClient(c.HTTPClient),
		bcRetry:       backchannelRetryDelay,
	}
	rand.Read(s.csrfKey)
	s.store = newStore(&s.stats)
	for _, cl := range c.Clients {
		s.clients[cl.ID] = cl
	}
	if s.discovery, err = json.Marshal(s.discoveryDocument()); err != nil {
		return nil, fmt.Errorf("devoidc: discovery document: %w", err)
	}

	routes := []struct {
		pattern string
		handler http.HandlerFunc
	}{
		{"GET /.well-known/openid-configuration", s.handleDiscovery},
		{"GET /jwks", s.handleJWKS},
		{"GET /authorize", s.handleAuthorize},
		{"POST /authorize", s.handleAuthorize},
		{"POST /token", s.handleToken},
		{"GET /userinfo", s.handleUserInfo},
		{"POST /userinfo", s.handleUserInfo},
		{"POST /revoke", s.handleRevoke},
		{"POST /introspect", s.handleIntrospect},
		{"GET /end_session", s.handleEndSession},
		{"POST /end_session", s.handleEndSession},
	}
	for _, rt := range routes {
		method, p, _ := strings.Cut(rt.pattern, " ")
		s.mux.HandleFunc(method+" "+routePath+p, rt.handler)
	}
	return s, nil
}

// ServeHTTP serves the provider's endpoints. Requests for other paths get
// a 404, and unsupported methods a 405.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	s.mux.ServeHTTP(w, r)
}

// Issuer returns the issuer identifier, exactly as configured. Relying
// parties pass it to discovery, for example [oidc.NewProvider].
//
// [oidc.NewProvider]: https://pkg.go.dev/github.com/coreos/go-oidc/v3/oidc#NewProvider
func (s *Server) Issuer() string { return s.issuer }

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	return Stats{
		AuthorizeRequests:       int(s.stats.authorize.Load()),
		TokenRequests:           int(s.stats.token.Load()),
		CodeExchanges:           int(s.stats.exchanges.Load()),
		Refreshes:               int(s.stats.refreshes.Load()),
		RefreshReuses:           int(s.stats.reuses.Load()),
		Revocations:             int(s.stats.revocations.Load()),
		UserInfoRequests:        int(s.stats.userinfo.Load()),
		ClientCredentialsGrants: int(s.stats.clientCredentials.Load()),
		IntrospectionRequests:   int(s.stats.introspect.Load()),
		GrantsRevoked:           int(s.stats.grantsRevoked.Load()),
		BackchannelSent:         int(s.stats.bcSent.Load()),
		BackchannelFailed:       int(s.stats.bcFailed.Load()),
	}
}

// discoveryDocument is the provider metadata of OpenID Connect Discovery 1.0
// §3 (https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata).
type discoveryDocument struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	IntrospectionEndpoint             string   `json:"introspection_endpoint"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	RevocationAuthMethodsSupported    []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionAuthMethodsSupported []string `json:"introspection_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
	ACRValuesSupported                []string `json:"acr_values_supported"`
	PromptValuesSupported             []string `json:"prompt_values_supported"`
	ClaimsParameterSupported          bool     `json:"claims_parameter_supported"`
	RequestParameterSupported         bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported      bool     `json:"request_uri_parameter_supported"`
	AuthorizationResponseISSSupported bool     `json:"authorization_response_iss_parameter_supported"`
	BackchannelLogoutSupported        bool     `json:"backchannel_logout_supported"`
	BackchannelLogoutSessionSupported bool     `json:"backchannel_logout_session_supported"`
}

func (s *Server) discoveryDocument() discoveryDocument {
	authMethods := []string{"client_secret_basic", "client_secret_post"}
	return discoveryDocument{
		Issuer:                            s.issuer,
		AuthorizationEndpoint:             s.base + "/authorize",
		TokenEndpoint:                     s.base + "/token",
		UserinfoEndpoint:                  s.base + "/userinfo",
		JWKSURI:                           s.base + "/jwks",
		RevocationEndpoint:                s.base + "/revoke",
		IntrospectionEndpoint:             s.base + "/introspect",
		EndSessionEndpoint:                s.base + "/end_session",
		ScopesSupported:                   supportedScopes(),
		ResponseTypesSupported:            []string{"code"},
		ResponseModesSupported:            []string{"query"},
		GrantTypesSupported:               []string{"authorization_code", "refresh_token", "client_credentials"},
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		TokenEndpointAuthMethodsSupported: authMethods,
		RevocationAuthMethodsSupported:    authMethods,
		IntrospectionAuthMethodsSupported: authMethods,
		CodeChallengeMethodsSupported:     []string{"S256"},
		ClaimsSupported: []string{
			"iss", "sub", "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce", "at_hash", "sid",
			"name", "preferred_username", "email", "email_verified", "groups",
		},
		ACRValuesSupported:                []string{ACRPassword, ACRMultiFactor},
		PromptValuesSupported:             []string{"none", "login"},
		AuthorizationResponseISSSupported: true,
		BackchannelLogoutSupported:        true,
		BackchannelLogoutSessionSupported: true,
	}
}

// handleDiscovery serves GET /.well-known/openid-configuration.
func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	opkit.WriteJSON(w, http.StatusOK, json.RawMessage(s.discovery))
}

// user returns the test user with the given subject.
func (s *Server) user(sub string) (User, bool) {
	for _, u := range s.users {
		if u.Subject == sub {
			return u, true
		}
	}
	return User{}, false
}
