package providers

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/fakegithub"
	"github.com/portcullis-go/portcullis/session"
	"golang.org/x/oauth2"
)

const githubRedirect = "https://app.example/auth/callback/github"

// githubFake starts a fake with cfg (the redirect URI filled in) and a
// provider for it made from gc (credentials, BaseURL and HTTPClient filled
// in; the fake is a GitHub Enterprise Server unless cfg.GitHubURLs).
func githubFake(t *testing.T, cfg fakegithub.Config, gc GitHubConfig) (*fakegithub.Server, *Provider) {
	t.Helper()
	cfg.RedirectURIs = []string{githubRedirect}
	fake := fakegithub.New(cfg)
	t.Cleanup(fake.Close)
	gc.ClientID, gc.ClientSecret = fakegithub.ClientID, fakegithub.ClientSecret
	if !cfg.GitHubURLs {
		gc.BaseURL = fake.URL
	}
	gc.HTTPClient = fake.Client()
	p, err := GitHub(gc)
	if err != nil {
		t.Fatal(err)
	}
	return fake, p
}

func TestGitHubRefusesBadConfig(t *testing.T) {
	ok := GitHubConfig{ClientID: "id", ClientSecret: "s"}
	for name, edit := range map[string]func(c *GitHubConfig){
		"no client ID":            func(c *GitHubConfig) { c.ClientID = "" },
		"no client secret":        func(c *GitHubConfig) { c.ClientSecret = "" },
		"bad name":                func(c *GitHubConfig) { c.Name = "Git Hub" },
		"base URL with a path":    func(c *GitHubConfig) { c.BaseURL = "https://github.example.com/login" },
		"base URL with a query":   func(c *GitHubConfig) { c.BaseURL = "https://github.example.com?x=1" },
		"plain http base URL":     func(c *GitHubConfig) { c.BaseURL = "http://github.example.com" },
		"relative base URL":       func(c *GitHubConfig) { c.BaseURL = "github.example.com" },
		"plain http API URL":      func(c *GitHubConfig) { c.APIURL = "http://api.github.example.com" },
		"org with a slash":        func(c *GitHubConfig) { c.Orgs = []string{"acme/admins"} },
		"empty org":               func(c *GitHubConfig) { c.Orgs = []string{""} },
		"org with a dot-dot path": func(c *GitHubConfig) { c.Orgs = []string{"../users"} },
		"team without org":        func(c *GitHubConfig) { c.Teams = []string{"admins"} },
		"team without slug":       func(c *GitHubConfig) { c.Teams = []string{"acme/"} },
		"team with three parts":   func(c *GitHubConfig) { c.Teams = []string{"acme/a/b"} },
		"team with a query":       func(c *GitHubConfig) { c.Teams = []string{"acme/a?b"} },
	} {
		t.Run(name, func(t *testing.T) {
			c := ok
			edit(&c)
			if p, err := GitHub(c); err == nil || p != nil {
				t.Fatalf("GitHub accepted it (err %v)", err)
			}
		})
	}
}

func TestGitHubEndpoints(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cfg       GitHubConfig
		authorize string
		scope     string
	}{
		{"github.com", GitHubConfig{}, "https://github.com/login/oauth/authorize?", "read:user user:email"},
		{"enterprise server", GitHubConfig{BaseURL: "https://github.example.com/"}, "https://github.example.com/login/oauth/authorize?", "read:user user:email"},
		{"orgs need read:org", GitHubConfig{Orgs: []string{"acme"}}, "https://github.com/login/oauth/authorize?", "read:user user:email read:org"},
		{"teams need read:org", GitHubConfig{Teams: []string{"acme/admins"}}, "https://github.com/login/oauth/authorize?", "read:user user:email read:org"},
		{"own scopes", GitHubConfig{Scopes: []string{"read:user"}, Orgs: []string{"acme"}}, "https://github.com/login/oauth/authorize?", "read:user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.ClientID, tc.cfg.ClientSecret = "id", "secret"
			p, err := GitHub(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			u := authCodeURL(t, p, Flow{RedirectURL: githubRedirect, State: "st", Nonce: "must-not-be-sent", Verifier: oauth2.GenerateVerifier()})
			if !strings.HasPrefix(u, tc.authorize) || strings.Contains(u, "nonce") || strings.Contains(u, "secret") ||
				!strings.Contains(u, "code_challenge_method=S256") || !strings.Contains(u, "scope="+strings.ReplaceAll(strings.ReplaceAll(tc.scope, ":", "%3A"), " ", "+")) {
				t.Errorf("authorization URL %s", u)
			}
			if p.Issuer() != "" || known(t, p).issParamRequired {
				t.Error("GitHub has no issuer")
			}
		})
	}
}

func TestGitHubLogin(t *testing.T) {
	octo := func(emails ...fakegithub.Email) fakegithub.User {
		return fakegithub.User{ID: 583231, Login: "octocat", Name: "The Octocat", AvatarURL: "https://avatars.example/u/583231", Emails: emails}
	}
	primary := fakegithub.Email{Email: "octocat@github.com", Primary: true, Verified: true, Visibility: "private"}
	acme := map[string]bool{"acme": true, "other": false}
	for _, tc := range []struct {
		name       string
		fake       fakegithub.Config
		cfg        GitHubConfig
		wantErr    error // nil: success; errAny: some error
		wantEmail  string
		wantGroups []string
	}{
		{name: "no public email, primary verified", fake: fakegithub.Config{User: octo(primary)}, wantEmail: "octocat@github.com"},
		{name: "public email is never used", fake: fakegithub.Config{User: fakegithub.User{ID: 1, Login: "a", PublicEmail: "public@example.com",
			Emails: []fakegithub.Email{{Email: "public@example.com", Primary: true}}}}},
		{name: "verified but not primary", fake: fakegithub.Config{User: octo(
			fakegithub.Email{Email: "p@example.com", Primary: true},
			fakegithub.Email{Email: "v@example.com", Verified: true})}},
		{name: "primary entry later in the list", fake: fakegithub.Config{User: octo(
			fakegithub.Email{Email: "v@example.com", Verified: true},
			fakegithub.Email{Email: "p@example.com", Primary: true, Verified: true})}, wantEmail: "p@example.com"},
		{name: "no emails", fake: fakegithub.Config{User: octo()}},
		{name: "no user:email scope", fake: fakegithub.Config{User: octo(primary)}, cfg: GitHubConfig{Scopes: []string{"read:user"}}},
		{name: "GitHub App without email permission", fake: fakegithub.Config{User: octo(primary), ExpiringTokens: true, EmailsForbidden: true}},
		{name: "zero id", fake: fakegithub.Config{RawUser: `{"login":"ghost","id":0}`}, wantErr: errAny},
		{name: "missing id", fake: fakegithub.Config{RawUser: `{"login":"ghost"}`}, wantErr: errAny},
		{name: "id as a string", fake: fakegithub.Config{RawUser: `{"login":"ghost","id":"583231"}`}, wantErr: errAny},
		{name: "negative id", fake: fakegithub.Config{RawUser: `{"login":"ghost","id":-5}`}, wantErr: errAny},
		{name: "fractional id", fake: fakegithub.Config{RawUser: `{"login":"ghost","id":1.5}`}, wantErr: errAny},
		{name: "no login", fake: fakegithub.Config{RawUser: `{"id":7}`}, wantErr: errAny},
		{name: "garbage user", fake: fakegithub.Config{RawUser: `<html>`}, wantErr: errAny},
		{name: "user API fails", fake: fakegithub.Config{Fail: map[string]int{"/user": 502}}, wantErr: errAny},
		{name: "emails API fails", fake: fakegithub.Config{Fail: map[string]int{"/user/emails": 500}}, wantErr: errAny},
		{name: "org member", fake: fakegithub.Config{User: octo(primary), Orgs: acme}, cfg: GitHubConfig{Orgs: []string{"acme"}},
			wantEmail: "octocat@github.com", wantGroups: []string{"acme"}},
		{name: "org non-member (302)", fake: fakegithub.Config{User: octo(primary), Orgs: acme}, cfg: GitHubConfig{Orgs: []string{"other"}}, wantErr: ErrNotAllowed},
		{name: "unknown org (404)", fake: fakegithub.Config{User: octo(primary), Orgs: acme}, cfg: GitHubConfig{Orgs: []string{"ghost-org"}}, wantErr: ErrNotAllowed},
		{name: "org membership invisible without read:org", fake: fakegithub.Config{User: octo(primary), Orgs: acme},
			cfg: GitHubConfig{Orgs: []string{"acme"}, Scopes: []string{"read:user", "user:email"}}, wantErr: ErrNotAllowed},
		{name: "org check fails closed", fake: fakegithub.Config{User: octo(primary), Orgs: acme, Fail: map[string]int{"/orgs/acme/members/octocat": 500}},
			cfg: GitHubConfig{Orgs: []string{"acme"}}, wantErr: errAny},
		{name: "org check forbidden fails closed", fake: fakegithub.Config{User: octo(primary), Orgs: acme, Fail: map[string]int{"/orgs/acme/members/octocat": 403}},
			cfg: GitHubConfig{Orgs: []string{"acme"}}, wantErr: errAny},
		{name: "one of two orgs", fake: fakegithub.Config{User: octo(primary), Orgs: acme}, cfg: GitHubConfig{Orgs: []string{"other", "acme"}},
			wantEmail: "octocat@github.com", wantGroups: []string{"acme"}},
		{name: "active team member", fake: fakegithub.Config{User: octo(primary), Teams: map[string]string{"acme/admins": "active"}},
			cfg: GitHubConfig{Teams: []string{"acme/admins"}}, wantEmail: "octocat@github.com", wantGroups: []string{"acme/admins"}},
		{name: "pending team member", fake: fakegithub.Config{User: octo(primary), Teams: map[string]string{"acme/admins": "pending"}},
			cfg: GitHubConfig{Teams: []string{"acme/admins"}}, wantErr: ErrNotAllowed},
		{name: "not in the team", fake: fakegithub.Config{User: octo(primary), Teams: map[string]string{"acme/devs": "active"}},
			cfg: GitHubConfig{Teams: []string{"acme/admins"}}, wantErr: ErrNotAllowed},
		{name: "team check fails closed", fake: fakegithub.Config{User: octo(primary), Teams: map[string]string{"acme/admins": "active"},
			Fail: map[string]int{"/orgs/acme/teams/admins/memberships/octocat": 503}}, cfg: GitHubConfig{Teams: []string{"acme/admins"}}, wantErr: errAny},
		{name: "org and team", fake: fakegithub.Config{User: octo(primary), Orgs: acme, Teams: map[string]string{"acme/admins": "active"}},
			cfg: GitHubConfig{Orgs: []string{"acme"}, Teams: []string{"acme/admins", "acme/devs"}}, wantEmail: "octocat@github.com", wantGroups: []string{"acme", "acme/admins"}},
		{name: "wrong or spent code, HTTP 200", fake: fakegithub.Config{TokenError: "bad_verification_code"}, wantErr: errAny},
		{name: "wrong client secret, HTTP 200", fake: fakegithub.Config{TokenError: "incorrect_client_credentials"}, wantErr: errAny},
		{name: "token endpoint down", fake: fakegithub.Config{Fail: map[string]int{fakegithub.PathToken: 503}}, wantErr: errAny},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, p := githubFake(t, tc.fake, tc.cfg)
			id, _, err := loginWith(t, p, fake.Client(), githubRedirect, "")
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("login failed: %v", err)
			case tc.wantErr == errAny && err == nil, tc.wantErr != nil && tc.wantErr != errAny && !errors.Is(err, tc.wantErr):
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			case tc.wantErr != ErrNotAllowed && errors.Is(err, ErrNotAllowed):
				t.Fatalf("a failure became a refusal: %v", err)
			}
			if strings.Contains(tc.name, "HTTP 200") {
				var pe *Error
				if !errors.As(err, &pe) || pe.Code != tc.fake.TokenError || pe.Status != http.StatusOK || !errors.Is(err, ErrDenied) {
					t.Errorf("err = %v, want a denial %s with HTTP 200", err, tc.fake.TokenError)
				}
			}
			if err != nil {
				if len(fake.Requests("/user")) > 0 && strings.Contains(tc.name, "HTTP 200") {
					t.Error("the API was called after a token error")
				}
				return
			}
			u := id.User
			if u.Provider != "github" || u.Issuer != "" || u.Subject == "" || u.Login == "" || u.Email != tc.wantEmail || !slices.Equal(u.Groups, tc.wantGroups) {
				t.Errorf("user %+v, want email %q groups %v", u, tc.wantEmail, tc.wantGroups)
			}
			if tc.fake.RawUser == "" && (u.Subject != "583231" && u.Subject != "1") {
				t.Errorf("subject %q is not the numeric id", u.Subject)
			}
			// Every API call carried the token as Bearer and GitHub's headers.
			for _, path := range []string{"/user", "/user/emails"} {
				for _, r := range fake.Requests(path) {
					if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer gh") || r.Header.Get("Accept") != "application/vnd.github+json" ||
						r.Header.Get("X-GitHub-Api-Version") == "" || r.Header.Get("User-Agent") != "portcullis" || !r.API {
						t.Errorf("%s request headers %v", path, r.Header)
					}
				}
			}
			tr := fake.Requests(fakegithub.PathToken)
			if len(tr) != 1 || tr[0].Form.Get("client_secret") != fakegithub.ClientSecret || tr[0].Form.Get("code_verifier") == "" || tr[0].Header.Get("Authorization") != "" {
				t.Errorf("token requests %+v", tr)
			}
		})
	}
}

func TestGitHubUserDenies(t *testing.T) {
	fake, p := githubFake(t, fakegithub.Config{Deny: true}, GitHubConfig{})
	_, _, err := loginWith(t, p, fake.Client(), githubRedirect, "")
	var ae *errAuthorization
	if !errors.As(err, &ae) || ae.q.Get("error") != "access_denied" || ae.q.Has("code") {
		t.Fatalf("err = %v", err)
	}
	if n := len(fake.Requests(fakegithub.PathToken)); n != 0 {
		t.Fatalf("%d token requests after a denial", n)
	}
}

// TestGitHubComURLs runs against github.com and api.github.com (served by
// the fake): the API is at the root of api.github.com, not under /api/v3.
func TestGitHubComURLs(t *testing.T) {
	fake, p := githubFake(t, fakegithub.Config{GitHubURLs: true}, GitHubConfig{})
	id, _, err := loginWith(t, p, fake.Client(), githubRedirect, "")
	if err != nil {
		t.Fatal(err)
	}
	if id.User.Subject != "583231" || id.User.Email != "octocat@github.com" {
		t.Errorf("user %+v", id.User)
	}
	if tr := fake.Requests(fakegithub.PathToken); len(tr) != 1 || tr[0].Host != "github.com" {
		t.Errorf("token requests %+v", tr)
	}
	if ur := fake.Requests("/user"); len(ur) != 1 || ur[0].Host != "api.github.com" || !ur[0].API {
		t.Errorf("user requests %+v", ur)
	}
}

// TestGitHubAppTokens: expiring user tokens of a GitHub App keep their
// refresh token and expiry, and refresh like any provider's, with the
// refresh token rotating.
func TestGitHubAppTokens(t *testing.T) {
	fake, p := githubFake(t, fakegithub.Config{ExpiringTokens: true}, GitHubConfig{})
	id, _, err := loginWith(t, p, fake.Client(), githubRedirect, "")
	if err != nil {
		t.Fatal(err)
	}
	tok := id.Tokens
	if !strings.HasPrefix(tok.AccessToken, "ghu_") || !strings.HasPrefix(tok.RefreshToken, "ghr_") ||
		time.Until(tok.Expiry) < 7*time.Hour || time.Until(tok.Expiry) > 9*time.Hour {
		t.Fatalf("tokens %+v: want ghu_/ghr_ expiring in 8 h", tok)
	}
	s := &session.Session{User: id.User, Tokens: tok}
	next, err := p.Refresh(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if next.AccessToken == tok.AccessToken || next.RefreshToken == tok.RefreshToken || !strings.HasPrefix(next.RefreshToken, "ghr_") || next.Expiry.IsZero() {
		t.Fatalf("refreshed tokens %+v", next)
	}
	rr := fake.Requests(fakegithub.PathToken)
	if last := rr[len(rr)-1].Form; last.Get("grant_type") != "refresh_token" || last.Get("client_secret") != fakegithub.ClientSecret {
		t.Errorf("refresh request %v", last)
	}
	// The spent refresh token is refused (HTTP 200 with bad_refresh_token).
	if _, err := p.Refresh(context.Background(), s); err == nil {
		t.Fatal("a rotated-out refresh token was accepted")
	}
	s.Tokens = *next
	if _, err := p.Refresh(context.Background(), s); err != nil {
		t.Fatalf("the rotated refresh token: %v", err)
	}
}
