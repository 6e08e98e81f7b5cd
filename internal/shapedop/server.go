package shapedop

import (
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis-go/portcullis/internal/oidctest"
	"github.com/portcullis-go/portcullis/internal/opkit"
)

// Kind names a provider shape.
type Kind int

const (
	// Auth0 is an Auth0 tenant: issuer with a trailing "/".
	Auth0 Kind = iota + 1
	// Okta is the default custom authorization server of an Okta org.
	Okta
	// Keycloak is a realm of Keycloak 17 or later (no /auth prefix).
	Keycloak
	// KeycloakLegacy is a realm of Keycloak 16 or earlier (/auth/realms/…).
	KeycloakLegacy
	// GitLab is GitLab.com or a self-managed instance.
	GitLab
)

// Realm is the Keycloak realm of the Keycloak shapes.
const Realm = "demo"

// Config configures [New]. Zero values are documented defaults.
type Config struct {
	// EndSession advertises the logout endpoint as end_session_endpoint.
	// Default: advertised for Okta and Keycloak; for Auth0 only with this
	// set (a tenant's "RP-Initiated Logout End Session Endpoint Discovery"
	// toggle); GitLab has none.
	EndSession bool
	// PostLogoutRedirectURIs are the registered post-logout redirect URIs
	// (Auth0 "Allowed Logout URLs", Okta "Sign-out redirect URIs",
	// Keycloak "Valid post logout redirect URIs"), compared exactly.
	PostLogoutRedirectURIs []string
}

// Server is a provider of one [Kind] on loopback.
type Server struct {
	// Issuer is the provider's issuer identifier, exactly as its discovery
	// document states it.
	Issuer string
	// OP is the oidctest server behind the front: its Requests are keyed
	// by oidctest's paths (oidctest.PathAuthorize, …).
	OP *oidctest.Server
	// IDClaims edits the claims of every ID token (after "iss" is set to
	// Issuer); UserInfoClaims those of every UserInfo response. Set them
	// before the request they should affect.
	IDClaims       func(c oidctest.Claims)
	UserInfoClaims func(c oidctest.Claims)

	kind       Kind
	front      *httptest.Server
	endSession bool
	logoutPath string
	plrURIs    []string

	mu      sync.Mutex
	logouts []url.Values
}

// New starts a Server of kind k; t.Cleanup closes it.
func New(t testing.TB, k Kind, cfg Config) *Server {
	t.Helper()
	s := &Server{kind: k, OP: oidctest.New(t), plrURIs: slices.Clone(cfg.PostLogoutRedirectURIs)}
	s.front = httptest.NewServer(nil)
	t.Cleanup(s.front.Close)
	origin := s.front.URL
	var base string // the path every endpoint hangs from
	var paths map[string]string
	switch k {
	case Auth0:
		s.Issuer = origin + "/"
		paths = map[string]string{"/authorize": oidctest.PathAuthorize, "/oauth/token": oidctest.PathToken,
			"/.well-known/jwks.json": oidctest.PathJWKS, "/userinfo": oidctest.PathUserInfo}
		s.logoutPath, s.endSession = "/oidc/logout", cfg.EndSession
	case Okta:
		base = "/oauth2/default"
		paths = map[string]string{"/v1/authorize": oidctest.PathAuthorize, "/v1/token": oidctest.PathToken,
			"/v1/keys": oidctest.PathJWKS, "/v1/userinfo": oidctest.PathUserInfo, "/v1/introspect": oidctest.PathIntrospect}
		s.logoutPath, s.endSession = "/v1/logout", true
	case Keycloak, KeycloakLegacy:
		base = "/realms/" + Realm
		if k == KeycloakLegacy {
			base = "/auth" + base
		}
		const oc = "/protocol/openid-connect"
		paths = map[string]string{oc + "/auth": oidctest.PathAuthorize, oc + "/token": oidctest.PathToken,
			oc + "/certs": oidctest.PathJWKS, oc + "/userinfo": oidctest.PathUserInfo, oc + "/token/introspect": oidctest.PathIntrospect}
		s.logoutPath, s.endSession = oc+"/logout", true
	case GitLab:
		paths = map[string]string{"/oauth/authorize": oidctest.PathAuthorize, "/oauth/token": oidctest.PathToken,
			"/oauth/discovery/keys": oidctest.PathJWKS, "/oauth/userinfo": oidctest.PathUserInfo}
	default:
		t.Fatalf("shapedop: unknown kind %d", k)
	}
	if s.Issuer == "" {
		s.Issuer = origin + base
	}
	s.logoutPath = base + s.logoutPath
	// The front's routes: discovery under the issuer's path, the mapped
	// endpoints, the logout endpoint.
	routes := map[string]string{base + oidctest.PathDiscovery: oidctest.PathDiscovery}
	for from, to := range paths {
		routes[base+from] = to
	}
	s.OP.Discovery = func(doc map[string]any) {
		// Every endpoint oidctest advertises is replaced by the shape's.
		for _, m := range []string{"authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint", "introspection_endpoint"} {
			delete(doc, m)
		}
		doc["issuer"] = s.Issuer
		for from, to := range paths {
			switch to {
			case oidctest.PathAuthorize:
				doc["authorization_endpoint"] = origin + base + from
			case oidctest.PathToken:
				doc["token_endpoint"] = origin + base + from
			case oidctest.PathJWKS:
				doc["jwks_uri"] = origin + base + from
			case oidctest.PathUserInfo:
				doc["userinfo_endpoint"] = origin + base + from
			case oidctest.PathIntrospect:
				doc["introspection_endpoint"] = origin + base + from
			}
		}
		if s.endSession {
			doc["end_session_endpoint"] = origin + s.logoutPath
		}
		if k == Keycloak || k == KeycloakLegacy {
			doc["backchannel_logout_supported"] = true
			doc["backchannel_logout_session_supported"] = true
		} else {
			// Only Keycloak is shown sending RFC 9207's iss here.
			doc["authorization_response_iss_parameter_supported"] = false
		}
	}
	s.OP.Authorize = func(q url.Values) url.Values {
		if k == Keycloak || k == KeycloakLegacy {
			q.Set("iss", s.Issuer)
		} else {
			q.Del("iss")
		}
		return q
	}
	s.OP.IDToken = func(c oidctest.Claims, h oidctest.Header) (oidctest.Claims, oidctest.Header) {
		c["iss"] = s.Issuer
		if s.IDClaims != nil {
			s.IDClaims(c)
		}
		return c, h
	}
	s.OP.UserInfo = func(c oidctest.Claims) oidctest.Claims {
		if s.UserInfoClaims != nil {
			s.UserInfoClaims(c)
		}
		return c
	}
	if k == Okta {
		// https://developer.okta.com/docs/guides/refresh-tokens/get-refresh-token/:
		// the authorization code flow returns a refresh token only when
		// the authorization request asked for offline_access.
		s.OP.Token = func(body map[string]any) {
			scope, _ := body["scope"].(string)
			if !slices.Contains(strings.Fields(scope), "offline_access") {
				delete(body, "refresh_token")
			}
		}
	}
	opURL, _ := url.Parse(s.OP.URL)
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(opURL)
		r.Out.URL.Path = routes[r.In.URL.Path]
		r.Out.URL.RawPath = ""
	}}
	s.front.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case s.logoutPath != "" && r.URL.Path == s.logoutPath:
			s.serveLogout(w, r)
		case routes[r.URL.Path] != "":
			proxy.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	})
	return s
}

// Client returns an HTTP client for the Server.
func (s *Server) Client() *http.Client { return s.front.Client() }

// URL returns the origin the Server listens on.
func (s *Server) URL() string { return s.front.URL }

// LogoutURL returns the URL of the logout endpoint, advertised or not.
func (s *Server) LogoutURL() string { return s.front.URL + s.logoutPath }

// AllowPostLogoutRedirect registers one more post-logout redirect URI,
// for an application whose address is known only once it runs.
func (s *Server) AllowPostLogoutRedirect(uri string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.plrURIs = append(s.plrURIs, uri)
}

// Logouts returns the parameters of every request to the logout endpoint,
// oldest first.
func (s *Server) Logouts() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.logouts)
}

// serveLogout answers the logout endpoint with the rules of s's kind (see
// the package documentation). A redirect to post_logout_redirect_uri
// carries state; every refusal is an HTML page with a 400.
func (s *Server) serveLogout(w http.ResponseWriter, r *http.Request) {
	opkit.NoStore(w)
	if err := r.ParseForm(); err != nil {
		page(w, http.StatusBadRequest, "Invalid request")
		return
	}
	q := r.Form
	s.mu.Lock()
	s.logouts = append(s.logouts, q)
	s.mu.Unlock()
	target, hint, clientID := q.Get("post_logout_redirect_uri"), q.Get("id_token_hint"), q.Get("client_id")
	keycloak := s.kind == Keycloak || s.kind == KeycloakLegacy
	switch {
	case keycloak && q.Has("redirect_uri"):
		// Keycloak 18: "The parameter redirect_uri is no longer supported".
		page(w, http.StatusBadRequest, "Invalid parameter: redirect_uri")
		return
	case keycloak && target != "" && hint == "" && clientID == "":
		// "Either the parameter 'client_id' or the parameter
		// 'id_token_hint' is required when 'post_logout_redirect_uri' is
		// used."
		page(w, http.StatusBadRequest, "Missing parameters: id_token_hint")
		return
	case hint != "" && !s.issued(hint):
		page(w, http.StatusBadRequest, "Invalid parameter: id_token_hint")
		return
	case hint != "" && clientID != "" && clientID != audience(hint):
		page(w, http.StatusBadRequest, "Invalid parameter: client_id")
		return
	case target != "" && !s.allowed(target):
		page(w, http.StatusBadRequest, "Invalid redirect uri")
		return
	case hint == "" || target == "":
		// No hint: the user must confirm, and is not sent back.
		page(w, http.StatusOK, "Do you want to log out?")
		return
	}
	if st := q.Get("state"); st != "" {
		target = opkit.AppendQuery(target, url.Values{"state": {st}})
	}
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusFound)
}

// allowed reports whether uri is a registered post-logout redirect URI.
func (s *Server) allowed(uri string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Contains(s.plrURIs, uri)
}

// issued reports whether raw is an ID token the oidctest server issued.
func (s *Server) issued(raw string) bool { return slices.Contains(s.OP.Secrets(), raw) }

// audience returns the single "aud" of a JWT this server issued.
func audience(raw string) string {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Aud any `json:"aud"`
	}
	json.Unmarshal(b, &c)
	switch a := c.Aud.(type) {
	case string:
		return a
	case []any:
		if len(a) == 1 {
			s, _ := a[0].(string)
			return s
		}
	}
	return ""
}

func page(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte("<!doctype html><title>" + html.EscapeString(msg) + "</title><p>" + html.EscapeString(msg) + "</p>"))
}
