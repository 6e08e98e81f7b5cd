package middleware

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/portcullis-go/portcullis/internal/cookiekeys"
	"github.com/portcullis-go/portcullis/middleware/policy"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/session"
)

// Config configures an [Auth]. Zero values are documented defaults; New
// refuses anything unsafe or inconsistent. Config is copied by New: changing
// it afterwards has no effect.
type Config struct {
	// BaseURL is the application's public URL: an origin, such as
	// "https://app.example.com", or an origin and the path the
	// application is served under, such as "https://example.com/app"
	// (segments of letters, digits and "-._~"; a trailing slash is
	// dropped). Callback URLs are built from it
	// (BaseURL + PathPrefix + "/callback/{provider}"), never from request
	// headers. It must be https, or http on a loopback host (local
	// development); anything else needs InsecureCookies. Required.
	//
	// Under a path, every URL portcullis writes is under it (the
	// endpoints at /app/auth/..., the default return path /app/), and
	// return paths outside it are refused (they become /app/). Cookies
	// keep Path=/ and the __Host- prefix, with names of their own for
	// each path (see docs/ARCHITECTURE.md, Mounting), so several
	// applications on one host never read each other's cookies.
	BaseURL string
	// Providers are the sign-in providers, in the order the sign-in page
	// shows them. One provider: /auth/login redirects straight to it.
	// Several: /auth/login shows a page with a button for each. Names must
	// be unique. Required. A provider that was down when it was made (see
	// providers.OIDC) is fine: New needs nothing from it, and a sign-in
	// with it answers 503, with Retry-After, until it is reachable; the
	// checks of BearerTokens that need its discovery document run at
	// first use then, failing closed.
	Providers []*providers.Provider
	// Brand is the application's name, logo and accent colour, shown by
	// every built-in page; see [Brand] for what New accepts. Default: no
	// name or logo, portcullis's blue.
	Brand Brand
	// Pages replaces built-in pages with the application's own
	// html/template templates: the templates of the set named "chooser",
	// "error", "forbidden", "unavailable", "logout" and "signed-out"
	// ({{define "error"}}…{{end}}) are executed with the [Page] of that
	// name; a page the set does not define stays built-in, and other
	// templates in the set (a shared layout) are left alone. Each replaced
	// page is served with the status, Cache-Control: no-store, nosniff and
	// a Content-Security-Policy allowing the application's own origin
	// only (its form-action also allowing the providers' end-session
	// origins on the "logout" page), unless a handler in front of
	// portcullis set one. New refuses a set that defines none of the
	// pages, and executes each page once with sample data, so a template
	// that fails is an error at startup; one that fails on a request's
	// data answers 500 (the built-in error page, for error pages). New
	// uses a copy (Clone). Default: every page built-in.
	Pages *template.Template
	// ChooserTemplate replaces the built-in sign-in page that GET
	// /auth/login shows when there are several providers. It is executed
	// (t.Execute) with a [ChooserPage]: each provider's name, display
	// name, brand and the URL that starts its login, return path included.
	// html/template escapes what it writes; the page is served with a
	// Content-Security-Policy allowing the application's own origin only,
	// unless a handler in front of Handler set one. An error executing it
	// goes to ErrorHandler (500). New uses a copy (Clone): later changes
	// to the template have no effect.
	// Default: the built-in page (brand buttons for Google and GitHub, no
	// script, no external request, light and dark).
	//
	// Deprecated: define a "chooser" template in Pages instead: it gets
	// a [Page], which embeds ChooserPage, so the same template works
	// there. ChooserTemplate keeps working; setting both is refused.
	ChooserTemplate *template.Template
	// Keys are the secret keys for the login-flow cookies, and for the
	// session cookie when Sessions is nil: newest first, 32 to 64 random
	// bytes each — raw bytes, not base64 text: [session.ParseKeys] decodes
	// a comma-separated list of `openssl rand -base64 32` outputs (such as
	// an environment variable SESSION_KEYS) into Keys. Put a new key first
	// and remove the old one a session lifetime later: nobody is signed
	// out. Required.
	Keys [][]byte
	// Sessions stores sessions. Default: a session.CookieStore with Keys,
	// SessionLifetime and cookies that are Secure unless BaseURL is plain
	// http. With an https BaseURL, a store that writes cookies without
	// Secure is refused.
	Sessions session.Store
	// Revocations keeps the sessions that ended before their cookies did
	// (logouts, back-channel logouts, EndSessions), checked on every
	// request. Default: in memory, which serves a single instance.
	Revocations RevocationStore
	// Shared is storage that every instance of the application shares,
	// such as Redis (redisstore.NewShared): with it, several instances
	// behind one load balancer act as one — a refresh token is redeemed
	// once whichever instance its requests reach, a callback and a
	// back-channel logout token work once, and, unless Revocations is
	// set, the revocation list is shared, so a logout on one instance ends
	// the session on all. When it cannot be reached, what needs it fails
	// closed (503) until it answers again; see [SharedState]. Default nil:
	// everything is kept in this process, which serves a single instance.
	Shared SharedState
	// SharedStaleness is how long an instance trusts its copy of the
	// shared revocation list before asking Shared whether it changed (one
	// round trip, then none until it is stale again): a logout on one
	// instance reaches the others within it. Default one second; at most
	// a minute. Used only with Shared.
	SharedStaleness time.Duration
	// PathPrefix is where the endpoints are, below BaseURL's path:
	// with BaseURL https://example.com/app and the default "/auth", they
	// are at /app/auth/login and so on. Handler answers them at the full
	// path (the application's mux sees /app/auth/...) and at the path
	// without BaseURL's (behind http.StripPrefix("/app", ...) or a proxy
	// that strips it); see [Auth.Handler]. Default "/auth".
	PathPrefix string
	// SessionLifetime is the absolute lifetime of a session from sign-in;
	// nothing extends it. Default [session.DefaultLifetime] (12 hours).
	SessionLifetime time.Duration
	// ErrorHandler writes every error response: failed logins, requests
	// that are not signed in, forbidden ones. err wraps one of the exported
	// errors of this package; use [Status] for its HTTP status. Its text may
	// hold provider details: log it, never show it. Default: a designed HTML
	// page (JSON for API clients) with the status and a generic message.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// IdleTimeout ends a session that made no request for this long
	// (sliding); 4 minutes to SessionLifetime. To bound cookie writes, activity is recorded at most once
	// per IdleTimeout/4 (and at least a minute apart), so a session ends
	// between ¾·IdleTimeout and IdleTimeout after its last request.
	// Default 0: no idle timeout, only SessionLifetime.
	IdleTimeout time.Duration
	// RefreshBefore is how long before its access token expires a session
	// is refreshed, on the request path, before the handler runs. Default
	// one minute; at most 30 minutes.
	RefreshBefore time.Duration
	// RefreshTimeout bounds one call to a provider's token endpoint for a
	// refresh. Default 10 seconds; at most a minute.
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
	// LinkAccount maps a verified identity to the application's own
	// user: one person who signs in with Google today and GitHub
	// tomorrow can be one account. It runs at each sign-in, after
	// SignInPolicy and before OnLogin, with the identity the provider
	// verified; what it returns becomes session.User.Account (empty:
	// none). Link by (Provider, Subject), the only stable key; a link by
	// email is safe only because portcullis sets Email solely from an
	// address the provider says it verified — never link by an email
	// claim read elsewhere. Returning an error refuses the sign-in (403
	// when it wraps ErrForbidden, 503 otherwise: the lookup failed). It
	// is not called for bearer tokens. The provider's claims are in ctx:
	// [SignInClaims]. Default: no linking.
	LinkAccount func(ctx context.Context, u session.User) (account string, err error)
	// OnLogin runs after a login is verified and before the session is
	// saved. Returning an error refuses the login with 403 (wrap
	// ErrForbidden or not; the user sees a generic page). Use it to
	// provision users or to apply a sign-in policy, and to map the
	// provider's claims ([SignInClaims] on ctx) into s.User: Groups,
	// Account, or a claim of its own in s.User.Claims (kept in the
	// session within the bounds session.User.Claims documents; a session
	// beyond them is not saved, and the login fails with 500).
	OnLogin func(ctx context.Context, s *session.Session) error
	// OnLogout runs after sessions ended and the revocation list recorded
	// it; ended is the recorded entry, in one of the shapes documented on
	// session.Revocation: a local logout (ID, Provider, Subject), a
	// back-channel one (Provider with SID, Subject or both) or EndSessions
	// (Provider and Subject). It does not run when the list could not
	// record the end. It is a notification: it cannot stop the logout.
	OnLogout func(ctx context.Context, ended session.Revocation)
	// Logger receives a record of every [Event] (sign-ins, refusals with
	// their reason, refreshes, logouts, store failures), with the stable
	// attribute names listed in the package documentation, and a few
	// diagnostic records (a refresh memo entry evicted, the InsecureCookies
	// warning). Tokens, codes, state, cookies and claims are never logged.
	// Levels: Debug for shared refreshes, Info for successes, Warn for
	// refusals, Error for store failures. Default: records are discarded.
	Logger *slog.Logger
	// Observer is told about every [Event] after it is logged: use it for
	// metrics, alerts or an audit trail. It runs on the request path and
	// must be fast; see [Observer]. Default: none.
	Observer Observer
	// SignInPolicy refuses the sign-in itself to the users it does not
	// admit (package policy): they get 403 and no session, so outsiders
	// never hold one. It judges the identity the provider has just
	// verified: its User (verified email, groups), AuthTime, ACR and AMR,
	// and the client address; a policy.Func reads the provider's claims
	// from its request's context ([SignInClaims] on Request.HTTP's
	// context). A step-up requirement is a refusal here.
	// Routes can be stricter still with [Auth.RequireWith]. Default: every
	// identity the providers verify. New refuses a misconfigured policy
	// (policy.Validate).
	SignInPolicy policy.Policy
	// BearerTokens, when set, lets API clients authenticate with an
	// access token instead of the session cookie; see [BearerTokens].
	// Default nil: cookies only.
	BearerTokens *BearerTokens
	// TrustedProxies are the reverse proxies in front of the application:
	// only a request arriving from one of them has its X-Forwarded-For
	// believed, walked from the right past the trusted hops. Default none:
	// the client address is the connection's. It feeds the sign-in rate
	// limit and policy.IPRanges; it never changes URLs, which come from
	// BaseURL.
	TrustedProxies []netip.Prefix
	// LoginRateLimit bounds how fast one client address (IPv6 by /64) may
	// start sign-ins and finish them: GET {PathPrefix}/login* and
	// {PathPrefix}/callback/*. Beyond it, 429 with Retry-After through
	// the ErrorHandler (ErrRateLimited). Default: a burst of 30, then one
	// every 2 seconds — no person signing in meets it; memory is fixed
	// (512 KiB) whatever the number of clients. Everyone behind one
	// address (an office's NAT, a proxy not listed in TrustedProxies)
	// shares one bucket, and keys that hash alike share one too (always
	// stricter, never looser): raise Burst for a large office behind a
	// single address. Each instance counts on its own, also with Shared:
	// behind a load balancer of n instances a client gets up to n times
	// the burst.
	LoginRateLimit RateLimit
	// InsecureCookies allows a plain-http BaseURL on a host that is not
	// loopback, with cookies that lack Secure. Anyone on the network can
	// then steal sessions. It MUST NOT be used in production.
	InsecureCookies bool
}

// RateLimit is a token bucket: Burst requests at once, then one every
// Every. The zero value means the default of the field it configures; Off
// turns the limit off (for example when a proxy in front limits already).
type RateLimit struct {
	Burst int
	Every time.Duration
	Off   bool
}

const (
	defaultPathPrefix = "/auth"
	defaultLoginBurst = 30
	defaultLoginEvery = 2 * time.Second
	// maxRefreshBefore and maxRefreshTimeout bound RefreshBefore and
	// RefreshTimeout: a token refreshed more than half an hour early is
	// refreshed on nearly every request, and a refresh waits on the request
	// path.
	maxRefreshBefore  = 30 * time.Minute
	maxRefreshTimeout = time.Minute
	// defaultSharedStaleness and maxSharedStaleness bound SharedStaleness:
	// how long a logout on one instance may take to reach the others.
	defaultSharedStaleness = time.Second
	maxSharedStaleness     = time.Minute
)

// settings is the validated, defaulted configuration.
type settings struct {
	Config
	base *url.URL // BaseURL's origin (no path)
	// basePath is BaseURL's path without a trailing slash: "" or "/app".
	basePath string
	// prefix is the public path of the endpoints: basePath + PathPrefix.
	prefix string
	// home is the default return path: basePath + "/".
	home string
	// cookieTag sets this application's cookie names apart from other
	// applications' under other paths of the same host: "" at the root,
	// "-" and 8 hex digits of SHA-256(basePath) under a path.
	cookieTag string
	secure    bool // cookies carry Secure
	providers map[string]*providers.Provider
	brand     brandStyle
}

// validate copies cfg, fills in defaults and reports every problem at once
// (errors.Join), each naming its field.
func validate(cfg Config) (*settings, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("middleware: Config.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	// Copy what the caller could change afterwards.
	cfg.Providers = slices.Clone(cfg.Providers)
	keys := make([][]byte, len(cfg.Keys))
	for i, k := range cfg.Keys {
		keys[i] = slices.Clone(k)
	}
	cfg.Keys = keys
	if cfg.ChooserTemplate != nil {
		t, err := cfg.ChooserTemplate.Clone()
		if err != nil {
			bad("ChooserTemplate", "cannot be copied (%v): pass a template that has not been executed", err)
		}
		cfg.ChooserTemplate = t
	}
	if cfg.Pages != nil {
		t, err := cfg.Pages.Clone()
		if err != nil {
			bad("Pages", "cannot be copied (%v): pass a template that has not been executed", err)
		}
		cfg.Pages = t
	}
	s := &settings{Config: cfg}
	var brandProblems []string
	s.brand, brandProblems = validateBrand(cfg.Brand)
	for _, p := range brandProblems {
		bad("Brand", "%s", p)
	}
	s.Brand = s.brand.Brand

	base, err := url.Parse(cfg.BaseURL)
	switch {
	case err != nil || base.Host == "" || (base.Scheme != "https" && base.Scheme != "http"):
		bad("BaseURL", "%q must be an absolute http(s) URL such as https://app.example.com", cfg.BaseURL)
	case base.User != nil || base.RawQuery != "" || base.ForceQuery || base.Fragment != "" || base.RawFragment != "":
		bad("BaseURL", "%q must be an origin, optionally with a path (no query, fragment or user info)", cfg.BaseURL)
	case !validBasePath(base.Path) || base.RawPath != "":
		bad("BaseURL", "%q: the path must be segments of letters, digits and \"-._~\" (no \".\" or \"..\" segment, no escapes), such as https://example.com/app", cfg.BaseURL)
	default:
		s.basePath = strings.TrimSuffix(base.Path, "/")
		base.Path = ""
		s.base = base
		s.secure = base.Scheme == "https"
		if !s.secure && !providers.IsLoopback(base.Hostname()) && !cfg.InsecureCookies {
			bad("BaseURL", "%q is plain http on a non-loopback host; use https (InsecureCookies exists for exceptional setups and MUST NOT be used in production)", cfg.BaseURL)
		}
	}

	if len(cfg.Providers) == 0 {
		bad("Providers", "none configured")
	}
	s.providers = make(map[string]*providers.Provider, len(cfg.Providers))
	for i, p := range cfg.Providers {
		switch {
		case p == nil:
			bad("Providers", "[%d] is nil", i)
		case s.providers[p.Name()] != nil:
			bad("Providers", "two providers are named %q", p.Name())
		default:
			s.providers[p.Name()] = p
		}
	}

	if err := cookiekeys.Validate(cfg.Keys); err != nil {
		bad("Keys", "%v", err)
	}

	s.PathPrefix = cmp.Or(s.PathPrefix, defaultPathPrefix)
	if !strings.HasPrefix(s.PathPrefix, "/") || strings.HasSuffix(s.PathPrefix, "/") || strings.ContainsAny(s.PathPrefix, "{}?#% \\") {
		bad("PathPrefix", "%q must start with '/', not end with one, and hold no pattern or escape characters", s.PathPrefix)
	}

	s.prefix = s.basePath + s.PathPrefix
	s.home = s.basePath + "/"
	s.cookieTag = cookieTag(s.basePath)

	s.SessionLifetime = cmp.Or(s.SessionLifetime, session.DefaultLifetime)
	s.RefreshBefore = cmp.Or(s.RefreshBefore, defaultRefreshBefore)
	s.RefreshTimeout = cmp.Or(s.RefreshTimeout, defaultRefreshTimeout)
	if s.SessionLifetime < time.Minute {
		bad("SessionLifetime", "%v is shorter than a minute", s.SessionLifetime)
	}
	switch {
	case s.IdleTimeout < 0 || s.IdleTimeout > 0 && s.IdleTimeout < 4*time.Minute:
		bad("IdleTimeout", "%v: use 0 (none) or at least 4 minutes", s.IdleTimeout)
	case s.IdleTimeout > s.SessionLifetime:
		bad("IdleTimeout", "%v is longer than SessionLifetime %v, so it would never apply", s.IdleTimeout, s.SessionLifetime)
	}
	if s.RefreshBefore < 0 || s.RefreshBefore > maxRefreshBefore {
		bad("RefreshBefore", "%v: use 0 (one minute) or up to %v", s.RefreshBefore, maxRefreshBefore)
	}
	if s.RefreshTimeout < 0 || s.RefreshTimeout > maxRefreshTimeout {
		bad("RefreshTimeout", "%v: use 0 (10 seconds) or up to %v", s.RefreshTimeout, maxRefreshTimeout)
	}
	s.SharedStaleness = cmp.Or(s.SharedStaleness, defaultSharedStaleness)
	if s.SharedStaleness < 0 || s.SharedStaleness > maxSharedStaleness {
		bad("SharedStaleness", "%v: use 0 (one second) or up to %v", s.SharedStaleness, maxSharedStaleness)
	}

	if bt := s.BearerTokens; bt != nil {
		cp := *bt
		s.BearerTokens = &cp
		p := s.providers[bt.Provider]
		switch {
		case p == nil:
			bad("BearerTokens", "Provider %q is not one of Providers", bt.Provider)
		case p.Issuer() == "":
			bad("BearerTokens", "Provider %q is not an OpenID Connect provider: its tokens cannot be verified", bt.Provider)
		case bt.Introspect:
			// A provider not discovered yet is checked at first use
			// (bearerSession), which fails closed.
			if ok, err := p.CanIntrospect(knownOnly()); err == nil && !ok {
				bad("BearerTokens", "Introspect is set but provider %q has no introspection_endpoint", bt.Provider)
			}
		}
		if bt.Audience == "" {
			bad("BearerTokens", "Audience is required (the \"aud\" tokens for this API carry; there is no \"any audience\")")
		}
	}
	if s.SignInPolicy != nil {
		if err := policy.Validate(s.SignInPolicy); err != nil {
			bad("SignInPolicy", "%v", err)
		}
	}
	s.TrustedProxies = slices.Clone(s.TrustedProxies)
	for i, p := range s.TrustedProxies {
		if p.IsValid() && p.Addr().Is4In6() && p.Bits() >= 96 {
			// ::ffff:10.0.0.0/104 is 10.0.0.0/8: client addresses are
			// compared unmapped.
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		if !p.IsValid() || p.Addr().Is4In6() {
			bad("TrustedProxies", "[%d] %v is not a valid IPv4 or IPv6 prefix", i, p)
			continue
		}
		s.TrustedProxies[i] = p.Masked()
	}
	if !s.LoginRateLimit.Off {
		s.LoginRateLimit.Burst = cmp.Or(s.LoginRateLimit.Burst, defaultLoginBurst)
		s.LoginRateLimit.Every = cmp.Or(s.LoginRateLimit.Every, defaultLoginEvery)
		if err := (rateLimit{burst: s.LoginRateLimit.Burst, every: s.LoginRateLimit.Every}).check(); err != nil {
			bad("LoginRateLimit", "%v", err)
		}
	}
	if len(errs) == 0 {
		checkPages(s, bad)
	}
	if s.Sessions == nil && len(errs) == 0 {
		name := "__Host-portcullis" + s.cookieTag
		if !s.secure {
			name = "portcullis" + s.cookieTag
		}
		store, err := session.NewCookieStore(session.CookieConfig{
			Name:            name,
			Keys:            cfg.Keys,
			Lifetime:        s.SessionLifetime,
			InsecureCookies: !s.secure,
		})
		if err != nil {
			bad("Sessions", "%v", err)
		}
		s.Sessions = store
	} else if s.Sessions != nil && s.secure && !writesSecureCookies(s.Sessions) {
		bad("Sessions", "the store writes cookies without Secure, but BaseURL is https: a session cookie would travel over plain http")
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if !s.secure && !providers.IsLoopback(s.base.Hostname()) {
		// SECURITY.md SS-02: the opt-in is loud.
		s.Logger.LogAttrs(context.Background(), slog.LevelWarn,
			"portcullis: InsecureCookies: session cookies travel over plain http to a non-loopback host; anyone on the network can steal sessions. This MUST NOT be used in production",
			reasonAttr("insecure_cookies"))
	}
	return s, nil
}

// writesSecureCookies reports whether every cookie store.Clear writes for
// a request without cookies carries Secure: a store configured for plain
// http (session.CookieConfig.InsecureCookies) writes cookies without it.
func writesSecureCookies(store session.Store) bool {
	w := headerWriter{}
	r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/"}, Header: http.Header{}}
	if store.Clear(w, r) != nil {
		return true // a server-side store that failed: nothing to judge
	}
	for _, line := range w.Header().Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err == nil && !c.Secure {
			return false
		}
	}
	return true
}

// headerWriter is a ResponseWriter that only collects headers.
type headerWriter http.Header

func (w headerWriter) Header() http.Header         { return http.Header(w) }
func (w headerWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w headerWriter) WriteHeader(int)             {}

// callbackURL returns the configured redirect URI of provider name.
func (s *settings) callbackURL(name string) string {
	return s.endpointURL("/callback/" + name)
}

// endpointURL returns the absolute URL of the endpoint at path (such as
// "/logout/callback") under the prefix.
func (s *settings) endpointURL(path string) string {
	return s.base.String() + s.prefix + path
}

// validBasePath reports whether p, BaseURL's path, is empty, "/" or
// segments of unreserved characters (RFC 3986 §2.3) that are not dot
// segments, with an optional trailing slash. Such a path needs no escaping
// anywhere: in a URL, a return-path comparison or a ServeMux pattern.
func validBasePath(p string) bool {
	if p == "" || p == "/" {
		return true
	}
	if p[0] != '/' {
		return false
	}
	for _, seg := range strings.Split(strings.TrimSuffix(p[1:], "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0) {
				return false
			}
		}
	}
	return true
}

// cookieTag returns the cookie-name tag of the application under
// basePath: "" at the root (the names of earlier versions), else "-" and
// the first 4 bytes of SHA-256(basePath) in hex. Hex never spells "flow"
// or "logout", so no tag makes one application's names a prefix of
// another's.
func cookieTag(basePath string) string {
	if basePath == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(basePath))
	return "-" + hex.EncodeToString(sum[:4])
}

// underBase reports whether v, a path that may carry a query or
// fragment, is the base path or below it. At the root every path is.
func (s *settings) underBase(v string) bool {
	if s.basePath == "" {
		return true
	}
	rest, ok := strings.CutPrefix(v, s.basePath)
	return ok && (rest == "" || rest[0] == '/' || rest[0] == '?' || rest[0] == '#')
}

// returnTo validates a return path: safeReturnTo, and under the base
// path. A path elsewhere on the host belongs to another application.
func (s *settings) returnTo(v string) (string, bool) {
	v, ok := safeReturnTo(v)
	if !ok || !s.underBase(v) {
		return "", false
	}
	return v, true
}

// returnToOr is v when returnTo accepts it, the default return path
// otherwise: for a path validated when its flow started, validated again
// at the sink.
func (s *settings) returnToOr(v string) string {
	if v, ok := s.returnTo(v); ok {
		return v
	}
	return s.home
}
