package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/middleware/policy"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/session"
)

// appConfig is what the demo application is made of.
type appConfig struct {
	// URL is the application's origin.
	URL string
	// Providers are the sign-in providers, in the order of the sign-in
	// page; the one named "devoidc" issues the API's bearer tokens.
	Providers []*providers.Provider
	// UserInfo is the URL of each provider's user API, by provider name,
	// which the private page calls with the user's token; none: no call.
	UserInfo map[string]string
	// EndProviderSessions ends a user's sessions at the provider that
	// signed them in, for "Sign out everywhere"; nil: the provider's
	// sessions are left alone.
	EndProviderSessions func(provider, subject string)
	Keys                [][]byte
	Logger              *slog.Logger
}

// newApp returns the handler of the demo application.
func newApp(cfg appConfig) (http.Handler, error) {
	auth, err := middleware.New(middleware.Config{
		BaseURL:   cfg.URL,
		Providers: cfg.Providers,
		Keys:      cfg.Keys,
		Logger:    cfg.Logger,
		// Scripts may call the API routes with an access token.
		BearerTokens: &middleware.BearerTokens{Provider: "devoidc", Audience: apiAudience},
	})
	if err != nil {
		return nil, err
	}
	a := &app{auth: auth, cfg: cfg, names: map[string]string{}}
	for _, p := range cfg.Providers {
		a.names[p.Name()] = p.DisplayName()
		if u, err := url.Parse(p.Issuer()); err == nil && u.Host != "" {
			origin := u.Scheme + "://" + u.Host
			if !slices.Contains(a.formOrigins, origin) {
				// "Sign out" is a form whose answer redirects to the
				// provider's end_session_endpoint: form-action must allow it.
				a.formOrigins = append(a.formOrigins, origin)
			}
		}
	}

	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("GET /{$}", auth.Optional(http.HandlerFunc(a.home)))
	mux.Handle("GET /private", auth.Require(http.HandlerFunc(a.private)))
	mux.Handle("GET /admin", auth.RequireWith(policy.Groups("admins"))(http.HandlerFunc(a.admin)))
	// Forms are same-origin only.
	cop := http.NewCrossOriginProtection()
	mux.Handle("POST /refresh", cop.Handler(auth.Require(http.HandlerFunc(a.refresh))))
	mux.Handle("POST /signout-everywhere", cop.Handler(auth.Require(http.HandlerFunc(a.signOutEverywhere))))

	// The API: a browser's session or a script's access token.
	mux.Handle("GET /api/whoami", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := middleware.UserFrom(r.Context())
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"sub": u.Subject, "email": u.Email, "groups": u.Groups})
	})))
	return mux, nil
}

type app struct {
	auth        *middleware.Auth
	cfg         appConfig
	names       map[string]string // display names by provider name
	formOrigins []string
}

// page is what every page template gets.
type page struct {
	Nonce    string
	User     *session.User
	Provider string // the display name of the user's provider
	Admin    bool
}

func (a *app) page(r *http.Request) page {
	p := page{}
	if u, ok := middleware.UserFrom(r.Context()); ok {
		p.User, p.Provider, p.Admin = u, a.names[u.Provider], slices.Contains(u.Groups, "admins")
	}
	return p
}

// home is public: it shows who is signed in, or a sign-in button and
// what the last sign-out did.
func (a *app) home(w http.ResponseWriter, r *http.Request) {
	data := struct {
		page
		SignedOut string
	}{page: a.page(r)}
	if data.User == nil {
		data.SignedOut = r.URL.Query().Get("signed_out") // "local" or "everywhere": feedback only
	}
	a.render(w, homePage, &data.page, &data)
}

// privateData is what /private shows.
type privateData struct {
	page
	Expiry, SessionEnds time.Time
	RefreshBefore       time.Duration
	Refresh             string // the answer to "Refresh now": done, notdue, failed
	UserInfoURL         string
	UserInfo            string // the provider's answer, indented JSON
	UserInfoError       string
}

func (a *app) private(w http.ResponseWriter, r *http.Request) {
	s, _ := middleware.SessionFrom(r.Context())
	data := privateData{
		page: a.page(r), Expiry: s.Tokens.Expiry, SessionEnds: s.Expires,
		RefreshBefore: time.Minute, // middleware.Config.RefreshBefore's default
		Refresh:       r.URL.Query().Get("refresh"),
		UserInfoURL:   a.cfg.UserInfo[s.User.Provider],
	}
	if data.UserInfoURL != "" {
		data.UserInfo, data.UserInfoError = a.userinfo(r, data.UserInfoURL)
	}
	a.render(w, privatePage, &data.page, &data)
}

// userinfo calls the provider's user API with the user's access token,
// through auth.Client (which refreshes it when due), and returns its
// answer as indented JSON, or what went wrong in words that hold no
// token.
func (a *app) userinfo(r *http.Request, u string) (string, string) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", "the request could not be made"
	}
	req.Header.Set("Accept", "application/json")
	resp, err := a.auth.Client(r).Do(req)
	if err != nil {
		return "", "the provider could not be reached"
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var out bytes.Buffer
	if resp.StatusCode != http.StatusOK || json.Indent(&out, body, "", "  ") != nil {
		return "", fmt.Sprintf("the provider answered HTTP %d", resp.StatusCode)
	}
	return out.String(), ""
}

// refresh is "Refresh now": it asks for the user's token through
// auth.TokenSource, which refreshes it when it is due (within
// RefreshBefore of its expiry; Require has then already done it for this
// request), and says which happened.
func (a *app) refresh(w http.ResponseWriter, r *http.Request) {
	before, _ := strconv.ParseInt(r.PostFormValue("expiry"), 10, 64)
	tok, err := a.auth.TokenSource(r).Token()
	answer := "notdue"
	switch {
	case err != nil:
		answer = "failed"
	case tok.Expiry.Unix() != before:
		answer = "done"
	}
	http.Redirect(w, r, "/private?refresh="+answer, http.StatusSeeOther)
}

// admin is for the group "admins" only (policy.Groups): others get the
// middleware's 403 page.
func (a *app) admin(w http.ResponseWriter, r *http.Request) {
	p := a.page(r)
	a.render(w, adminPage, &p, &p)
}

// signOutEverywhere ends every session of the user, on every device,
// at their next request, and the user's sessions at the provider, so
// that signing in again asks who you are instead of signing you straight
// back in.
func (a *app) signOutEverywhere(w http.ResponseWriter, r *http.Request) {
	u, _ := middleware.UserFrom(r.Context())
	if err := a.auth.EndSessions(r.Context(), u.Provider, u.Subject); err != nil {
		http.Error(w, "could not sign out everywhere", http.StatusInternalServerError)
		return
	}
	if a.cfg.EndProviderSessions != nil {
		a.cfg.EndProviderSessions(u.Provider, u.Subject)
	}
	http.Redirect(w, r, "/?signed_out=everywhere", http.StatusSeeOther)
}

// render writes a page with its own Content-Security-Policy: the one
// inline script and style carry a fresh nonce; nothing else runs or
// loads. Pages that show a user are never stored (no-store), so the back
// button after signing out shows no private content.
// p is the page data inside data, which gets the nonce.
func (a *app) render(w http.ResponseWriter, t *template.Template, p *page, data any) {
	nonce := make([]byte, 16)
	rand.Read(nonce)
	n := base64.RawURLEncoding.EncodeToString(nonce)
	p.Nonce = n
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		a.cfg.Logger.Error("demo: render page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+n+"'; style-src 'nonce-"+n+"'; connect-src 'self'; "+
		"form-action 'self' "+strings.Join(a.formOrigins, " ")+"; base-uri 'none'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}
