// Package fakeapple is a local stand-in for Sign in with Apple, for tests.
// It is not public API.
//
// It reproduces the shapes Apple documents for web sign-in:
//
//   - discovery (/.well-known/openid-configuration) with the members of
//     https://appleid.apple.com/.well-known/openid-configuration:
//     response_types_supported ["code"], response_modes_supported query,
//     fragment and form_post, subject_types_supported ["pairwise"], RS256,
//     scopes openid, email and name, token_endpoint_auth_methods_supported
//     ["client_secret_post"], and no RFC 9207 "iss" in responses;
//   - the authorization endpoint (/auth/authorize): an unknown client or an
//     unregistered redirect URI gets an error page; the name or email scope
//     without response_mode=form_post is refused ("response_mode must be
//     form_post when name or email scope is requested",
//     https://developer.apple.com/forums/thread/704197); a success is an
//     HTML page that POSTs code and state to the redirect URI (OAuth 2.0
//     Form Post Response Mode), with the "user" field — JSON with
//     name.firstName, name.lastName and email — on the user's first
//     authorization of the client only
//     (https://developer.apple.com/documentation/signinwithapplejs/useri);
//     [ParseFormPost] reads that page back;
//   - the token endpoint (/auth/token) accepting client_secret_post only
//     (HTTP Basic is refused), whose client_secret must be a JWT signed
//     ES256 with the client's registered key, kid its Key ID, iss the Team
//     ID, sub the Services ID, aud https://appleid.apple.com, iat not in
//     the future, exp not passed and at most 15777000 s after iat
//     (https://developer.apple.com/documentation/sign_in_with_apple/generate_and_validate_tokens);
//     one-time codes, the exact redirect_uri, the PKCE verifier when a
//     challenge was sent; an ID token signed RS256 with aud the Services
//     ID, email_verified and is_private_email as the strings "true" and
//     "false" (https://developer.apple.com/documentation/signinwithapplejs/authorizationi/id_token),
//     nonce and nonce_supported; refresh grants;
//   - JWKS (/auth/keys) and revocation (/auth/revoke, client_secret_post).
//
// Every request is recorded ([Server.Requests]), and each client secret the
// token endpoint refused is listed with the reason ([Server.Refusals]).
package fakeapple

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/portcullis-go/portcullis/internal/fakenet"
	"github.com/portcullis-go/portcullis/internal/opkit"
)

// The client registration the server knows: the Services ID (client ID),
// the developer team and the Sign in with Apple key's ID.
const (
	ServicesID = "com.example.web.signin"
	TeamID     = "A1B2C3D4E5"
	KeyID      = "K9L8M7N6P5"
)

// Paths of the endpoints, as at appleid.apple.com.
const (
	PathDiscovery = "/.well-known/openid-configuration"
	PathAuthorize = "/auth/authorize"
	PathToken     = "/auth/token"
	PathJWKS      = "/auth/keys"
	PathRevoke    = "/auth/revoke"
)

// User is the Apple Account that signs in.
type User struct {
	Sub          string // default "001234.0a1b2c3d4e5f.1234"
	Email        string // default a private relay address
	PrivateEmail bool   // the email is a private relay address
	FirstName    string
	LastName     string
}

// Config sets up a Server. It is read-only once the server runs.
type Config struct {
	// RedirectURIs are the registered Return URLs (exact match).
	RedirectURIs []string
	// User signs in at once, without a page. Default: Ada Lovelace with a
	// private relay address.
	User User
	// Authorized means the user authorized this client before: no "user"
	// field, even on the first sign-in through this server.
	Authorized bool
	// BoolClaims writes email_verified and is_private_email as JSON
	// booleans instead of Apple's strings.
	BoolClaims bool
	// Deny makes the user cancel: the form posts
	// error=user_cancelled_authorize.
	Deny bool
	// Clock is the server's time, for the client secret's iat and exp.
	// Default time.Now.
	Clock func() time.Time
}

// Request is one request the server received.
type Request struct {
	Method, Path string
	Query, Form  url.Values
	Header       http.Header
}

// Server is the fake; Close stops it.
type Server struct {
	*fakenet.Server

	// URL is the issuer: the loopback http URL of the server.
	URL string

	cfg       Config
	key       *opkit.Key        // signs ID tokens
	clientKey *ecdsa.PrivateKey // the client's Sign in with Apple key
	rec       opkit.Recorder

	mu         sync.Mutex
	codes      map[string]*grant
	refresh    map[string]*grant
	authorized bool
	refusals   []string
}

// New starts a server; Close stops it.
func New(cfg Config) *Server {
	if cfg.User == (User{}) {
		cfg.User = User{Email: "x7k2m9p4qz@privaterelay.appleid.com", PrivateEmail: true, FirstName: "Ada", LastName: "Lovelace"}
	}
	if cfg.User.Sub == "" {
		cfg.User.Sub = "001234.0a1b2c3d4e5f.1234"
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	key, err := opkit.GenerateKey("", "RS256")
	if err != nil {
		panic(err)
	}
	clientKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	s := &Server{
		cfg: cfg, key: key, clientKey: clientKey, authorized: cfg.Authorized,
		codes: map[string]*grant{}, refresh: map[string]*grant{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathDiscovery, s.serveDiscovery)
	mux.HandleFunc("GET "+PathJWKS, s.serveJWKS)
	mux.HandleFunc("GET "+PathAuthorize, s.serveAuthorize)
	mux.HandleFunc("POST "+PathToken, s.serveToken)
	mux.HandleFunc("POST "+PathRevoke, s.serveRevoke)
	s.Server = fakenet.Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.rec.Record(r)
		mux.ServeHTTP(w, r)
	}), nil)
	s.URL = s.LoopbackURL()
	return s
}

// PrivateKeyPEM returns the client's Sign in with Apple key as Apple's
// .p8 file holds it: PEM "PRIVATE KEY", PKCS #8.
func (s *Server) PrivateKeyPEM() []byte { return KeyPEM(s.clientKey) }

// KeyPEM encodes an ECDSA key the way a .p8 file does.
func KeyPEM(k *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// Requests returns the requests received at path, oldest first.
func (s *Server) Requests(path string) []Request {
	var out []Request
	for _, r := range s.rec.Requests(path) {
		out = append(out, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Form: r.PostForm, Header: r.Header})
	}
	return out
}

// Refusals returns why the token endpoint refused each client secret it
// refused, oldest first ("expired", "signature", ...).
func (s *Server) Refusals() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.refusals...)
}

func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	opkit.WriteJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.URL,
		"authorization_endpoint":                s.URL + PathAuthorize,
		"token_endpoint":                        s.URL + PathToken,
		"revocation_endpoint":                   s.URL + PathRevoke,
		"jwks_uri":                              s.URL + PathJWKS,
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "email", "name"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post"},
		"claims_supported": []string{"aud", "email", "email_verified", "exp", "iat", "is_private_email", "iss",
			"nonce", "nonce_supported", "real_user_status", "sub", "transfer_sub"},
	})
}

func (s *Server) serveJWKS(w http.ResponseWriter, r *http.Request) {
	opkit.WriteJSON(w, http.StatusOK, opkit.NewJWKS(s.key))
}
