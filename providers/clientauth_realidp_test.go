package providers

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/realidp"
	"github.com/portcullis-go/portcullis/session"
)

// Client authentication against node-oidc-provider (internal/realidp),
// which .ci/run starts with one client per method.

// realLogin signs in at the real provider with p: it follows the
// redirects from the authorization URL (the provider finishes its
// interaction by itself) to the registered redirect URI, and hands that
// query to Callback.
func realLogin(t *testing.T, idp realidp.Env, p *Provider) (*Identity, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	redirect := "http://" + idp.AppAddr + "/auth/callback/realidp"
	f := Flow{RedirectURL: redirect, Issuer: p.Issuer(), State: randomHex(16), Nonce: randomHex(16), Verifier: randomHex(32)}
	next, err := p.AuthCodeURL(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for range 20 {
		if strings.HasPrefix(next, redirect+"?") {
			u, _ := url.Parse(next)
			return p.Callback(ctx, f, u.Query())
		}
		resp, err := client.Get(next)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil {
			t.Fatalf("GET %s: HTTP %d without Location", next, resp.StatusCode)
		}
		next = loc.String()
	}
	t.Fatal("no redirect to the callback after 20 hops")
	return nil, nil
}

func realClientAuthProvider(t *testing.T, idp realidp.Env, cfg OIDCConfig) *Provider {
	t.Helper()
	cfg.Name, cfg.Issuer = "realidp", idp.Issuer
	p, err := OIDC(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRealIdPClientAuth(t *testing.T) {
	idp := realidp.Need(t)
	if idp.PostClientID == "" || idp.PKJWTClientID == "" {
		t.Fatal("PORTCULLIS_REALIDP_POST_CLIENT_ID or PORTCULLIS_REALIDP_PKJWT_CLIENT_ID is not set (see internal/realidp/README.md)")
	}
	key, err := idp.ClientKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  OIDCConfig
	}{
		{"client_secret_basic", OIDCConfig{ClientID: idp.ClientID, ClientSecret: idp.ClientSecret}},
		{"client_secret_post", OIDCConfig{ClientID: idp.PostClientID, ClientSecret: idp.PostClientSecret, ClientAuth: authSecretPost}},
		{"client_secret_post from a function", OIDCConfig{ClientID: idp.PostClientID, ClientAuth: authSecretPost,
			ClientSecretFunc: func(context.Context) (string, error) { return idp.PostClientSecret, nil }}},
		{"private_key_jwt", OIDCConfig{ClientID: idp.PKJWTClientID, ClientKey: key, SigningAlgs: []string{"RS256"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := realClientAuthProvider(t, idp, tc.cfg)
			id, err := realLogin(t, idp, p)
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			ctx := context.Background()
			toks, err := p.Refresh(ctx, &session.Session{User: id.User, Tokens: id.Tokens})
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			// The introspection answer may lack an audience (refused
			// then as ErrInvalidToken): what counts here is that the
			// endpoint answered, which it does only to an authenticated
			// client.
			if _, err := p.Introspect(ctx, toks.AccessToken, AccessTokenRules{Audience: tc.cfg.ClientID}); err != nil && !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("introspect: %v", err)
			}
			if err := p.Revoke(ctx, toks.RefreshToken, "refresh_token"); err != nil {
				t.Fatalf("revoke: %v", err)
			}
			if _, err := p.Refresh(ctx, &session.Session{User: id.User, Tokens: *toks}); !errors.Is(err, ErrDenied) {
				t.Errorf("refresh with the revoked token: %v, want a denial", err)
			}
		})
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tc := range []struct {
		name string
		cfg  OIDCConfig
	}{
		// node-oidc-provider takes client_secret_basic and
		// client_secret_post for each other, so the wrong method is
		// shown with a key for a client registered with a secret.
		{"basic client with private_key_jwt", OIDCConfig{ClientID: idp.ClientID, ClientKey: other}},
		{"post client with a wrong secret", OIDCConfig{ClientID: idp.PostClientID, ClientSecret: "wrong", ClientAuth: authSecretPost}},
		{"pkjwt client with another key", OIDCConfig{ClientID: idp.PKJWTClientID, ClientKey: other}},
		{"pkjwt client with a secret", OIDCConfig{ClientID: idp.PKJWTClientID, ClientSecret: idp.ClientSecret}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := realClientAuthProvider(t, idp, tc.cfg)
			id, err := realLogin(t, idp, p)
			var pe *Error
			if id != nil || !errors.Is(err, ErrDenied) || !errors.As(err, &pe) || pe.Code != "invalid_client" {
				t.Fatalf("login: %v, %v; want an invalid_client denial", id, err)
			}
		})
	}
}
