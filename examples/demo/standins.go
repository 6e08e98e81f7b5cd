package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-go/portcullis/providers/devoidc"
)

// The demo's providers all run in this process, on one listener, each a
// devoidc server with the same test users: the development provider at
// the listener's root, a stand-in for Google under /google (an OpenID
// provider, as Google is) and a stand-in for GitHub behind the shapes of
// GitHub's OAuth endpoints and REST API that providers.GitHub uses
// (githubStandIn). Their sign-in pages say what they stand in for; none of
// them talks to Google or GitHub.

// opServers are the demo's development providers.
type opServers struct {
	dev, google, github *devoidc.Server
	// userinfo is the URL of each provider's user API, by provider name.
	userinfo map[string]string
}

// accessTokenTTL is the lifetime of the demo's access tokens: short, so
// that a refresh (due a minute before expiry, Config.RefreshBefore) is
// seen within a minute of signing in.
const accessTokenTTL = 90 * time.Second

// testUsers are the users of every stand-in; numeric subjects for GitHub,
// whose accounts have numeric ids. Ada is an administrator of the demo.
func testUsers(numeric bool) []devoidc.User {
	ada, grace := "ada", "grace"
	if numeric {
		ada, grace = "1815", "1906"
	}
	return []devoidc.User{
		{Subject: ada, Name: "Ada Lovelace", Email: "ada@example.com", EmailVerified: true, PreferredUsername: "ada", Groups: []string{"admins", "engineering"}},
		{Subject: grace, Name: "Grace Hopper", Email: "grace@example.com", EmailVerified: true, PreferredUsername: "grace", Groups: []string{"engineering"}},
	}
}

// startProviders makes the three development providers for the
// application at appURL and returns them with the handler that serves
// them all at opURL.
func startProviders(appURL, opURL string, logger *slog.Logger) (*opServers, http.Handler, error) {
	newOP := func(name, path, provider string, numeric bool, backchannel bool) (*devoidc.Server, error) {
		c := devoidc.Client{
			ID:                     "demo",
			Secret:                 "demo-secret",
			RedirectURIs:           []string{appURL + "/auth/callback/" + provider},
			PostLogoutRedirectURIs: []string{appURL + "/auth/logout/callback"},
		}
		if backchannel {
			// Signing out at the provider signs out of the app too.
			c.BackchannelLogoutURI = appURL + "/auth/backchannel-logout/" + provider
		}
		if provider == "github" {
			c.RedirectURIs = []string{opURL + githubRelayPath}
		}
		return devoidc.New(devoidc.Config{
			Issuer:         opURL + path,
			Name:           name,
			Clients:        []devoidc.Client{c},
			Users:          testUsers(numeric),
			AccessTokenTTL: accessTokenTTL,
			// Access tokens are JWTs for the demo's API.
			AccessTokenAudience: apiAudience,
			Logger:              logger,
		})
	}
	var ops opServers
	var err error
	if ops.dev, err = newOP("", "", "devoidc", false, true); err != nil {
		return nil, nil, err
	}
	if ops.google, err = newOP("Stand-in for Google", "/google", "google", false, true); err != nil {
		return nil, nil, err
	}
	if ops.github, err = newOP("Stand-in for GitHub", "/github", "github", true, false); err != nil {
		return nil, nil, err
	}
	gh := &githubStandIn{op: ops.github, issuerPath: "/github", relay: opURL + githubRelayPath, callback: appURL + "/auth/callback/github"}
	ops.userinfo = map[string]string{
		"devoidc": opURL + "/userinfo",
		"google":  opURL + "/google/userinfo",
		"github":  opURL + githubAPIPath + "/user",
	}
	mux := http.NewServeMux()
	mux.Handle("/google/", ops.google)
	mux.Handle("/github/", ops.github)
	mux.Handle("/login/oauth/", gh)
	mux.Handle(githubAPIPath+"/", gh)
	mux.Handle("/", ops.dev)
	return &ops, mux, nil
}

// endSessions ends the user's sessions at the provider that signed them
// in, for "Sign out everywhere": without it, the provider's own session
// would sign the browser straight back in at the next sign-in.
func (o *opServers) endSessions(provider, subject string) {
	switch provider {
	case "devoidc":
		o.dev.EndSessions(subject)
	case "google":
		o.google.EndSessions(subject)
	case "github":
		o.github.EndSessions(subject)
	}
}

// Where the GitHub stand-in answers: GitHub's own paths for the OAuth
// endpoints (providers.GitHub derives them from its BaseURL, an origin),
// and its REST API under githubAPIPath (GitHubConfig.APIURL).
const (
	githubRelayPath = "/login/oauth/relay"
	githubAPIPath   = "/github-api"
)

// githubStandIn answers the requests providers.GitHub makes, in GitHub's
// documented shapes (https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps,
// https://docs.github.com/en/rest/users/users#get-the-authenticated-user,
// https://docs.github.com/en/rest/users/emails#list-email-addresses-for-the-authenticated-user),
// from a devoidc server: the authorization request goes to devoidc's
// sign-in page, whose answer comes back through a relay that drops the
// "iss" parameter (GitHub sends none, so a plain OAuth 2.0 client must not
// receive one); the token request is devoidc's; GET /user and GET
// /user/emails are devoidc's userinfo, reshaped.
type githubStandIn struct {
	op         *devoidc.Server
	issuerPath string // the devoidc server's path on the listener
	relay      string // devoidc's redirect URI: the relay
	callback   string // the application's redirect URI
}

func (g *githubStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/login/oauth/authorize":
		q := r.URL.Query()
		if q.Get("redirect_uri") != g.callback {
			http.Error(w, "unknown redirect_uri", http.StatusBadRequest)
			return
		}
		q.Set("redirect_uri", g.relay)
		q.Set("scope", "openid profile email")
		http.Redirect(w, r, g.issuerPath+"/authorize?"+q.Encode(), http.StatusFound)
	case r.Method == http.MethodGet && r.URL.Path == githubRelayPath:
		q := r.URL.Query()
		q.Del("iss")
		http.Redirect(w, r, g.callback+"?"+q.Encode(), http.StatusFound)
	case r.Method == http.MethodPost && r.URL.Path == "/login/oauth/access_token":
		g.token(w, r)
	case r.Method == http.MethodGet && r.URL.Path == githubAPIPath+"/user":
		g.user(w, r, false)
	case r.Method == http.MethodGet && r.URL.Path == githubAPIPath+"/user/emails":
		g.user(w, r, true)
	default:
		http.NotFound(w, r)
	}
}

// token redeems the code at devoidc, with the redirect URI devoidc saw,
// and answers without the ID token, as GitHub does.
func (g *githubStandIn) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	form := r.PostForm
	if form.Get("redirect_uri") == g.callback {
		form.Set("redirect_uri", g.relay)
	}
	req := httptest.NewRequestWithContext(r.Context(), http.MethodPost, g.issuerPath+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if auth := r.Header.Get("Authorization"); auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	g.op.ServeHTTP(rec, req)
	var body map[string]any
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &body) != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		return
	}
	delete(body, "id_token")
	body["scope"] = "read:user,user:email"
	writeJSON(w, body)
}

// user answers GET /user, or GET /user/emails, from devoidc's userinfo
// for the caller's token.
func (g *githubStandIn) user(w http.ResponseWriter, r *http.Request, emails bool) {
	req := httptest.NewRequestWithContext(r.Context(), http.MethodGet, g.issuerPath+"/userinfo", nil)
	req.Header.Set("Authorization", r.Header.Get("Authorization"))
	rec := httptest.NewRecorder()
	g.op.ServeHTTP(rec, req)
	var c struct {
		Sub           string `json:"sub"`
		Name          string `json:"name"`
		Login         string `json:"preferred_username"`
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &c) != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"message":"Bad credentials"}`)
		return
	}
	id, _ := strconv.ParseInt(c.Sub, 10, 64)
	if emails {
		writeJSON(w, []map[string]any{{"email": c.Email, "primary": true, "verified": c.EmailVerified, "visibility": "private"}})
		return
	}
	writeJSON(w, map[string]any{"id": id, "login": c.Login, "name": c.Name})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
