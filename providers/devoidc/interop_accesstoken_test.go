package devoidc_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/portcullis-go/portcullis/providers/devoidc"
)

// These tests take devoidc's access tokens the way an API does: a JWT
// access token verified by go-jose against the JWKS, a token obtained with
// x/oauth2's clientcredentials package, and the introspection endpoint.

const apiAudience = "https://api.example.com"

// verifyAccessJWT verifies a JWT access token with go-jose against the
// provider's JWKS, as a resource server would (RFC 9068 §4), and returns
// its claims.
func (r *rp) verifyAccessJWT(t *testing.T, token string) map[string]any {
	t.Helper()
	var meta struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := r.provider.Claims(&meta); err != nil {
		t.Fatal(err)
	}
	resp, err := r.browser.Get(meta.JWKSURI)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("jwt.ParseSigned: %v", err)
	}
	h := parsed.Headers[0]
	if h.ExtraHeaders[jose.HeaderType] != "at+jwt" {
		t.Errorf("typ = %v, want at+jwt", h.ExtraHeaders[jose.HeaderType])
	}
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q is in the JWKS %d times", h.KeyID, len(keys))
	}
	var std jwt.Claims
	var all map[string]any
	if err := parsed.Claims(keys[0].Key, &std, &all); err != nil {
		t.Fatalf("Claims: %v", err)
	}
	if err := std.Validate(jwt.Expected{Issuer: r.op.Issuer(), AnyAudience: jwt.Audience{apiAudience}, Time: time.Now()}); err != nil {
		t.Errorf("Validate: %v", err)
	}
	return all
}

// TestGoJoseJWTAccessToken checks that the access token of the code flow,
// with AccessTokenAudience set, verifies with go-jose and carries the
// claims of RFC 9068 §2.2, and that go-oidc's UserInfo still takes it.
func TestGoJoseJWTAccessToken(t *testing.T) {
	r := newRP(t, true, "/op", func(c *devoidc.Config) { c.AccessTokenAudience = apiAudience })
	tok, idToken, _ := r.login(t)
	c := r.verifyAccessJWT(t, tok.AccessToken)
	if c["sub"] != "grace" || c["client_id"] != "app" || c["scope"] != "openid profile email" ||
		c["acr"] != devoidc.ACRPassword || c["auth_time"] == nil || c["jti"] == "" {
		t.Errorf("claims = %v", c)
	}
	if err := idToken.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	if _, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok)); err != nil {
		t.Errorf("UserInfo with a JWT access token: %v", err)
	}
}

// TestClientCredentialsInterop gets a token with x/oauth2's
// clientcredentials package, with either client authentication, opaque
// and as a JWT, and has the introspection endpoint describe it.
func TestClientCredentialsInterop(t *testing.T) {
	for _, tt := range []struct {
		name     string
		style    oauth2.AuthStyle
		audience string
	}{
		{"basic, opaque", oauth2.AuthStyleInHeader, ""},
		{"post, JWT", oauth2.AuthStyleInParams, apiAudience},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRP(t, true, "", func(c *devoidc.Config) { c.AccessTokenAudience = tt.audience })
			cc := clientcredentials.Config{
				ClientID:     "app",
				ClientSecret: "s3cret",
				TokenURL:     r.provider.Endpoint().TokenURL,
				Scopes:       []string{"read", "write"},
				AuthStyle:    tt.style,
			}
			tok, err := cc.Token(r.ctx)
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if tok.TokenType != "Bearer" || tok.RefreshToken != "" || tok.Extra("id_token") != nil || time.Until(tok.Expiry) <= 0 {
				t.Errorf("token = %+v", tok)
			}
			if tt.audience != "" {
				if c := r.verifyAccessJWT(t, tok.AccessToken); c["sub"] != "app" || c["scope"] != "read write" || c["acr"] != nil {
					t.Errorf("claims = %v", c)
				}
			}

			var meta struct {
				Introspection string `json:"introspection_endpoint"`
			}
			if err := r.provider.Claims(&meta); err != nil || meta.Introspection == "" {
				t.Fatalf("introspection_endpoint %q: %v", meta.Introspection, err)
			}
			req, _ := http.NewRequest(http.MethodPost, meta.Introspection, strings.NewReader(url.Values{"token": {tok.AccessToken}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("app", "s3cret")
			resp, err := r.browser.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var info map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
				t.Fatal(err)
			}
			if info["active"] != true || info["sub"] != "app" || info["client_id"] != "app" || info["scope"] != "read write" {
				t.Errorf("introspection = %v", info)
			}
			if st := r.op.Stats(); st.ClientCredentialsGrants != 1 || st.IntrospectionRequests != 1 {
				t.Errorf("Stats = %+v", st)
			}
		})
	}
}
