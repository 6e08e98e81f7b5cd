// Package fakegithub is a local stand-in for GitHub's OAuth web
// application flow and the REST API calls a sign-in makes, for tests. It
// is not public API.
//
// It reproduces the shapes GitHub documents at
// https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps,
// .../troubleshooting-authorization-request-errors,
// .../troubleshooting-oauth-app-access-token-request-errors,
// https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens
// and the REST reference for users, emails, organisation members and teams:
//
//   - /login/oauth/authorize: an unknown client gets a 404 page; a
//     redirect_uri other than the registered one is answered at the
//     registered one with error=redirect_uri_mismatch; a user who cancels
//     comes back with error=access_denied, error_description and error_uri;
//     PKCE accepts S256 only; a success carries code and state;
//   - /login/oauth/access_token: client_id and client_secret as
//     parameters; answers form-encoded, or JSON with Accept:
//     application/json; errors (bad_verification_code,
//     incorrect_client_credentials, redirect_uri_mismatch,
//     bad_refresh_token) arrive with HTTP 200; OAuth app tokens (gho_) do
//     not expire and scope is comma separated; GitHub App user tokens
//     (ghu_, [Config.ExpiringTokens]) expire after 8 hours and come with a
//     refresh token (ghr_) that rotates on every use;
//   - REST API (at /api/v3 like GitHub Enterprise Server, or at the root
//     of api.github.com with [Config.GitHubURLs]): Bearer or "token"
//     credentials, 401 "Bad credentials"; a User-Agent is required; GET
//     /user (with "email" null when the user has no public email), GET
//     /user/emails (404 without the user:email scope, 403 for a GitHub App
//     without the email permission), GET /orgs/{org}/members/{user} (204
//     member; 302 to the public members check when the requester is not a
//     member; 404 for an unknown organisation) and GET
//     /orgs/{org}/teams/{team}/memberships/{user} (200 with state "active"
//     or "pending"; 404 otherwise).
//
// Every request is recorded ([Server.Requests]).
package fakegithub

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"

	"github.com/portcullis-go/portcullis/internal/fakenet"
)

// The client credentials the server accepts.
const (
	ClientID     = "Iv1.fake0github0client"
	ClientSecret = "fake-github-client-secret"
)

// Paths of the OAuth endpoints, and the API prefix of GitHub Enterprise
// Server.
const (
	PathAuthorize = "/login/oauth/authorize"
	PathToken     = "/login/oauth/access_token"
	APIPrefix     = "/api/v3"
)

// User is the GitHub account that signs in.
type User struct {
	ID          int64 // default 583231
	Login       string
	Name        string
	AvatarURL   string
	PublicEmail string // "" means "email": null
	Emails      []Email
}

// Email is one entry of GET /user/emails.
type Email struct {
	Email      string `json:"email"`
	Primary    bool   `json:"primary"`
	Verified   bool   `json:"verified"`
	Visibility any    `json:"visibility"` // "public", "private" or nil
}

// Config sets up a Server. It is read-only once the server runs.
type Config struct {
	// RedirectURIs are the registered callback URLs; the first is where
	// redirect_uri_mismatch errors go.
	RedirectURIs []string
	// User signs in at once. Default: octocat, id 583231, with one
	// primary verified email and no public email.
	User User
	// RawUser, when set, is served as the body of GET /user instead.
	RawUser string
	// Deny makes the user cancel the authorization.
	Deny bool
	// GitHubURLs serves github.com and api.github.com over TLS; use
	// [Server.Client].
	GitHubURLs bool
	// ExpiringTokens issues GitHub App user tokens: expiring, with a
	// rotating refresh token.
	ExpiringTokens bool
	// TokenError makes every token request answer HTTP 200 with this
	// "error" (such as "bad_verification_code").
	TokenError string
	// Orgs maps the organisations that exist to whether the user is a
	// member.
	Orgs map[string]bool
	// Teams maps "org/team-slug" to the user's membership state ("active"
	// or "pending"); teams not listed have no such member.
	Teams map[string]string
	// EmailsForbidden answers GET /user/emails with 403, as for a GitHub
	// App without the "Email addresses" permission.
	EmailsForbidden bool
	// Fail answers requests to a path (API paths without /api/v3) with
	// this HTTP status.
	Fail map[string]int
}

// Request is one request the server received; Path has no /api/v3 prefix
// and API says whether it went to the API.
type Request struct {
	Method, Host, Path string
	API                bool
	Query, Form        url.Values
	Header             http.Header
}

// Server is the fake.
type Server struct {
	// URL is the web origin: the loopback http URL of the server, or
	// https://github.com with GitHubURLs.
	URL string
	// APIURL is the REST API root: URL + "/api/v3", or
	// https://api.github.com with GitHubURLs.
	APIURL string

	cfg    Config
	ts     *httptest.Server
	client *http.Client
	web    *http.ServeMux
	api    *http.ServeMux

	mu      sync.Mutex
	log     []Request
	codes   map[string]*grant
	access  map[string]*grant
	refresh map[string]*grant
}

// New starts a server; Close stops it.
func New(cfg Config) *Server {
	if cfg.User.ID == 0 && cfg.User.Login == "" && cfg.RawUser == "" {
		cfg.User = User{
			ID: 583231, Login: "octocat", Name: "The Octocat",
			AvatarURL: "https://avatars.githubusercontent.com/u/583231?v=4",
			Emails:    []Email{{Email: "octocat@github.com", Primary: true, Verified: true, Visibility: "private"}},
		}
	}
	s := &Server{cfg: cfg, codes: map[string]*grant{}, access: map[string]*grant{}, refresh: map[string]*grant{}}
	s.web = http.NewServeMux()
	s.web.HandleFunc("GET "+PathAuthorize, s.serveAuthorize)
	s.web.HandleFunc("POST "+PathToken, s.serveToken)
	s.api = http.NewServeMux()
	s.api.HandleFunc("GET /user", s.serveUser)
	s.api.HandleFunc("GET /user/emails", s.serveEmails)
	s.api.HandleFunc("GET /orgs/{org}/members/{user}", s.serveOrgMember)
	s.api.HandleFunc("GET /orgs/{org}/teams/{team}/memberships/{user}", s.serveTeamMembership)
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.route))
	if cfg.GitHubURLs {
		s.ts.StartTLS()
		s.URL, s.APIURL = "https://github.com", "https://api.github.com"
		s.client = fakenet.RoutingClient(s.ts, []string{"github.com", "api.github.com"})
	} else {
		s.ts.Start()
		s.URL, s.APIURL = s.ts.URL, s.ts.URL+APIPrefix
		s.client = s.ts.Client()
	}
	return s
}

// Close stops the server.
func (s *Server) Close() { s.ts.Close() }

// Client returns an HTTP client that reaches the server (with GitHubURLs:
// github.com and api.github.com go to it, anything else where addressed).
func (s *Server) Client() *http.Client { return s.client }

// Requests returns the requests received at path (API paths without
// /api/v3), oldest first.
func (s *Server) Requests(path string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.log {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// route sends a request to the web or the API handlers.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	api := false
	if s.cfg.GitHubURLs {
		api = host == "api.github.com"
	} else if p, ok := strings.CutPrefix(r.URL.Path, APIPrefix); ok && (p == "" || p[0] == '/') {
		api = true
		r.URL.Path = p
		r.URL.RawPath = ""
	}
	form, _ := url.ParseQuery(string(body))
	s.mu.Lock()
	s.log = append(s.log, Request{Method: r.Method, Host: r.Host, Path: r.URL.Path, API: api, Query: r.URL.Query(), Form: form, Header: r.Header.Clone()})
	s.mu.Unlock()
	if status := s.cfg.Fail[r.URL.Path]; status != 0 {
		writeJSON(w, status, map[string]string{"message": "Server Error"})
		return
	}
	if !api {
		s.web.ServeHTTP(w, r)
		return
	}
	if r.Header.Get("User-Agent") == "" {
		http.Error(w, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header.", http.StatusForbidden)
		return
	}
	s.api.ServeHTTP(w, r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func random(prefix string) string {
	b := make([]byte, 18)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}
