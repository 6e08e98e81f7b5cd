// Package middleware puts net/http handlers behind a login with OpenID
// Connect and OAuth 2.0 providers.
//
//	auth, err := middleware.New(middleware.Config{
//		BaseURL:   "https://app.example.com",
//		Providers: []*providers.Provider{corp},
//		Keys:      [][]byte{key}, // 32 random bytes
//	})
//	mux.Handle("/auth/", auth.Handler())
//	mux.Handle("/app/", auth.Require(app))
//
// # How do I …
//
// Require a login: mount [Auth.Handler] under /auth/ and wrap what is
// private in [Auth.Require]; [Auth.RequireWith] and package
// middleware/policy say who may enter (email domains, groups, GitHub
// organisations, a function):
//
//	mux.Handle("/auth/", auth.Handler())
//	mux.Handle("/app/", auth.Require(app))
//	mux.Handle("/admin/", auth.RequireWith(policy.Groups("admins"))(admin))
//
// Read the user: in a handler behind Require, [UserFrom] (who) and
// [SessionFrom] (the whole session, with the token expiry):
//
//	u, _ := middleware.UserFrom(r.Context()) // u.Name, u.Email, u.ID()
//
// Add Google or GitHub: [providers.Google] and [providers.GitHub] return a
// provider for Config.Providers, like [providers.OIDC] for any OpenID
// Connect provider; with several, /auth/login shows a button for each.
// Register BaseURL + "/auth/callback/<name>" at the provider.
//
// Keep the keys in the environment: Config.Keys takes raw bytes;
// [session.ParseKeys] decodes SESSION_KEYS-style text (comma separated,
// base64, newest first) into them:
//
//	keys, err := session.ParseKeys(os.Getenv("SESSION_KEYS"))
//
// Call the provider's API: [Auth.Client] is an *http.Client that sends the
// user's access token (refreshed when needed) and nothing to other
// origins; [Auth.TokenSource] gives the token itself (see their Examples).
//
// Log out: a same-origin POST to /auth/logout; a GET shows a confirmation
// page. The button of your pages (see Example (Logout)):
//
//	<form method="post" action="/auth/logout"><button>Sign out</button></form>
//
// [Auth.EndSessions] signs a user out everywhere.
//
// Handle errors yourself: Config.ErrorHandler receives every refusal; use
// [Status] for the status and [LoginURL] to send a browser to sign in
// (see Config's Example (ErrorHandler)). Run code at each sign-in:
// Config.OnLogin; link identities to accounts: Config.LinkAccount.
//
// Use the provider's claims: name the ones to keep in
// providers.OIDCConfig.KeepClaims and read them behind Require with
// session.User.Claim; set OIDCConfig.GroupsClaim to fill Groups from a
// claim path. For any other mapping, [SignInClaims] gives every claim of
// the sign-in to Config.SignInPolicy, LinkAccount and OnLogin, which can
// set s.User.Groups, s.User.Account or a claim of its own in
// s.User.Claims:
//
//	u, _ := middleware.UserFrom(r.Context())
//	var tenant string
//	ok, err := u.Claim("tid", &tenant) // KeepClaims: []string{"tid"}
//
// Put my app's name on the pages: Config.Brand gives every built-in page
// (sign-in, errors, sign-out) a name, a logo (inline SVG, checked, or an
// image on your own origin) and an accent colour, checked for contrast in
// the light and dark schemes (see [Brand]'s Example). Replace a page:
// Config.Pages, templates named "chooser", "error", "forbidden",
// "unavailable", "logout" or "signed-out", each executed with a [Page]
// (see Config's Example (Pages)).
//
// Test my handler: package middleware/authtest provides a signed-in
// request for a handler behind Require, and an in-process provider
// (providers/devoidc) for tests that go through the whole sign-in.
//
// # The flow
//
// A request to a protected route without a session is, for a browser
// navigation, redirected to /auth/login?return_to=<the requested path>;
// other requests (fetch, API clients) get 401 with a JSON body.
//
// /auth/login redirects to the only provider, or shows a page with one
// button per provider. Starting a login mints a fresh state, nonce and PKCE
// verifier with crypto/rand, keeps them with the provider's name and
// issuer, the validated return path and the time in a flow cookie of its
// own (encrypted and authenticated, ten minutes, at most five alive and
// 4 KiB together, so several tabs can sign in at once), and redirects to
// the provider.
//
// The provider sends the browser to /auth/callback/{provider}. The
// callback checks, cheapest first and before any network call: the size
// and shape of the query, the state against its flow cookie (constant
// time, one use: the cookie the state names is expired whatever happens,
// and the state is recorded as used before the code is redeemed, so a
// reload or a retried request cannot redeem it twice), that the flow was
// started for this provider (mix-up defence, RFC 9700 §4.4). Then
// [providers.Provider.Callback] checks the RFC 9207 "iss" parameter and
// an "error" from the provider, redeems the code with the PKCE verifier
// and verifies the ID token completely. A new session is saved — never the
// one the browser had, so a planted cookie cannot fix the session — and
// the browser is sent to the return path with 303.
//
// On each protected request [Auth.Require] loads the session (decrypt,
// verify, check its lifetimes, that its provider still has the issuer
// that made it, and the revocation list), puts it in the request context
// ([UserFrom], [SessionFrom]) and calls the handler. It makes no network
// call. Whatever changes the session during the request (a refresh, the
// idle-activity update) is written into the response's headers: before
// the handler runs, at once when a refresh through [Auth.TokenSource] or
// [Auth.Client] changes it again, and for good just before the response's
// first byte. A response that carries the session cookie is made private
// to shared caches (Cache-Control private, Vary: Cookie).
//
// # Refresh
//
// When the access token expires within RefreshBefore, Require refreshes it
// before calling the handler and saves the new tokens in the session. A
// refresh token is redeemed once however many requests carry it: requests
// at the same moment share one token-endpoint call (single-flight), and
// for a short grace window a request still carrying the old cookie gets
// the tokens already issued instead of replaying the spent refresh token,
// which providers that rotate refresh tokens answer by revoking the whole
// grant. A refusal (invalid_grant and the other grant-ending codes) ends
// the session; a transient failure (a timeout, 5xx, a rate limit, a
// firewall's page) keeps the current token while it is valid and backs
// off, honouring Retry-After; an expired token is never passed on. [Auth.TokenSource] and [Auth.Client] give
// handlers the user's token for the provider's APIs through the same path.
//
// # Frameworks
//
// Require has net/http's middleware shape and Handler is an
// [net/http.Handler], so any router takes them; examples/frameworks (a
// module of its own) has one application per framework, with these lines
// of glue. A rotated session cookie reaches the browser whichever writer
// the framework's handlers write to, because portcullis writes it into
// the header map of the ResponseWriter Require was given, which every
// framework's writer shares, as soon as the session changes. Refresh
// (call [Auth.Client]) before writing the response, as for any header; a
// refresh after the response started through a writer portcullis does not
// see cannot reach the browser.
//
// ServeMux (Go 1.22 patterns):
//
//	mux.Handle("/auth/", auth.Handler())
//	mux.Handle("GET /private", auth.Require(private))
//
// chi:
//
//	r.Handle("/auth/*", auth.Handler())
//	r.Group(func(r chi.Router) {
//		r.Use(auth.Require)
//		r.Get("/private", private)
//	})
//
// gorilla/mux:
//
//	r.PathPrefix("/auth/").Handler(auth.Handler())
//	s := r.NewRoute().Subrouter()
//	s.Use(auth.Require)
//	s.HandleFunc("/private", private)
//
// echo:
//
//	e.Any("/auth/*", echo.WrapHandler(auth.Handler()))
//	g := e.Group("", echo.WrapMiddleware(auth.Require))
//	g.GET("/private", private)
//
// gin, where handlers take the request from c.Request (its context holds
// the session) and write to c.Writer:
//
//	r.Any("/auth/*path", gin.WrapH(auth.Handler()))
//	g := r.Group("/", func(c *gin.Context) {
//		passed := false
//		auth.Require(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
//			passed = true
//			c.Request = r
//			c.Next()
//		})).ServeHTTP(c.Writer, c.Request)
//		if !passed {
//			c.Abort() // Require answered: a redirect to sign in, or 401
//		}
//	})
//	g.GET("/private", private)
//
// A framework or middleware whose writer keeps a header map of its own
// (one that buffers the response, say) must be given to Require as its
// writer, or run inside Require, so that the session's cookie is in the
// headers that are sent.
//
// # Logout and session lifetimes
//
// GET /auth/logout shows a page with a sign-out button; POST /auth/logout,
// accepted from the same origin only, clears every session and flow
// cookie, puts the session on the revocation list (a copied cookie stops
// working too), revokes the refresh token at the provider in the
// background (RFC 7009), and sends the browser to the provider's
// end_session_endpoint (RP-Initiated Logout) with a fresh state; the
// provider sends it back to /auth/logout/callback, which continues to
// return_to only with that state. POST /auth/backchannel-logout/{provider}
// receives OpenID Connect Back-Channel Logout tokens and ends the sessions
// they name; [Auth.EndSessions] ends every session of a user. Every
// protected request checks the revocation list ([RevocationStore]), the
// absolute lifetime (SessionLifetime) and the idle timeout (IdleTimeout).
//
// # Providers that are down
//
// An application starts, and serves everything but sign-ins with a
// provider, while that provider is down: providers.OIDC returns a
// provider it cannot reach and fetches its discovery document on first
// use, with a backoff (see the providers package), and New reads nothing
// it would have to wait for. A sign-in with it gets 503 with Retry-After:
// by default a page saying that "<display name> is unavailable", with a
// link that starts the same sign-in again (JSON for API clients). The
// sign-in page, the other providers and the routes behind Require work;
// signed-in users keep their sessions, since a refresh that cannot reach
// the provider is transient (their token while it is valid, 502 after).
//
// # Return paths
//
// return_to is accepted only as a same-origin relative path, checked when
// the login starts and again before it is written to Location; anything
// else becomes "/". It is carried in the encrypted flow cookie, never in a
// URL the provider sees.
//
// # Under a sub-path
//
// With BaseURL "https://example.com/app", the endpoints are at
// /app/auth/..., every URL portcullis writes is under /app, return paths
// must be under /app (anything else becomes "/app/"), and the cookies,
// still __Host- with Path=/, have names of their own. Mount Handler at the
// full path or behind http.StripPrefix("/app", ...); both work:
//
//	mux.Handle("/app/auth/", auth.Handler())
//	mux.Handle("/app/", auth.Require(app))
//
// A pattern with a method ("GET /auth/": logout is a POST) or a prefix
// other than PathPrefix answers 500 and logs one error that names the
// fix; see [Auth.Handler].
//
// # Errors
//
// Every error response goes through Config.ErrorHandler with an error
// wrapping exactly one of [ErrUnauthenticated], [ErrForbidden],
// [ErrInvalidRequest], [ErrLoginFailed], [ErrProviderUnavailable],
// [ErrStoreUnavailable], [ErrNotFound] or [ErrInternal] — and the
// provider's [*providers.Error] when it sent one; [Status] maps it to the
// HTTP status. The default
// handler shows a designed HTML page (JSON for API clients) with a generic
// message: no token, code, claim or internal error text reaches the client.
//
// # Events
//
// Every security-relevant thing that happens is an [Event], logged on
// Config.Logger and handed to Config.Observer (for metrics, alerts, an
// audit trail; see examples/metrics for Prometheus) through one function.
// A request emits one event for what decided it. The log records carry
// these attributes, whose names and values are stable (empty ones are left
// out):
//
//	event     the kind: login_started, login, login_failed, state_invalid,
//	          csrf_failed, rate_limited, policy_denied, refresh,
//	          refresh_coalesced, refresh_failed, session_ended, logout,
//	          logout_refused, bearer_refused, store_error
//	provider  the configured provider's name (never one a request chose)
//	reason    a fixed code: state_mismatch, code_exchange_refused,
//	          refresh_denied, session_store, …
//	logout    local, everywhere (EndSessions) or backchannel
//	error     the provider's OAuth error code, when it is a registered one
//	user      the pseudonymous reference u_… ([UserRef]), not a claim
//	status    the HTTP status portcullis answers with, when the event decides it
//
// Levels: Debug for refresh_coalesced, Info for the other successes, Warn
// for refusals, Error for store_error. No token, code, state, cookie,
// claim or provider text is ever part of an event (the package's tests scan
// everything they log for every secret they handle). A few diagnostic
// records that are not events (a refresh memo entry evicted, a consent
// restart, token revocation at the provider) use the same attribute names.
//
// # What this package does not do
//
// It does not trust X-Forwarded-* or Host headers: URLs come from
// Config.BaseURL. It does not verify the ID token again on each request
// (the session is authenticated by the store). Its default revocation
// list and refresh coordination live in one process's memory: several
// instances need a shared RevocationStore, and coordinate refreshes only
// within each process.
package middleware
