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
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/portcullis-go/portcullis/internal/fakenet"
	"github.com/portcullis-go/portcullis/internal/opkit"
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

// Server is the fake. Its Client, with GitHubURLs, sends requests for
// github.com and api.github.com to it and any other request where it is
// addressed; Close stops it.
type Server struct {
	*fakenet.Server

	// URL is the web origin: the loopback http URL of the server, or
	// https://github.com with GitHubURLs.
	URL string
	// APIURL is the REST API root: URL + "/api/v3", or
	// https://api.github.com with GitHubURLs.
	APIURL string

	cfg Config
	web *http.ServeMux
	api *http.ServeMux
	rec opkit.Recorder

	mu      sync.Mutex
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
	if cfg.GitHubURLs {
		s.Server = fakenet.Start(http.HandlerFunc(s.route), []string{"github.com", "api.github.com"})
		s.URL, s.APIURL = "https://github.com", "https://api.github.com"
	} else {
		s.Server = fakenet.Start(http.HandlerFunc(s.route), nil)
		s.URL, s.APIURL = s.LoopbackURL(), s.LoopbackURL()+APIPrefix
	}
	return s
}

// Requests returns the requests received at path (API paths without
// /api/v3), oldest first.
func (s *Server) Requests(path string) []Request {
	var out []Request
	for _, r := range s.rec.Matching(func(r *http.Request) bool { _, p := s.split(r); return p == path }) {
		api, p := s.split(r)
		out = append(out, Request{Method: r.Method, Host: r.Host, Path: p, API: api, Query: r.URL.Query(), Form: r.PostForm, Header: r.Header})
	}
	return out
}

// split reports whether r went to the REST API, and its path there: without
// /api/v3, unless the server has GitHub's own URLs, where the API is the
// host api.github.com.
func (s *Server) split(r *http.Request) (api bool, path string) {
	if s.cfg.GitHubURLs {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		return host == "api.github.com", r.URL.Path
	}
	if p, ok := strings.CutPrefix(r.URL.Path, APIPrefix); ok && (p == "" || p[0] == '/') {
		return true, p
	}
	return false, r.URL.Path
}

// route records a request and sends it to the web or the API handlers.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	s.rec.Record(r)
	api, path := s.split(r)
	if path != r.URL.Path {
		r.URL.Path, r.URL.RawPath = path, ""
	}
	if status := s.cfg.Fail[r.URL.Path]; status != 0 {
		opkit.WriteJSON(w, status, map[string]string{"message": "Server Error"})
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

func random(prefix string) string {
	b := make([]byte, 18)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}
