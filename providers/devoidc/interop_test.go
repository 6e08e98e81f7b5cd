package devoidc_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/portcullis-go/portcullis/providers/devoidc"
)

// These tests treat devoidc as a black box and drive it the way a relying
// party does: with go-oidc for discovery and ID token verification, and
// x/oauth2 for the code flow.

const redirectURL = "http://127.0.0.1:1/callback"

type rp struct {
	op       *devoidc.Server
	ctx      context.Context
	browser  *http.Client
	provider *oidc.Provider
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// newRP starts devoidc (over TLS when tls is set, with an issuer path, and
// with the Config changed by opts) and discovers it with go-oidc.
func newRP(t *testing.T, tls bool, path string, opts ...func(*devoidc.Config)) *rp {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	scheme := "http"
	if tls {
		scheme = "https"
	}
	cfg := devoidc.Config{
		Issuer:    scheme + "://" + ts.Listener.Addr().String() + path,
		Clients:   []devoidc.Client{{ID: "app", Secret: "s3cret", RedirectURIs: []string{redirectURL}}},
		AutoLogin: "grace",
	}
	for _, o := range opts {
		o(&cfg)
	}
	op, err := devoidc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = op
	if tls {
		ts.StartTLS()
	} else {
		ts.Start()
	}
	t.Cleanup(ts.Close)

	ctx := oidc.ClientContext(t.Context(), ts.Client())
	provider, err := oidc.NewProvider(ctx, op.Issuer())
	if err != nil {
		t.Fatalf("oidc.NewProvider: %v", err)
	}
	jar, _ := cookiejar.New(nil)
	return &rp{
		op:  op,
		ctx: ctx,
		browser: &http.Client{
			Transport:     ts.Client().Transport,
			Jar:           jar,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		provider: provider,
		oauth: oauth2.Config{
			ClientID:     "app",
			ClientSecret: "s3cret",
			RedirectURL:  redirectURL,
			Endpoint:     provider.Endpoint(),
			Scopes:       []string{oidc.ScopeOpenID, "profile", "email"},
		},
		verifier: provider.Verifier(&oidc.Config{ClientID: "app"}),
	}
}

// login runs the authorization code flow, with opts added to the
// authorization request, and returns the verified token.
func (r *rp) login(t *testing.T, opts ...oauth2.AuthCodeOption) (*oauth2.Token, *oidc.IDToken, string) {
	t.Helper()
	state, nonce, pkceVerifier := "state-"+oauth2.GenerateVerifier()[:8], oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	opts = append([]oauth2.AuthCodeOption{oidc.Nonce(nonce), oauth2.S256ChallengeOption(pkceVerifier)}, opts...)
	authURL := r.oauth.AuthCodeURL(state, opts...)
	resp, err := r.browser.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc.String(), redirectURL+"?") {
		t.Fatalf("authorize: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	q := loc.Query()
	if q.Get("state") != state || q.Get("iss") != r.op.Issuer() {
		t.Fatalf("callback state %q iss %q", q.Get("state"), q.Get("iss"))
	}
	tok, err := r.oauth.Exchange(r.ctx, q.Get("code"), oauth2.VerifierOption(pkceVerifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idToken, err := r.verifier.Verify(r.ctx, raw)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if idToken.Nonce != nonce {
		t.Errorf("nonce = %q, want %q", idToken.Nonce, nonce)
	}
	if err := idToken.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	return tok, idToken, raw
}

func TestGoOIDCInterop(t *testing.T) {
	for _, tt := range []struct {
		name string
		tls  bool
		path string
	}{
		{"http loopback", false, ""},
		{"https with issuer path", true, "/op"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRP(t, tt.tls, tt.path)
			tok, idToken, _ := r.login(t)
			if idToken.Issuer != r.op.Issuer() || idToken.Subject != "grace" || len(idToken.Audience) != 1 || idToken.Audience[0] != "app" {
				t.Errorf("ID token iss %q sub %q aud %v", idToken.Issuer, idToken.Subject, idToken.Audience)
			}
			var claims struct {
				Email         string `json:"email"`
				EmailVerified bool   `json:"email_verified"`
				Name          string `json:"name"`
				SID           string `json:"sid"`
			}
			if err := idToken.Claims(&claims); err != nil {
				t.Fatal(err)
			}
			if claims.Email != "grace@example.com" || !claims.EmailVerified || claims.Name != "Grace Hopper" || claims.SID == "" {
				t.Errorf("claims = %+v", claims)
			}
			if tok.RefreshToken == "" || tok.TokenType != "Bearer" || time.Until(tok.Expiry) <= 0 {
				t.Errorf("token = %+v", tok)
			}

			info, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("UserInfo: %v", err)
			}
			if info.Subject != idToken.Subject || info.Email != "grace@example.com" || !info.EmailVerified {
				t.Errorf("userinfo = %+v", info)
			}

			// x/oauth2 refreshes through its TokenSource; the refreshed ID
			// token verifies too and names the same user.
			expired := *tok
			expired.Expiry = time.Now().Add(-time.Minute)
			fresh, err := r.oauth.TokenSource(r.ctx, &expired).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if fresh.RefreshToken == tok.RefreshToken || fresh.AccessToken == tok.AccessToken {
				t.Error("refresh did not rotate the tokens")
			}
			raw, _ := fresh.Extra("id_token").(string)
			refreshed, err := r.verifier.Verify(r.ctx, raw)
			if err != nil {
				t.Fatalf("Verify refreshed ID token: %v", err)
			}
			if refreshed.Subject != idToken.Subject || refreshed.Nonce != "" {
				t.Errorf("refreshed ID token sub %q nonce %q", refreshed.Subject, refreshed.Nonce)
			}
			if err := refreshed.VerifyAccessToken(fresh.AccessToken); err != nil {
				t.Errorf("refreshed at_hash: %v", err)
			}
			if st := r.op.Stats(); st.CodeExchanges != 1 || st.Refreshes != 1 || st.UserInfoRequests != 1 {
				t.Errorf("Stats = %+v", st)
			}
		})
	}
}

func TestGoOIDCKeyRotation(t *testing.T) {
	r := newRP(t, false, "")
	_, _, before := r.login(t) // also primes go-oidc's key cache
	if err := r.op.RotateKey(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.verifier.Verify(r.ctx, before); err != nil {
		t.Errorf("token signed before rotation: %v", err)
	}
	// A token signed with the new key has an unknown kid: go-oidc refetches
	// the JWKS and finds it.
	r.login(t)

	// A verifier that never saw the old key still accepts the old token,
	// since the JWKS keeps it.
	fresh := r.provider.Verifier(&oidc.Config{ClientID: "app"})
	if _, err := fresh.Verify(r.ctx, before); err != nil {
		t.Errorf("old token with a fresh key set: %v", err)
	}
}

func TestGoOIDCRejectsOtherAudience(t *testing.T) {
	r := newRP(t, false, "")
	_, _, raw := r.login(t)
	other := r.provider.Verifier(&oidc.Config{ClientID: "someone-else"})
	if _, err := other.Verify(r.ctx, raw); err == nil {
		t.Error("an ID token for app verified for another client")
	}
}

// stepUpClaims are the claims of an ID token that describe the sign-in.
type stepUpClaims struct {
	AuthTime int64    `json:"auth_time"`
	ACR      string   `json:"acr"`
	AMR      []string `json:"amr"`
	SID      string   `json:"sid"`
}

// TestGoOIDCStepUp checks that go-oidc verifies the ID token of a step-up
// (max_age=0 and acr_values for the second factor over an SSO session)
// and reads a new session's auth_time, acr and amr from it, and that with
// IgnoreStepUp it reads the first sign-in's instead.
func TestGoOIDCStepUp(t *testing.T) {
	stepUp := []oauth2.AuthCodeOption{
		oauth2.SetAuthURLParam("max_age", "0"),
		oauth2.SetAuthURLParam("acr_values", devoidc.ACRMultiFactor),
	}
	for _, tt := range []struct {
		name    string
		ignore  bool
		wantACR string
		wantAMR string
	}{
		{"honoured", false, devoidc.ACRMultiFactor, "pwd otp"},
		{"IgnoreStepUp", true, devoidc.ACRPassword, "pwd"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRP(t, true, "", func(c *devoidc.Config) { c.IgnoreStepUp = tt.ignore })
			var first, stepped stepUpClaims
			if _, idToken, _ := r.login(t); idToken.Claims(&first) != nil || first.ACR != devoidc.ACRPassword || strings.Join(first.AMR, " ") != "pwd" {
				t.Fatalf("first sign-in: %+v", first)
			}
			before := time.Now().Unix()
			_, idToken, _ := r.login(t, stepUp...)
			if err := idToken.Claims(&stepped); err != nil {
				t.Fatal(err)
			}
			if stepped.ACR != tt.wantACR || strings.Join(stepped.AMR, " ") != tt.wantAMR {
				t.Errorf("acr %q amr %v, want %q [%s]", stepped.ACR, stepped.AMR, tt.wantACR, tt.wantAMR)
			}
			fresh := stepped.SID != first.SID && stepped.AuthTime >= before && stepped.AuthTime <= time.Now().Unix()
			reused := stepped.SID == first.SID && stepped.AuthTime == first.AuthTime
			if (tt.ignore && !reused) || (!tt.ignore && !fresh) {
				t.Errorf("step-up sid %q auth_time %d, first sign-in sid %q auth_time %d (ignored: %v)",
					stepped.SID, stepped.AuthTime, first.SID, first.AuthTime, tt.ignore)
			}
		})
	}
}
