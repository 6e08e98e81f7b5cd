// Package devoidc is a small, real OpenID provider that runs inside your Go
// process, for local development, demos and tests.
//
// NEVER USE IT IN PRODUCTION. Anyone who can reach its sign-in page can
// sign in as any configured user without a password, all state lives in
// memory and is lost on restart, and the default signing key changes every
// time the program starts.
//
// It is a complete enough provider that the relying party does not know
// the difference: [github.com/coreos/go-oidc/v3/oidc] discovers it and
// verifies its ID tokens, and [golang.org/x/oauth2] runs the authorization
// code flow against it. It powers the project's zero-configuration demo and
// end-to-end tests, and it is meant for your tests too.
//
// # Setting up
//
// [New] takes a [Config] with the issuer URL, the registered [Client]s and,
// optionally, the test [User]s (by default Ada Lovelace, subject "ada", and
// Grace Hopper, subject "grace"). The [Server] it returns is an
// [net/http.Handler]; serve it at the issuer's address. In a test, create
// the listener first so that the issuer is known before New:
//
//	ts := httptest.NewUnstartedServer(nil)
//	op, err := devoidc.New(devoidc.Config{
//		Issuer:  "http://" + ts.Listener.Addr().String(),
//		Clients: []devoidc.Client{{ID: "app", Secret: "s3cret", RedirectURIs: []string{"http://127.0.0.1:8080/callback"}}},
//		AutoLogin: "ada", // no sign-in page: redirects go straight back with a code
//	})
//	ts.Config.Handler = op
//	ts.Start()
//
// # Endpoints
//
// All routes are relative to the issuer's path:
//
//   - GET /.well-known/openid-configuration: the discovery document
//     (OpenID Connect Discovery 1.0 §4).
//   - GET /jwks: the RS256 public keys (RFC 7517), the current one first;
//     [Server.RotateKey] adds a new one.
//   - GET /authorize: the authorization endpoint (OpenID Connect Core 1.0
//     §3.1.2). Only response_type=code, with PKCE S256 required
//     (RFC 7636). An unknown client_id or a redirect_uri that is not
//     registered exactly gets an HTML error page, never a redirect. Without
//     AutoLogin it shows a sign-in page with two buttons per user, to sign
//     in with one factor or with a second one; POST /authorize is that
//     page's form, refused when it comes from another site. Signing in
//     starts an OP session in a cookie whose name begins with "devoidc_",
//     so the next request signs in silently (single sign-on) unless
//     prompt=login, max_age or acr_values ask otherwise (see Step-up
//     authentication); prompt=none without a usable session returns
//     login_required. The response carries code, state and iss (RFC 9207).
//     Codes are single use and live 60 seconds.
//   - POST /token: the authorization_code and refresh_token grants, with
//     client_secret_basic or client_secret_post. Every response carries an
//     access token (see Access tokens), a refresh token and an ID token.
//     Refresh tokens rotate on every use; presenting a spent one revokes
//     the whole grant (RFC 9700 §4.14.2), and so does replaying a code
//     (RFC 6749 §4.1.2). The client_credentials grant (RFC 6749 §4.4),
//     with the same client authentication and an optional scope, returns
//     only an access token whose sub is the client ID: no refresh token and
//     no ID token.
//   - GET and POST /userinfo: the user's claims, for a Bearer access token
//     in the Authorization header only; a client_credentials token, which
//     names no user, is refused.
//   - POST /revoke: token revocation (RFC 7009).
//   - POST /introspect: token introspection (RFC 7662), authenticated like
//     the token endpoint. A live access token of devoidc, opaque or JWT, is
//     {"active":true} with sub, client_id, scope, exp, iat, iss,
//     token_type "Bearer" and, for a JWT, aud; anything else, revoked,
//     expired or not an access token, is {"active":false}.
//   - GET and POST /end_session: RP-Initiated Logout 1.0. It ends the OP
//     session, revokes its grants and redirects to a registered
//     post_logout_redirect_uri.
//
// Claims are released by scope: "profile" gives name, preferred_username
// and groups; "email" gives email and email_verified; "groups" gives
// groups. ID tokens always carry iss, sub, aud (the client ID), exp, iat,
// auth_time, acr, amr, at_hash and sid, and nonce when the request had one.
//
// [Server.Stats] counts requests, exchanges, refreshes, client_credentials
// grants, detected replays, revocations, introspections and back-channel
// deliveries, so a test can assert, for example, that a middleware
// refreshed exactly once, or poll until a logout token has been delivered.
//
// # Step-up authentication
//
// devoidc signs users in at one of two levels (OpenID Connect Core 1.0
// §2, §3.1.2.1): [ACRPassword], with amr ["pwd"], and [ACRMultiFactor],
// with amr ["pwd", "otp"]; both factors are simulated, and nothing is
// asked. The ID token's auth_time is the time of that sign-in, which
// single sign-on and refreshing never move. A request that asks for more
// than the OP session gives, because of prompt=login, a max_age that the
// time since the sign-in has reached, or acr_values that contain
// ACRMultiFactor over an ACRPassword session, signs in again: on the
// sign-in page, or with AutoLogin at once, with ACRMultiFactor when
// acr_values contain it and ACRPassword otherwise. Other acr_values are
// met with ACRPassword, and a user who picks the one-factor button when
// ACRMultiFactor was asked gets ACRPassword: the relying party checks acr.
// [Config.IgnoreStepUp] simulates a provider that ignores all of this.
//
// # Access tokens
//
// Access tokens are opaque by default. With [Config.AccessTokenAudience]
// they are JWTs in the profile of RFC 9068 for that audience, signed with
// the ID tokens' keys (header typ "at+jwt" and kid), which a resource
// server verifies against the JWKS; they carry iss, sub, aud, exp, iat,
// jti, client_id, scope and, when a user signed in, auth_time, acr and
// amr. Either kind works at the userinfo, revocation and introspection
// endpoints, and is revoked with its grant. A script gets one for a
// service, without a user, from the client_credentials grant:
//
//	curl -u app:secret -d grant_type=client_credentials -d scope=read http://127.0.0.1:PORT/token
//
// # Logout
//
// An OP session ends at the end_session endpoint, or when
// [Server.EndSessions] ends all of a user's sessions ("sign out
// everywhere", for a test or a demo). Either way the grants issued under
// the session are revoked, and each client that obtained tokens under it
// and has a [Client.BackchannelLogoutURI] is sent a logout token
// (OpenID Connect Back-Channel Logout 1.0,
// https://openid.net/specs/openid-connect-backchannel-1_0.html): a JWT
// with typ logout+jwt, signed like the ID tokens, carrying iss, aud, iat,
// exp (two minutes later), jti, the events claim, the user's sub and the
// session's sid (the same sid as in the ID tokens), and never a nonce. It
// is POSTed as the form parameter logout_token, in the background so that
// the browser's response does not wait. A 200 or 204 answer is a delivery;
// a 400 is a refusal and is not retried; a network error or a status
// outside 2xx is retried once, a second later. Requests time out after 5 seconds and never follow
// redirects; [Config.HTTPClient] supplies the transport, for example to
// trust a test server's certificate. A session that simply expires, or
// that a new sign-in in the same browser replaces, sends nothing.
//
// # What it does not do
//
// No implicit or hybrid flow, no public clients (every client has a
// secret), no plain PKCE, no consent screen, no request objects, no claims
// parameter (so acr cannot be requested as essential), no dynamic
// registration, no encrypted tokens and no algorithm other than RS256, no
// front-channel logout and no session management iframe. No password
// grant, device flow, token exchange, DPoP or mutual-TLS binding, and no
// resource indicators (RFC 8707): JWT access tokens have the one
// AccessTokenAudience, whoever asks. The client_credentials grant grants
// whatever scope is asked, for any registered client. Introspection
// answers about access tokens only (refresh tokens are inactive) and
// lets any registered client ask about any token. A resource server that
// verifies JWT access tokens by itself does not learn that one was
// revoked; only introspection and userinfo do. Logout tokens are not
// queued beyond the one retry nor persisted. OP sessions last 12 hours;
// refresh grants last RefreshTokenTTL from the code exchange.
package devoidc
