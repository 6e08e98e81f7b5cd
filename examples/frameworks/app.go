package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/portcullis-go/portcullis/examples/internal/envkeys"
	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/providers/devoidc"
)

// newApp returns the application of the named framework. Each serves the
// same routes: / (public), /private (signed in: shows the user),
// /api/profile (signed in: the provider's userinfo, fetched through
// auth.Client, which refreshes the access token when it is about to
// expire) and /auth/ (portcullis's endpoints).
func newApp(framework string, auth *middleware.Auth, userinfoURL string) (http.Handler, error) {
	switch framework {
	case "servemux":
		return newServeMuxApp(auth, userinfoURL), nil
	case "chi":
		return newChiApp(auth, userinfoURL), nil
	case "gorillamux":
		return newGorillaMuxApp(auth, userinfoURL), nil
	case "echo":
		return newEchoApp(auth, userinfoURL), nil
	case "gin":
		return newGinApp(auth, userinfoURL), nil
	}
	return nil, fmt.Errorf("unknown framework %q: use servemux, chi, gorillamux, echo or gin", framework)
}

// devSetup is what the examples need from the development provider.
type devSetup struct {
	AppURL, ProviderURL string
	// AccessTokenTTL and RefreshBefore are devoidc's and portcullis's
	// settings (zero: their defaults).
	AccessTokenTTL, RefreshBefore time.Duration
	// AutoLogin signs this devoidc user in without the sign-in page.
	AutoLogin string
	Logger    *slog.Logger
}

// newProvider returns devoidc, to be served at cfg.ProviderURL, with the
// examples' client registered for an application at cfg.AppURL.
func newProvider(cfg devSetup) (*devoidc.Server, error) {
	return devoidc.New(devoidc.Config{
		Issuer: cfg.ProviderURL,
		Clients: []devoidc.Client{{
			ID:                     "frameworks",
			Secret:                 "frameworks-secret",
			RedirectURIs:           []string{cfg.AppURL + "/auth/callback/devoidc"},
			PostLogoutRedirectURIs: []string{cfg.AppURL + "/auth/logout/callback"},
		}},
		AccessTokenTTL: cfg.AccessTokenTTL,
		AutoLogin:      cfg.AutoLogin,
		Logger:         cfg.Logger,
	})
}

// newAuth discovers the provider at cfg.ProviderURL (which must be
// serving) and returns the Auth of an application at cfg.AppURL.
func newAuth(ctx context.Context, cfg devSetup) (*middleware.Auth, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := providers.OIDC(ctx, providers.OIDCConfig{
		Name:         "devoidc",
		DisplayName:  "Development provider",
		Issuer:       cfg.ProviderURL,
		ClientID:     "frameworks",
		ClientSecret: "frameworks-secret",
		Logger:       cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	// SESSION_KEYS, or a fresh key per run (restarting signs everyone out).
	keys, err := envkeys.SessionKeys(os.Getenv("SESSION_KEYS"), cfg.Logger)
	if err != nil {
		return nil, err
	}
	return middleware.New(middleware.Config{
		BaseURL:       cfg.AppURL,
		Providers:     []*providers.Provider{p},
		Keys:          keys,
		RefreshBefore: cfg.RefreshBefore,
		Logger:        cfg.Logger,
	})
}

// greeting is the text of /private.
func greeting(r *http.Request) string {
	u, _ := middleware.UserFrom(r.Context())
	return fmt.Sprintf("hello %s (%s)\n", u.Name, u.Subject)
}

// profile fetches the user's claims from the provider's userinfo
// endpoint with c, a client from auth.Client.
func profile(ctx context.Context, c *http.Client, userinfoURL string) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, userinfoURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("userinfo: %s", resp.Status)
	}
	var claims map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&claims); err != nil {
		return nil, fmt.Errorf("userinfo: %w", err)
	}
	return claims, nil
}
