package oidctest

import (
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

// The client credentials the server accepts, and the subject of its user.
const (
	ClientID     = "test-client"
	ClientSecret = "test-secret"
	Subject      = "user-1"
)

// Paths of the server's endpoints, relative to [Server.URL]; pass them to
// [Server.Requests].
const (
	PathDiscovery    = "/.well-known/openid-configuration"
	PathAuthorize    = "/authorize"
	PathToken        = "/token"
	PathJWKS         = "/jwks"
	PathUserInfo     = "/userinfo"
	PathAttackerJWKS = "/attacker/jwks"
	PathIntrospect   = "/introspect"
	PathRevoke       = "/revoke"
)

// Claims are the members of a JWT payload. Numbers may be given as int,
// int64 or float64; delete a key to leave the claim out.
type Claims map[string]any

// Server is the mock provider. Its exported func fields are hooks; nil means
// honest behaviour.
type Server struct {
	// URL is the issuer and the base of every endpoint, such as
	// "http://127.0.0.1:41234" (https with [WithTLS]); no trailing slash.
	URL string

	// Discovery edits the discovery document before it is served.
	Discovery func(doc map[string]any)
	// Authorize receives the callback query the authorization endpoint is
	// about to send (code, state, iss) and returns the one to send instead.
	// The minted code stays valid whatever the hook returns. Returning nil
	// makes the endpoint answer 400 instead of redirecting.
	Authorize func(q url.Values) url.Values
	// TokenResponse runs first for every token request (after it is
	// recorded); if it returns true it has written the response and the
	// endpoint does nothing else: no checks, no code is consumed.
	TokenResponse func(w http.ResponseWriter, r *http.Request) bool
	// IDToken edits the claims and header of every ID token the token
	// endpoint issues. c holds the defaults (iss, sub, aud, exp, iat,
	// nonce when the authorization request had one, email, email_verified,
	// name, sid, at_hash); h is the zero Header (RS256 with the published
	// key, kid "k1").
	IDToken func(c Claims, h Header) (Claims, Header)
	// Token edits a successful token response (access_token, token_type,
	// expires_in, refresh_token, scope, id_token) before it is written, for
	// instance to change token_type or replace id_token with a malformed
	// string.
	Token func(body map[string]any)
	// UserInfo edits the UserInfo response (sub, email, email_verified,
	// name).
	UserInfo func(c Claims) Claims
	// UserInfoResponse, like TokenResponse, replaces the UserInfo
	// response when it returns true.
	UserInfoResponse func(w http.ResponseWriter, r *http.Request) bool
	// Introspection edits the answer of the introspection endpoint for
	// token (active, and for an access token the server issued iss, sub,
	// client_id, scope, token_type, exp and iat); it may make any token
	// active.
	Introspection func(token string, c Claims) Claims
	// IntrospectionResponse, like TokenResponse, replaces the
	// introspection answer when it returns true (after the request is
	// recorded, before any check).
	IntrospectionResponse func(w http.ResponseWriter, r *http.Request) bool

	srv      *httptest.Server
	issParam bool
	algs     []string
	ecKey    bool
	tls      bool

	authMethods []string
	clientKey   crypto.PublicKey
	clientKID   string
	revocation  bool

	rec opkit.Recorder

	mu       sync.Mutex
	codes    map[string]*grant
	access   map[string]bool
	issued   map[string]issuedAccess // introspection's view of access
	refresh  map[string]*grant
	secrets  []string
	keys     []*opkit.Key         // published RSA keys; the last one signs
	jtis     map[string]time.Time // client assertions seen, until they expire
	rotation int
}

// Option configures [New].
type Option func(*Server)

// WithECKey publishes the P-256 key (kid "e1") that [SignES256] uses, and
// adds ES256 to id_token_signing_alg_values_supported. Without it, ES256
// tokens are signed with a key nobody can verify.
func WithECKey() Option { return func(s *Server) { s.ecKey = true } }

// WithIssParameter sets authorization_response_iss_parameter_supported in
// the discovery document (RFC 9207). Default true. The authorization
// endpoint sends iss either way; use [Server.Authorize] to drop it.
func WithIssParameter(supported bool) Option { return func(s *Server) { s.issParam = supported } }

// WithSigningAlgs sets id_token_signing_alg_values_supported. Default
// ["RS256"], plus "ES256" with [WithECKey].
func WithSigningAlgs(algs ...string) Option {
	return func(s *Server) { s.algs = slices.Clone(algs) }
}

// WithTLS serves https with httptest's self-signed certificate; clients
// must use [Server.Client] to trust it.
func WithTLS() Option { return func(s *Server) { s.tls = true } }

// New starts a Server; t.Cleanup closes it.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		issParam: true,
		codes:    map[string]*grant{},
		access:   map[string]bool{},
		issued:   map[string]issuedAccess{},
		refresh:  map[string]*grant{},
		jtis:     map[string]time.Time{},
		// Each server has its own key: a second, attacker server cannot
		// sign tokens that the first one's key set verifies.
		keys: []*opkit.Key{newKey("k1", "RS256")},
	}
	mux := http.NewServeMux()
	mux.HandleFunc(PathDiscovery, s.serveDiscovery)
	mux.HandleFunc(PathJWKS, s.serveJWKS)
	mux.HandleFunc(PathAttackerJWKS, s.serveAttackerJWKS)
	mux.HandleFunc(PathAuthorize, s.serveAuthorize)
	mux.HandleFunc(PathToken, s.serveToken)
	mux.HandleFunc(PathUserInfo, s.serveUserInfo)
	mux.HandleFunc(PathIntrospect, s.serveIntrospect)
	mux.HandleFunc(PathRevoke, s.serveRevoke)
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.rec.Record(r)
		mux.ServeHTTP(w, r)
	}))
	for _, o := range opts {
		o(s)
	}
	if s.algs == nil {
		s.algs = []string{"RS256"}
		if s.ecKey {
			s.algs = append(s.algs, "ES256")
		}
	}
	if s.tls {
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Client returns an HTTP client that trusts the server (needed with
// [WithTLS]).
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Close stops the server: every later request to it is refused, as by a
// provider that is down.
func (s *Server) Close() { s.srv.Close() }

// Requests returns copies of the requests received at path (such as
// [PathToken]), oldest first, with Form and PostForm parsed and a fresh
// Body.
func (s *Server) Requests(path string) []*http.Request { return s.rec.Requests(path) }

// Secrets returns every value a leak must not reveal: the client secret
// and each code, access, refresh and ID token the server has issued.
func (s *Server) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string{ClientSecret}, s.secrets...)
}

func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	doc := map[string]any{
		"issuer":                                         s.URL,
		"authorization_endpoint":                         s.URL + PathAuthorize,
		"token_endpoint":                                 s.URL + PathToken,
		"jwks_uri":                                       s.URL + PathJWKS,
		"userinfo_endpoint":                              s.URL + PathUserInfo,
		"response_types_supported":                       []string{"code"},
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          s.algs,
		"scopes_supported":                               []string{"openid", "email", "profile"},
		"token_endpoint_auth_methods_supported":          s.methods(),
		"code_challenge_methods_supported":               []string{"S256"},
		"grant_types_supported":                          []string{"authorization_code", "refresh_token"},
		"authorization_response_iss_parameter_supported": s.issParam,
		"introspection_endpoint":                         s.URL + PathIntrospect,
	}
	if s.revocation {
		doc["revocation_endpoint"] = s.URL + PathRevoke
	}
	if s.Discovery != nil {
		s.Discovery(doc)
	}
	opkit.WriteJSON(w, http.StatusOK, doc)
}

func (s *Server) serveJWKS(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	keys := slices.Clone(s.keys)
	s.mu.Unlock()
	if s.ecKey {
		keys = append(keys, testKeys().ec)
	}
	opkit.WriteJSON(w, http.StatusOK, opkit.NewJWKS(keys...))
}

func (s *Server) serveAttackerJWKS(w http.ResponseWriter, r *http.Request) {
	opkit.WriteJSON(w, http.StatusOK, opkit.NewJWKS(testKeys().attacker))
}

// Rotate publishes a new RSA key (kid "r1", "r2", …) that signs the tokens
// from now on; with keepOld false the previous keys are unpublished.
func (s *Server) Rotate(keepOld bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rotation++
	k := newKey("r"+strconv.Itoa(s.rotation), "RS256")
	if keepOld {
		s.keys = append(s.keys, k)
	} else {
		s.keys = []*opkit.Key{k}
	}
}

// signingKey returns the RSA key that [SignRS256] uses.
func (s *Server) signingKey() *opkit.Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[len(s.keys)-1]
}

// random returns a fresh base64url string of n random bytes.
func random(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
