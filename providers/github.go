package providers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/portcullis-go/portcullis/session"
	"golang.org/x/oauth2"
)

// GitHubConfig configures sign-in with GitHub (github.com, GitHub
// Enterprise Server or GitHub Enterprise Cloud with data residency), for an
// OAuth app or a GitHub App. Zero values are documented defaults.
type GitHubConfig struct {
	// Name identifies the provider in paths and sessions. Default "github":
	// the redirect URI to register is then BaseURL + "/auth/callback/github".
	Name string
	// DisplayName is shown on the sign-in button. Default "GitHub".
	DisplayName string
	// ClientID and ClientSecret are the app's credentials (OAuth app, or
	// GitHub App). Both required.
	ClientID     string
	ClientSecret string
	// BaseURL is the GitHub web origin. Default "https://github.com"; for
	// GitHub Enterprise Server its origin, such as
	// "https://github.example.com". Logins go to BaseURL/login/oauth/….
	BaseURL string
	// APIURL is the REST API root. Default "https://api.github.com" for
	// github.com and BaseURL + "/api/v3" for anything else (GitHub
	// Enterprise Server). Set it for GitHub Enterprise Cloud with data
	// residency ("https://api.SUBDOMAIN.ghe.com").
	APIURL string
	// Scopes requested (OAuth apps; GitHub Apps ignore scopes and use the
	// app's permissions). Default "read:user user:email", plus "read:org"
	// when Orgs or Teams are set.
	Scopes []string
	// Orgs and Teams restrict sign-in: when either is set, only active
	// members of at least one listed organisation (by login, such as
	// "acme") or team ("org/team-slug", such as "acme/admins") may sign in;
	// anyone else is refused with [ErrNotAllowed]. The user's
	// [session.User.Groups] lists those of them the user belongs to, for
	// per-route policies. Membership is checked once, at sign-in; a
	// membership check that fails (for any answer but "member" or "not a
	// member") fails the login. A GitHub App needs the "Members"
	// organisation permission (read) for these checks.
	Orgs  []string
	Teams []string
	// HTTPClient makes the requests to GitHub. portcullis always copies
	// it to refuse redirects and cap response sizes; its Timeout defaults
	// to 10 s. Default: a client based on http.DefaultTransport.
	HTTPClient *http.Client
}

// GitHub returns a provider for GitHub's web application flow
// (https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps).
// GitHub is plain OAuth 2.0, not OpenID Connect: there is no ID token, so
// logins send state and a PKCE S256 challenge but no nonce, and the user
// comes from the REST API with the login's access token:
//
//   - GET /user: the subject is the numeric account "id" as a decimal
//     string, never the login name (logins can be renamed and then taken
//     by someone else); an absent or zero id fails the login;
//   - GET /user/emails: the email is the entry that is both "primary" and
//     "verified", or none. The public email of /user is never used. When
//     the token may not read emails (403 or 404), the user has no email;
//   - with Orgs or Teams: GET /orgs/{org}/members/{login} (204 member; 302
//     or 404 not a member) and GET /orgs/{org}/teams/{team}/memberships/{login}
//     (200 with state "active"; 404 not a member).
//
// GitHub's token endpoint answers some errors, such as a wrong or spent
// code (bad_verification_code), with HTTP 200 and an "error" member; they
// fail the exchange with an *oauth2.RetrieveError like any other token
// error. The tokens of GitHub Apps that expire come with a refresh token;
// both and the expiry are kept, so the session refreshes them like any
// provider's.
//
// GitHub makes no network request.
func GitHub(cfg GitHubConfig) (*Provider, error) {
	name := cmp.Or(cfg.Name, "github")
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, fmt.Errorf("providers: %s: ClientID and ClientSecret are required", name)
	}
	base := strings.TrimSuffix(cmp.Or(cfg.BaseURL, "https://github.com"), "/")
	if err := checkOrigin("GitHub BaseURL", base); err != nil {
		return nil, err
	}
	api := cfg.APIURL
	if api == "" {
		api = base + "/api/v3"
		if equalFoldASCII(base, "https://github.com") {
			api = "https://api.github.com"
		}
	}
	api = strings.TrimSuffix(api, "/")
	if err := checkEndpoint("GitHub APIURL", api); err != nil {
		return nil, err
	}
	gh := &github{api: api}
	for _, org := range cfg.Orgs {
		if !githubNameRE.MatchString(org) {
			return nil, fmt.Errorf("providers: %s: organisation %q is not a GitHub login", name, org)
		}
		gh.orgs = append(gh.orgs, org)
	}
	for _, team := range cfg.Teams {
		org, slug, ok := strings.Cut(team, "/")
		if !ok || !githubNameRE.MatchString(org) || !githubNameRE.MatchString(slug) {
			return nil, fmt.Errorf("providers: %s: team %q must be \"org/team-slug\"", name, team)
		}
		gh.teams = append(gh.teams, [2]string{org, slug})
	}
	scopes := slices.Clone(cfg.Scopes)
	if len(scopes) == 0 {
		scopes = []string{"read:user", "user:email"}
		if len(gh.orgs)+len(gh.teams) > 0 {
			scopes = append(scopes, "read:org")
		}
	}
	p, err := OAuth2(OAuth2Config{
		Name:         name,
		DisplayName:  cmp.Or(cfg.DisplayName, "GitHub"),
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:  base + "/login/oauth/authorize",
			TokenURL: base + "/login/oauth/access_token",
			// GitHub documents client_id and client_secret as parameters.
			AuthStyle: oauth2.AuthStyleInParams,
		},
		Scopes:     scopes,
		Identify:   gh.identify,
		HTTPClient: cfg.HTTPClient,
	})
	if err != nil {
		return nil, err
	}
	p.brand = brandGitHub
	return p, nil
}

// githubNameRE matches organisation logins and team slugs: they go into
// API paths, so nothing else is accepted.
var githubNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`)

// checkOrigin is checkEndpoint for a URL that must be an origin only.
func checkOrigin(what, raw string) error {
	if err := checkEndpoint(what, raw); err != nil {
		return err
	}
	if u, _ := url.Parse(raw); u.Path != "" || u.RawQuery != "" {
		return fmt.Errorf("providers: %s %q must be an origin (scheme and host only)", what, raw)
	}
	return nil
}

// github reads the signed-in user from GitHub's REST API.
type github struct {
	api   string
	orgs  []string
	teams [][2]string // org, team slug
}

// githubUser is the part of GET /user portcullis reads.
type githubUser struct {
	ID        int64  `json:"id"`
	Login     string `json:"login"`
	Name      string `json:"name"`
	AvatarURL string `json:"avatar_url"`
}

func (g *github) identify(ctx context.Context, c *http.Client, _ *oauth2.Token) (session.User, error) {
	var gu githubUser
	if status, err := g.get(ctx, c, "GET /user", "/user", &gu); err != nil {
		return session.User{}, err
	} else if status != http.StatusOK {
		return session.User{}, fmt.Errorf("github: GET /user answered HTTP %d", status)
	}
	if gu.ID <= 0 || gu.Login == "" {
		return session.User{}, errors.New("github: GET /user without an account id or login")
	}
	u := session.User{
		Subject: strconv.FormatInt(gu.ID, 10),
		Login:   gu.Login,
		Name:    gu.Name,
		Picture: gu.AvatarURL,
	}
	email, err := g.primaryEmail(ctx, c)
	if err != nil {
		return session.User{}, err
	}
	u.Email = email
	if len(g.orgs)+len(g.teams) == 0 {
		return u, nil
	}
	login := url.PathEscape(gu.Login)
	for _, org := range g.orgs {
		status, err := g.get(ctx, c, "organisation membership", "/orgs/"+org+"/members/"+login, nil)
		switch {
		case err != nil:
			return session.User{}, err
		case status == http.StatusNoContent:
			u.Groups = append(u.Groups, org)
		case status == http.StatusFound, status == http.StatusNotFound:
			// 302: the requester (this user) is not a member; 404: not a
			// member. Either way, not this group.
		default:
			return session.User{}, fmt.Errorf("github: organisation membership check answered HTTP %d", status)
		}
	}
	for _, t := range g.teams {
		var m struct {
			State string `json:"state"`
		}
		status, err := g.get(ctx, c, "team membership", "/orgs/"+t[0]+"/teams/"+t[1]+"/memberships/"+login, &m)
		switch {
		case err != nil:
			return session.User{}, err
		case status == http.StatusOK:
			if m.State == "active" { // "pending": invited, not yet a member
				u.Groups = append(u.Groups, t[0]+"/"+t[1])
			}
		case status == http.StatusNotFound:
		default:
			return session.User{}, fmt.Errorf("github: team membership check answered HTTP %d", status)
		}
	}
	if len(u.Groups) == 0 {
		return session.User{}, fmt.Errorf("%w: not a member of a required GitHub organisation or team", ErrNotAllowed)
	}
	return u, nil
}

// primaryEmail returns the address of GET /user/emails that is primary and
// verified, or "" when there is none or the token may not read emails.
func (g *github) primaryEmail(ctx context.Context, c *http.Client) (string, error) {
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	status, err := g.get(ctx, c, "GET /user/emails", "/user/emails?per_page=100", &emails)
	switch {
	case err != nil:
		return "", err
	case status == http.StatusForbidden, status == http.StatusNotFound:
		// No user:email scope, or a GitHub App without the "Email
		// addresses" permission: the user simply has no email here.
		return "", nil
	case status != http.StatusOK:
		return "", fmt.Errorf("github: GET /user/emails answered HTTP %d", status)
	}
	for _, e := range emails {
		if e.Primary && e.Verified && e.Email != "" {
			return e.Email, nil
		}
	}
	return "", nil
}

// get calls the REST API at path with c (which adds the Bearer token) and
// decodes a 200 response into v when v is not nil. It returns the status;
// an error means no usable answer (network, malformed JSON). Errors name
// the call by what, never by its path, which may hold the user's login.
func (g *github) get(ctx context.Context, c *http.Client, what, path string, v any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.api+path, nil)
	if err != nil {
		return 0, fmt.Errorf("github: %s: %w", what, err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("User-Agent", "portcullis")
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			// Keep the error's kind (timeouts stay net.Errors), drop the URL.
			err = &url.Error{Op: ue.Op, URL: g.api, Err: ue.Err}
		}
		return 0, fmt.Errorf("github: %s: %w", what, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			return 0, fmt.Errorf("github: %s: malformed response: %w", what, err)
		}
		return resp.StatusCode, nil
	}
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}
