package middleware

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Auth is the login middleware: the /auth endpoints ([Auth.Handler]) and
// the login requirement for application routes ([Auth.Require]). It is
// immutable after [New] and safe for concurrent use.
type Auth struct {
	s     *settings
	flows *flowCookies
	// logouts are the flow cookies of RP-initiated logouts.
	logouts *flowCookies
	// background tracks work that outlives its request (token
	// revocation at logout); tests wait on it.
	background sync.WaitGroup
	mux        *http.ServeMux
	cop        *http.CrossOriginProtection
	log        *slog.Logger
	pages      *pages
	// refresher makes sure each refresh token is redeemed once.
	refresher *refresher
	// usedStates makes each login's callback work once.
	usedStates usedStates
	// mountLogged makes each mounting mistake logged once (mount.go).
	mountLogged [mountMistakes]sync.Once
	now         func() time.Time
}

// New validates cfg and returns an Auth. It refuses missing or short keys,
// a BaseURL that is not an absolute https origin (or http on loopback), no
// providers, duplicate provider names and a bad PathPrefix.
func New(cfg Config) (*Auth, error) {
	s, err := validate(cfg)
	if err != nil {
		return nil, err
	}
	flows, err := newFlowCookies(s.Keys, s.secure, s.cookieTag, "flow")
	if err != nil {
		return nil, err
	}
	logouts, err := newFlowCookies(s.Keys, s.secure, s.cookieTag, "logout")
	if err != nil {
		return nil, err
	}
	pg, err := newPages(s)
	if err != nil {
		return nil, err
	}
	a := &Auth{
		s:       s,
		flows:   flows,
		logouts: logouts,
		mux:     http.NewServeMux(),
		cop:     http.NewCrossOriginProtection(),
		log:     s.Logger,
		pages:   pg,
		now:     time.Now,
	}
	a.refresher = newRefresher(s.RefreshTimeout, func() time.Time { return a.now() }, func() {
		a.log.LogAttrs(context.Background(), levelWarn, "portcullis: refresh memo full: the grace entry closest to its end was evicted", reasonAttr("refresh_memo_evicted"))
	})
	if s.Shared != nil {
		seal, err := newSealer(s.Keys)
		if err != nil {
			return nil, err
		}
		a.refresher.shared = &sharedRefresh{
			sh: s.Shared, seal: seal, timeout: s.RefreshTimeout, margin: sharedLockMargin, poll: sharedPollEvery,
			now: func() time.Time { return a.now() },
			onUnrecorded: func(error) {
				// The request that refreshed goes on with the new tokens;
				// the lock, kept, expires on its own.
				a.emit(context.Background(), Event{Kind: EventStoreError, Reason: "refresh_shared_unrecorded"})
			},
		}
		a.usedStates = sharedUsedStates{sh: s.Shared}
	} else {
		a.usedStates = newMemoryUsedStates(func() time.Time { return a.now() })
	}
	switch {
	case s.Revocations != nil:
	case s.Shared != nil:
		s.Revocations = newSharedRevocations(s.Shared, s.SharedStaleness, func() time.Time { return a.now() })
	default:
		s.Revocations = newMemoryRevocations(func() time.Time { return a.now() })
	}
	if s.ErrorHandler == nil {
		s.ErrorHandler = a.serveError
	}
	p := s.prefix
	limited := func(h http.HandlerFunc) http.Handler { return h }
	if !s.LoginRateLimit.Off {
		rl := newRateLimiter(rateLimit{burst: s.LoginRateLimit.Burst, every: s.LoginRateLimit.Every}, func() time.Time { return a.now() })
		limited = func(h http.HandlerFunc) http.Handler { return rl.wrap(h, a.clientIP, a.serveRateLimited) }
	}
	// A GET pattern matches HEAD too: these would start a login, finish
	// one or end a logout flow. HEAD does nothing (serveHead).
	for _, path := range [...]string{"/login", "/login/{provider}", "/callback/{provider}", "/logout/callback"} {
		a.mux.HandleFunc("HEAD "+p+path, serveHead)
	}
	a.mux.Handle("GET "+p+"/login", limited(a.serveLogin))
	a.mux.Handle("GET "+p+"/login/{provider}", limited(a.serveLoginProvider))
	a.mux.Handle("GET "+p+"/callback/{provider}", limited(a.serveCallback))
	a.mux.HandleFunc("GET "+p+"/logout", a.serveLogoutPage)
	a.mux.HandleFunc("POST "+p+"/logout", a.serveLogout)
	a.mux.HandleFunc("GET "+p+"/logout/callback", a.serveLogoutCallback)
	a.mux.HandleFunc("GET "+p+"/userinfo", a.serveUserInfo)
	a.mux.Handle(p+"/backchannel-logout/{provider}", newBackchannel(a))
	a.mux.HandleFunc(p+"/", a.serveUnknown)
	return a, nil
}

// Handler returns the handler of the endpoints under PathPrefix; mount it
// with mux.Handle(PathPrefix+"/", auth.Handler()), without a method in the
// pattern (logout is a POST, sign-in a GET). With a path in BaseURL, such
// as https://example.com/app, mount it at the full path,
// mux.Handle("/app/auth/", auth.Handler()), or behind a StripPrefix of
// BaseURL's path only: mux.Handle("/app/", http.StripPrefix("/app",
// appMux)) with appMux.Handle("/auth/", auth.Handler()). Handler answers
// both forms; the URLs it writes are always the full ones.
//
// A mounting mistake is answered with 500 (ErrInternal) and logged once
// at error level, naming the fix: a pattern with a method ("GET /auth/"),
// or a request outside PathPrefix (a prefix other than PathPrefix, or a
// StripPrefix that removed PathPrefix too). HEAD requests for the
// endpoints that start or finish a flow get 405: they set no cookie and
// call no provider.
//
//	GET  /auth/login?return_to=/path            sign-in page, or straight to the only provider
//	GET  /auth/login/{provider}?return_to=/path start a login with that provider
//	GET  /auth/callback/{provider}              finish it (the provider's redirect URI)
//	GET  /auth/logout                           a page with a sign-out button
//	POST /auth/logout?return_to=/path           sign out (same-origin requests only)
//	GET  /auth/logout/callback                  back from the provider's logout (state checked)
//	POST /auth/backchannel-logout/{provider}    OpenID Connect Back-Channel Logout 1.0
//	GET  /auth/userinfo                         the signed-in user as JSON, or 401
//
// return_to is accepted only as a same-origin relative path; anything else
// becomes "/".
func (a *Auth) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		r, err := a.mounted(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.mux.ServeHTTP(w, r)
	})
}

// serveUnknown answers a path under PathPrefix that no endpoint serves:
// 405 with Allow when an endpoint serves it with other methods, else 404.
func (a *Auth) serveUnknown(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range [...]string{http.MethodGet, http.MethodPost} {
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, pattern := a.mux.Handler(probe); pattern != "" && pattern != a.s.prefix+"/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	a.fail(w, r, fail(ErrNotFound, "unknown_endpoint", nil))
}

// clientIP is the request's client address by Config.TrustedProxies.
func (a *Auth) clientIP(r *http.Request) netip.Addr { return clientIP(r, a.s.TrustedProxies) }

// serveRateLimited answers a sign-in request over the rate limit.
func (a *Auth) serveRateLimited(w http.ResponseWriter, r *http.Request, retryAfter time.Duration) {
	a.emit(r.Context(), Event{Kind: EventRateLimited, Provider: r.PathValue("provider"), Reason: "rate_limited", Status: http.StatusTooManyRequests})
	w.Header().Set("Retry-After", retryAfterValue(retryAfter))
	a.fail(w, r, fail(ErrRateLimited, "rate_limited", nil))
}

// fail sends err to the error handler.
func (a *Auth) fail(w http.ResponseWriter, r *http.Request, err error) {
	a.s.ErrorHandler(w, r, err)
}

// loginPath returns the sign-in URL path for returnTo.
func (a *Auth) loginPath(returnTo string) string {
	if returnTo == "" || returnTo == a.s.home {
		return a.s.prefix + "/login"
	}
	return a.s.prefix + "/login?return_to=" + queryEscape(returnTo)
}
