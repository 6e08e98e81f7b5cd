package providers

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis-go/portcullis/session"
	"golang.org/x/oauth2"
)

// errAuthorization is what loginWith returns when the provider answered
// the authorization request with an error; the callback query is kept.
type errAuthorization struct{ q url.Values }

func (e *errAuthorization) Error() string { return "authorization response: error=" + e.q.Get("error") }

// loginWith runs one login against a provider the way the middleware does:
// a fresh flow, the authorization request through c (whose redirects are
// not followed), the code from the redirect, the exchange. It returns the
// identity and the authorization request's query.
func loginWith(t *testing.T, p *Provider, c *http.Client, redirectURL, prompt string) (*Identity, url.Values, error) {
	t.Helper()
	f := Flow{RedirectURL: redirectURL, State: randomString(), Nonce: randomString(), Verifier: oauth2.GenerateVerifier(), Prompt: prompt}
	authz, err := url.Parse(authCodeURL(t, p, f))
	if err != nil {
		t.Fatal(err)
	}
	nc := *c
	nc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := nc.Get(authz.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorization endpoint answered %d, want a redirect", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(loc.String(), redirectURL+"?") {
		t.Fatalf("redirected to %s, want %s", loc, redirectURL)
	}
	q := loc.Query()
	if q.Get("state") != f.State {
		t.Fatalf("state %q came back as %q", f.State, q.Get("state"))
	}
	if q.Has("error") {
		return nil, authz.Query(), &errAuthorization{q}
	}
	id, err := p.exchange(context.Background(), known(t, p), f, q.Get("code"))
	return id, authz.Query(), err
}

func randomString() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// oauth2Server is a minimal OAuth 2.0 server for the generic provider: it
// checks client authentication the way style says, PKCE presence and the
// Bearer token at /me.
type oauth2Server struct {
	*httptest.Server
	mu      sync.Mutex
	token   []url.Values // token request forms
	basic   []bool       // whether each token request used HTTP Basic
	meAuthz []string     // Authorization headers at /me
}

func newOAuth2Server(t *testing.T) *oauth2Server {
	s := &oauth2Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/authorize":
			q := r.URL.Query()
			http.Redirect(w, r, q.Get("redirect_uri")+"?code=c0de&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
		case "/token":
			r.ParseForm()
			_, _, basic := r.BasicAuth()
			s.mu.Lock()
			s.token = append(s.token, r.PostForm)
			s.basic = append(s.basic, basic)
			s.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"access_token":"at-1","token_type":"bearer","expires_in":7200,"refresh_token":"rt-1"}`))
		case "/me":
			s.mu.Lock()
			s.meAuthz = append(s.meAuthz, r.Header.Get("Authorization"))
			s.mu.Unlock()
			w.Write([]byte(`{"id":"u-42","username":"grace","name":"Grace Hopper"}`))
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// identifyMe is an Identify function in the few lines a user would write.
func identifyMe(base string) func(context.Context, *http.Client, *oauth2.Token) (session.User, error) {
	return func(ctx context.Context, c *http.Client, _ *oauth2.Token) (session.User, error) {
		resp, err := c.Get(base + "/me")
		if err != nil {
			return session.User{}, err
		}
		defer resp.Body.Close()
		var me struct{ ID, Username, Name string }
		if err := json.NewDecoder(resp.Body).Decode(&me); err != nil {
			return session.User{}, err
		}
		return session.User{Subject: me.ID, Login: me.Username, Name: me.Name, Provider: "spoofed", Issuer: "spoofed"}, nil
	}
}

func TestOAuth2RefusesBadConfig(t *testing.T) {
	valid := func() OAuth2Config {
		return OAuth2Config{
			Name: "lab", ClientID: "id",
			Endpoint: oauth2.Endpoint{AuthURL: "https://lab.example/oauth/authorize", TokenURL: "https://lab.example/oauth/token"},
			Identify: identifyMe("https://lab.example"),
		}
	}
	if _, err := OAuth2(valid()); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	for name, edit := range map[string]func(c *OAuth2Config){
		"no name":              func(c *OAuth2Config) { c.Name = "" },
		"name with slash":      func(c *OAuth2Config) { c.Name = "a/b" },
		"no client ID":         func(c *OAuth2Config) { c.ClientID = "" },
		"no Identify":          func(c *OAuth2Config) { c.Identify = nil },
		"no auth URL":          func(c *OAuth2Config) { c.Endpoint.AuthURL = "" },
		"relative token URL":   func(c *OAuth2Config) { c.Endpoint.TokenURL = "/oauth/token" },
		"http auth URL":        func(c *OAuth2Config) { c.Endpoint.AuthURL = "http://lab.example/oauth/authorize" },
		"http token URL":       func(c *OAuth2Config) { c.Endpoint.TokenURL = "http://lab.example/oauth/token" },
		"token URL with user":  func(c *OAuth2Config) { c.Endpoint.TokenURL = "https://u:p@lab.example/oauth/token" },
		"javascript auth URL":  func(c *OAuth2Config) { c.Endpoint.AuthURL = "javascript:alert(1)" },
		"unknown auth style":   func(c *OAuth2Config) { c.Endpoint.AuthStyle = 7 },
		"token URL ftp scheme": func(c *OAuth2Config) { c.Endpoint.TokenURL = "ftp://lab.example/token" },
	} {
		t.Run(name, func(t *testing.T) {
			c := valid()
			edit(&c)
			if p, err := OAuth2(c); err == nil || p != nil {
				t.Fatalf("OAuth2 accepted it (err %v)", err)
			}
		})
	}
}

func TestOAuth2Login(t *testing.T) {
	for _, tc := range []struct {
		name      string
		style     oauth2.AuthStyle
		wantBasic bool
	}{
		{"default style is HTTP Basic", oauth2.AuthStyleAutoDetect, true},
		{"secret in the body when asked", oauth2.AuthStyleInParams, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newOAuth2Server(t)
			p, err := OAuth2(OAuth2Config{
				Name: "lab", ClientID: "id", ClientSecret: "secret",
				Endpoint: oauth2.Endpoint{AuthURL: srv.URL + "/authorize", TokenURL: srv.URL + "/token", AuthStyle: tc.style},
				Scopes:   []string{"read_user"},
				Identify: identifyMe(srv.URL),
			})
			if err != nil {
				t.Fatal(err)
			}
			id, authq, err := loginWith(t, p, srv.Client(), "https://app.example/auth/callback/lab", "")
			if err != nil {
				t.Fatal(err)
			}
			if authq.Has("nonce") || authq.Get("code_challenge_method") != "S256" || len(authq.Get("code_challenge")) != 43 || authq.Get("scope") != "read_user" || authq.Get("response_type") != "code" {
				t.Errorf("authorization request %v: want S256 PKCE, no nonce, scope read_user", authq)
			}
			u := id.User
			if u.Provider != "lab" || u.Issuer != "" || u.Subject != "u-42" || u.Login != "grace" || u.Name != "Grace Hopper" {
				t.Errorf("user %+v: Provider and Issuer must be set by portcullis, the rest by Identify", u)
			}
			if id.Tokens.AccessToken != "at-1" || id.Tokens.RefreshToken != "rt-1" || id.Tokens.Expiry.IsZero() || id.Tokens.IDToken != "" {
				t.Errorf("tokens %+v", id.Tokens)
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if len(srv.token) != 1 || srv.token[0].Get("code_verifier") == "" || srv.token[0].Get("code") != "c0de" {
				t.Fatalf("token requests %v", srv.token)
			}
			inBody := srv.token[0].Has("client_secret")
			if srv.basic[0] != tc.wantBasic || inBody == tc.wantBasic {
				t.Errorf("client authentication: Basic %v, secret in body %v; want Basic %v and never both", srv.basic[0], inBody, tc.wantBasic)
			}
			if len(srv.meAuthz) != 1 || srv.meAuthz[0] != "Bearer at-1" {
				t.Errorf("Identify's client sent Authorization %q", srv.meAuthz)
			}
		})
	}
}

func TestOAuth2IdentifyResults(t *testing.T) {
	srv := newOAuth2Server(t)
	errBoom := errors.New("boom")
	for _, tc := range []struct {
		name    string
		user    session.User
		err     error
		wantErr error // nil: success
	}{
		{"subject kept", session.User{Subject: "42"}, nil, nil},
		{"empty subject refused", session.User{Login: "grace"}, nil, errAny},
		{"long subject refused", session.User{Subject: strings.Repeat("9", 256)}, nil, errAny},
		{"refusal passes through", session.User{}, ErrNotAllowed, ErrNotAllowed},
		{"other errors fail the login", session.User{}, errBoom, errBoom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := OAuth2(OAuth2Config{
				Name: "lab", ClientID: "id",
				Endpoint: oauth2.Endpoint{AuthURL: srv.URL + "/authorize", TokenURL: srv.URL + "/token"},
				Identify: func(context.Context, *http.Client, *oauth2.Token) (session.User, error) { return tc.user, tc.err },
			})
			if err != nil {
				t.Fatal(err)
			}
			id, _, err := loginWith(t, p, srv.Client(), "https://app.example/auth/callback/lab", "")
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("login failed: %v", err)
			case tc.wantErr == nil && id.User.Subject != tc.user.Subject:
				t.Fatalf("subject %q", id.User.Subject)
			case tc.wantErr == errAny && err == nil, tc.wantErr != nil && tc.wantErr != errAny && !errors.Is(err, tc.wantErr):
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil && id != nil {
				t.Fatal("an identity came with an error")
			}
		})
	}
}

// errAny stands for "some error" in tables.
var errAny = errors.New("any error")

func TestBrand(t *testing.T) {
	srv := newOAuth2Server(t)
	p, err := OAuth2(OAuth2Config{Name: "lab", ClientID: "id", Identify: identifyMe(srv.URL),
		Endpoint: oauth2.Endpoint{AuthURL: srv.URL + "/a", TokenURL: srv.URL + "/t"}})
	if err != nil {
		t.Fatal(err)
	}
	gh, err := GitHub(GitHubConfig{ClientID: "id", ClientSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Brand() != "" || gh.Brand() != "github" || p.DisplayName() != "lab" || gh.DisplayName() != "GitHub" || gh.Name() != "github" {
		t.Errorf("brands %q %q, names %q %q %q", p.Brand(), gh.Brand(), p.DisplayName(), gh.DisplayName(), gh.Name())
	}
}

// TestOAuth2RefreshIgnoresIDToken: a plain OAuth 2.0 provider cannot
// verify an ID token, so one in a refresh response never reaches the
// session.
func TestOAuth2RefreshIgnoresIDToken(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"at2","token_type":"bearer","expires_in":3600,"refresh_token":"rt2","id_token":"eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9."}`)
	}))
	defer ts.Close()
	p, err := OAuth2(OAuth2Config{
		Name: "plain", ClientID: "c", ClientSecret: "s",
		Endpoint: oauth2.Endpoint{AuthURL: ts.URL + "/authorize", TokenURL: ts.URL + "/token"},
		Identify: func(ctx context.Context, c *http.Client, tok *oauth2.Token) (session.User, error) {
			return session.User{Subject: "1"}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Refresh(context.Background(), &session.Session{Tokens: session.Tokens{RefreshToken: "rt1"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.IDToken != "" || got.AccessToken != "at2" || got.RefreshToken != "rt2" {
		t.Fatalf("refreshed tokens %+v", got)
	}
}
