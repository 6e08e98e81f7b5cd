package middleware

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/session"
)

// Config configures an [Auth]. Zero values are documented defaults; New
// refuses anything unsafe or inconsistent. Config is copied by New: changing
// it afterwards has no effect.
type Config struct {
	// BaseURL is the application's public origin, such as
	// "https://app.example.com". Callback URLs are built from it
	// (BaseURL + PathPrefix + "/callback/{provider}"), never from request
	// headers. It must be https, or http on a loopback host (local
	// development); anything else needs InsecureCookies. Required.
	BaseURL string
	// Providers are the sign-in providers, in the order the sign-in page
	// shows them. One provider: /auth/login redirects straight to it.
	// Several: /auth/login shows a page with a button for each. Names must
	// be unique. Required.
	Providers []*providers.Provider
	// ChooserTemplate replaces the built-in sign-in page that GET
	// /auth/login shows when there are several providers. It is executed
	// (t.Execute) with a [ChooserPage]: each provider's name, display
	// name, brand and the URL that starts its login, return path included.
	// html/template escapes what it writes; the page is served with a
	// Content-Security-Policy allowing the application's own origin only,
	// unless a handler in front of Handler set one. An error executing it
	// goes to ErrorHandler (500). Do not change the template after New.
	// Default: the built-in page (brand buttons for Google and GitHub, no
	// script, no external request, light and dark).
	ChooserTemplate *template.Template
	// Keys are the secret keys for the login-flow cookies, and for the
	// session cookie when Sessions is nil: newest first, 32 to 64 random
	// bytes each (`openssl rand -base64 32`). Put a new key first and
	// remove the old one a session lifetime later: nobody is signed out.
	// Required.
	Keys [][]byte
	// Sessions stores sessions. Default: a session.CookieStore with Keys,
	// SessionLifetime and cookies that are Secure unless BaseURL is plain
	// http.
	Sessions session.Store
	// Revocations keeps the sessions that ended before their cookies did
	// (logouts, back-channel logouts, EndSessions), checked on every
	// request. Default: in memory, which serves a single instance.
	Revocations RevocationStore
	// PathPrefix is where Handler is mounted. Default "/auth".
	PathPrefix string
	// SessionLifetime is the absolute lifetime of a session from sign-in;
	// nothing extends it. Default 12 hours.
	SessionLifetime time.Duration
	// ErrorHandler writes every error response: failed logins, requests
	// that are not signed in, forbidden ones. err wraps one of the exported
	// errors of this package; use [Status] for its HTTP status. Its text may
	// hold provider details: log it, never show it. Default: a designed HTML
	// page (JSON for API clients) with the status and a generic message.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// IdleTimeout ends a session that made no request for this long
	// (sliding). To bound cookie writes, activity is recorded at most once
	// per IdleTimeout/4 (and at least a minute apart), so a session ends
	// between ¾·IdleTimeout and IdleTimeout after its last request.
	// Default 0: no idle timeout, only SessionLifetime.
	IdleTimeout time.Duration
	// RefreshBefore is how long before its access token expires a session
	// is refreshed, on the request path, before the handler runs. Default
	// one minute.
	RefreshBefore time.Duration
	// RefreshTimeout bounds one call to a provider's token endpoint for a
	// refresh. Default 10 seconds.
	RefreshTimeout time.Duration
	// RequireToken ends a session when its access token has expired and
	// cannot be refreshed because the provider issued no refresh token.
	// By default such a session lives on until SessionLifetime, with an
	// expired token: set RequireToken when handlers call the provider's
	// APIs with the user's token. A session whose refresh is refused ends
	// either way.
	RequireToken bool
	// OnRefresh runs after a session's tokens were refreshed and before
	// the session is saved. Returning an error ends the session (the user
	// must sign in again): use it to re-check a user who may have been
	// disabled.
	OnRefresh func(ctx context.Context, s *session.Session) error
	// OnLogin runs after a login is verified and before the session is
	// saved. Returning an error refuses the login with 403 (wrap
	// ErrForbidden or not; the user sees a generic page). Use it to
	// provision users or to apply a sign-in policy.
	OnLogin func(ctx context.Context, s *session.Session) error
	// OnLogout runs after a session ended by a logout: a local one (ended
	// has the session's ID, Provider, Subject and SID), a back-channel one
	// (Provider and SID or Subject) or EndSessions (Provider and Subject).
	// It is a notification: it cannot stop the logout.
	OnLogout func(ctx context.Context, ended session.Revocation)
	// Logger receives structured events (login ok and failed with a reason,
	// logout). Tokens, codes, cookies and claims are never logged. Default:
	// events are discarded.
	Logger *slog.Logger
	// InsecureCookies allows a plain-http BaseURL on a host that is not
	// loopback, with cookies that lack Secure. Anyone on the network can
	// then steal sessions. It MUST NOT be used in production.
	InsecureCookies bool
}

const (
	defaultPathPrefix      = "/auth"
	defaultSessionLifetime = 12 * time.Hour
)

// settings is the validated, defaulted configuration.
type settings struct {
	Config
	base      *url.URL
	secure    bool // cookies carry Secure
	providers map[string]*providers.Provider
}

func validate(cfg Config) (*settings, error) {
	// Copy what the caller could change afterwards.
	cfg.Providers = slices.Clone(cfg.Providers)
	keys := make([][]byte, len(cfg.Keys))
	for i, k := range cfg.Keys {
		keys[i] = slices.Clone(k)
	}
	cfg.Keys = keys
	s := &settings{Config: cfg}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || base.Host == "" || (base.Scheme != "https" && base.Scheme != "http") {
		return nil, fmt.Errorf("middleware: BaseURL %q must be an absolute http(s) URL", cfg.BaseURL)
	}
	if base.User != nil || base.RawQuery != "" || base.Fragment != "" || (base.Path != "" && base.Path != "/") {
		return nil, fmt.Errorf("middleware: BaseURL %q must be an origin (scheme and host, no path, query or user info)", cfg.BaseURL)
	}
	base.Path = ""
	s.base = base
	s.secure = base.Scheme == "https"
	if !s.secure && !providers.IsLoopback(base.Hostname()) && !cfg.InsecureCookies {
		return nil, fmt.Errorf("middleware: BaseURL %q is plain http on a non-loopback host; use https (InsecureCookies exists for exceptional setups and MUST NOT be used in production)", cfg.BaseURL)
	}
	if len(cfg.Providers) == 0 {
		return nil, errors.New("middleware: no Providers")
	}
	s.providers = make(map[string]*providers.Provider, len(cfg.Providers))
	for i, p := range cfg.Providers {
		if p == nil {
			return nil, fmt.Errorf("middleware: Providers[%d] is nil", i)
		}
		if s.providers[p.Name()] != nil {
			return nil, fmt.Errorf("middleware: two providers are named %q", p.Name())
		}
		s.providers[p.Name()] = p
	}
	if s.PathPrefix == "" {
		s.PathPrefix = defaultPathPrefix
	}
	if !strings.HasPrefix(s.PathPrefix, "/") || strings.HasSuffix(s.PathPrefix, "/") || strings.ContainsAny(s.PathPrefix, "{}?#% \\") {
		return nil, fmt.Errorf("middleware: PathPrefix %q must start with '/' and not end with one", s.PathPrefix)
	}
	if s.RefreshBefore == 0 {
		s.RefreshBefore = defaultRefreshBefore
	}
	if s.RefreshTimeout == 0 {
		s.RefreshTimeout = defaultRefreshTimeout
	}
	if s.RefreshBefore < 0 || s.RefreshTimeout < 0 {
		return nil, errors.New("middleware: negative RefreshBefore or RefreshTimeout")
	}
	if s.SessionLifetime == 0 {
		s.SessionLifetime = defaultSessionLifetime
	}
	if s.IdleTimeout < 0 || s.IdleTimeout > 0 && s.IdleTimeout < 4*time.Minute {
		return nil, fmt.Errorf("middleware: IdleTimeout %v: use 0 (none) or at least 4 minutes", s.IdleTimeout)
	}
	if s.SessionLifetime < time.Minute {
		return nil, fmt.Errorf("middleware: SessionLifetime %v is shorter than a minute", s.SessionLifetime)
	}
	if s.Sessions == nil {
		store, err := session.NewCookieStore(session.CookieConfig{
			Keys:         cfg.Keys,
			Lifetime:     s.SessionLifetime,
			InsecureHTTP: !s.secure,
		})
		if err != nil {
			return nil, fmt.Errorf("middleware: %w", err)
		}
		s.Sessions = store
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// callbackURL returns the configured redirect URI of provider name.
func (s *settings) callbackURL(name string) string {
	return s.base.String() + s.PathPrefix + "/callback/" + name
}
