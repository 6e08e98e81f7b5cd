// Package fakegoogle is a local stand-in for Google's OpenID Connect
// service, for tests. It is not public API.
//
// It reproduces the request and response shapes Google documents at
// https://developers.google.com/identity/openid-connect/openid-connect and
// https://developers.google.com/identity/protocols/oauth2/web-server:
//
//   - a discovery document with Google's members (issuer, the four
//     endpoints, jwks_uri, revocation_endpoint, code_challenge_methods
//     "plain" and "S256", client_secret_post and client_secret_basic);
//   - the authorization endpoint (/o/oauth2/v2/auth): unknown clients and
//     unregistered redirect URIs get an error page, not a redirect; a
//     user who cancels is sent back with error=access_denied; a success
//     carries state, iss (RFC 9207), code, scope (with Google's expanded
//     scope URLs), authuser, hd for Workspace accounts, and prompt;
//   - the token endpoint (/token): client_secret_basic or
//     client_secret_post, one-time codes, the exact redirect_uri, the PKCE
//     verifier when a challenge was sent; errors as JSON with 400
//     invalid_grant / redirect_uri_mismatch and 401 invalid_client; an ID
//     token signed RS256 with iss, azp, aud, sub, email, email_verified,
//     at_hash, nonce, name, picture, hd, iat, exp; a refresh token only
//     for access_type=offline on the user's first grant of offline access
//     or with prompt=consent; refresh grants that do not rotate;
//   - JWKS (/oauth2/v3/certs), UserInfo (/v1/userinfo, Bearer only) and
//     revocation (/revoke).
//
// With [Config.GoogleURLs] it serves Google's real URLs over TLS:
// [Server.Client] routes accounts.google.com, oauth2.googleapis.com,
// www.googleapis.com and openidconnect.googleapis.com to it.
//
// Every request is recorded ([Server.Requests]) so tests can assert where a
// code was sent.
package fakegoogle

import (
	"net/http"
	"net/url"
	"sync"

	"github.com/portcullis-go/portcullis/internal/fakenet"
	"github.com/portcullis-go/portcullis/internal/opkit"
)

// The client credentials the server accepts.
const (
	ClientID     = "1234567890-fake.apps.googleusercontent.com"
	ClientSecret = "GOCSPX-fake-secret"
)

// Paths of the endpoints.
const (
	PathDiscovery = "/.well-known/openid-configuration"
	PathAuthorize = "/o/oauth2/v2/auth"
	PathToken     = "/token"
	PathJWKS      = "/oauth2/v3/certs"
	PathUserInfo  = "/v1/userinfo"
	PathRevoke    = "/revoke"
)

// googleHosts are the hosts of Google's real endpoints.
var googleHosts = []string{"accounts.google.com", "oauth2.googleapis.com", "www.googleapis.com", "openidconnect.googleapis.com"}

// User is the Google account that signs in.
type User struct {
	Sub           string // default "108234567890123456789"
	Email         string
	EmailVerified bool
	HD            string // Workspace domain; "" for consumer accounts
	Name          string
	Picture       string
}

// Config sets up a Server. It is read-only once the server runs.
type Config struct {
	// RedirectURIs are the registered redirect URIs (exact match).
	RedirectURIs []string
	// User signs in at once, without a page. Default: Ada, a consumer
	// account with a verified gmail.com address.
	User User
	// Deny makes the user cancel the consent screen.
	Deny bool
	// GoogleURLs serves Google's real URLs over TLS (issuer
	// https://accounts.google.com); use [Server.Client].
	GoogleURLs bool
	// IssClaim replaces the ID token's "iss" (Google sometimes writes
	// "accounts.google.com").
	IssClaim string
	// OfflineGranted means the user granted this client offline access
	// before: no refresh token without prompt=consent.
	OfflineGranted bool
	// NoRefreshTokens makes the token endpoint never issue a refresh
	// token, even after prompt=consent.
	NoRefreshTokens bool
	// Fail answers requests to a path with this HTTP status and a JSON
	// error body.
	Fail map[string]int
}

// Request is one request the server received.
type Request struct {
	Method, Host, Path string
	Query, Form        url.Values
	Header             http.Header
}

// Server is the fake. Its Client, with GoogleURLs, sends requests for
// Google's hosts to it and any other request (to an application under test
// on loopback, say) where it is addressed; Close stops it.
type Server struct {
	*fakenet.Server

	// URL is the issuer: the loopback http URL of the server, or
	// https://accounts.google.com with GoogleURLs.
	URL string

	cfg Config
	key *opkit.Key
	rec opkit.Recorder

	mu             sync.Mutex
	codes          map[string]*grant
	access         map[string]bool
	refresh        map[string]*grant
	offlineGranted bool
}

// New starts a server; Close stops it.
func New(cfg Config) *Server {
	if cfg.User == (User{}) {
		cfg.User = User{Email: "ada@gmail.com", EmailVerified: true, Name: "Ada Lovelace", Picture: "https://lh3.googleusercontent.com/a/ada"}
	}
	if cfg.User.Sub == "" {
		cfg.User.Sub = "108234567890123456789"
	}
	key, err := opkit.GenerateKey("", "RS256")
	if err != nil {
		panic(err)
	}
	s := &Server{
		cfg: cfg, key: key, offlineGranted: cfg.OfflineGranted,
		codes: map[string]*grant{}, access: map[string]bool{}, refresh: map[string]*grant{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathDiscovery, s.serveDiscovery)
	mux.HandleFunc("GET "+PathJWKS, s.serveJWKS)
	mux.HandleFunc("GET "+PathAuthorize, s.serveAuthorize)
	mux.HandleFunc("POST "+PathToken, s.serveToken)
	mux.HandleFunc("GET "+PathUserInfo, s.serveUserInfo)
	mux.HandleFunc("POST "+PathRevoke, s.serveRevoke)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.rec.Record(r)
		if status := cfg.Fail[r.URL.Path]; status != 0 {
			opkit.WriteError(w, status, "internal_failure", "Backend Error")
			return
		}
		mux.ServeHTTP(w, r)
	})
	if cfg.GoogleURLs {
		s.Server = fakenet.Start(handler, googleHosts)
		s.URL = "https://accounts.google.com"
	} else {
		s.Server = fakenet.Start(handler, nil)
		s.URL = s.LoopbackURL()
	}
	return s
}

// Requests returns the requests received at path, oldest first.
func (s *Server) Requests(path string) []Request {
	var out []Request
	for _, r := range s.rec.Requests(path) {
		out = append(out, Request{Method: r.Method, Host: r.Host, Path: r.URL.Path, Query: r.URL.Query(), Form: r.PostForm, Header: r.Header})
	}
	return out
}

// endpoint returns the URL of one of the server's endpoints, on Google's
// own host for it with GoogleURLs.
func (s *Server) endpoint(host, path string) string {
	if s.cfg.GoogleURLs {
		return "https://" + host + path
	}
	return s.URL + path
}

func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	opkit.WriteJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.URL,
		"authorization_endpoint":                s.endpoint("accounts.google.com", PathAuthorize),
		"device_authorization_endpoint":         s.endpoint("oauth2.googleapis.com", "/device/code"),
		"token_endpoint":                        s.endpoint("oauth2.googleapis.com", PathToken),
		"userinfo_endpoint":                     s.endpoint("openidconnect.googleapis.com", PathUserInfo),
		"revocation_endpoint":                   s.endpoint("oauth2.googleapis.com", PathRevoke),
		"jwks_uri":                              s.endpoint("www.googleapis.com", PathJWKS),
		"response_types_supported":              []string{"code", "token", "id_token", "code token", "code id_token", "token id_token", "code token id_token", "none"},
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
		"claims_supported":                      []string{"aud", "email", "email_verified", "exp", "family_name", "given_name", "iat", "iss", "name", "picture", "sub"},
		"code_challenge_methods_supported":      []string{"plain", "S256"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:jwt-bearer"},
	})
}

func (s *Server) serveJWKS(w http.ResponseWriter, r *http.Request) {
	opkit.WriteJSON(w, http.StatusOK, opkit.NewJWKS(s.key))
}
