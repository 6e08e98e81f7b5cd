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
// own (encrypted and authenticated, ten minutes, at most five alive, so
// several tabs can sign in at once), and redirects to the provider.
//
// The provider sends the browser to /auth/callback/{provider}. The
// callback checks, cheapest first and before any network call: the size
// and shape of the query, the state against its flow cookie (constant
// time, one use: the cookie is expired whatever happens), that the flow
// was started for this provider (mix-up defence, RFC 9700 §4.4), the
// RFC 9207 "iss" parameter, and an "error" from the provider. Then the
// code is redeemed with the PKCE verifier and the ID token verified
// completely (see package providers). A new session is saved — never the
// one the browser had, so a planted cookie cannot fix the session — and
// the browser is sent to the return path with 303.
//
// On each protected request [Auth.Require] loads the session (decrypt,
// verify, check its absolute lifetime), puts it in the request context
// ([UserFrom], [SessionFrom]) and calls the handler. It makes no network
// call.
//
// GET /auth/logout shows a page with a sign-out button; POST /auth/logout,
// accepted from the same origin only, clears every session and flow
// cookie.
//
// # Return paths
//
// return_to is accepted only as a same-origin relative path, checked when
// the login starts and again before it is written to Location; anything
// else becomes "/". It is carried in the encrypted flow cookie, never in a
// URL the provider sees.
//
// # Errors
//
// Every error response goes through Config.ErrorHandler with an error
// wrapping one of [ErrUnauthenticated], [ErrForbidden],
// [ErrInvalidRequest], [ErrLoginFailed], [ErrProviderUnavailable], or a
// [*ProviderError]; [Status] maps it to the HTTP status. The default
// handler shows a designed HTML page (JSON for API clients) with a generic
// message: no token, code, claim or internal error text reaches the client.
//
// # What this package does not do
//
// It does not trust X-Forwarded-* or Host headers: URLs come from
// Config.BaseURL. It does not verify the ID token again on each request
// (the session is authenticated by the store). It does not refresh tokens,
// end provider sessions or take back-channel logouts yet.
package middleware
