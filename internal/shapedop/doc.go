// Package shapedop puts the documented shapes of four hosted OpenID
// providers — Auth0, Okta, Keycloak and GitLab — in front of an
// internal/oidctest server, for the provider recipes' tests
// (docs/providers/). It is not public API.
//
// A [Server] is a small HTTP front on loopback whose issuer and endpoint
// paths are those the provider documents; it forwards the protocol
// endpoints to the oidctest server behind it (so its checks — PKCE, exact
// redirect_uri, one-time codes, client_secret_basic — and its request log
// apply unchanged) and answers the provider's logout endpoint itself, with
// that provider's rules:
//
//   - [Auth0]: the issuer is the tenant's origin WITH a trailing "/"
//     (https://{tenant}.auth0.com/); endpoints /authorize, /oauth/token,
//     /.well-known/jwks.json, /userinfo; RP-initiated logout at
//     /oidc/logout, advertised as end_session_endpoint only when the
//     tenant's "RP-Initiated Logout End Session Endpoint Discovery" is on
//     (Config.EndSession). A logout redirects to post_logout_redirect_uri
//     only when it is one of the Allowed Logout URLs and a valid
//     id_token_hint names the session; without one the user is asked to
//     confirm (Auth0's logout_hint alternative is not modelled).
//     client_id, when given with a hint, must equal the hint's aud.
//     https://auth0.com/docs/authenticate/login/logout/log-users-out-of-auth0,
//     https://auth0.com/docs/api/authentication/logout/oidc-logout
//   - [Okta]: a custom authorization server, issuer
//     https://{domain}/oauth2/default, endpoints under {issuer}/v1/; a
//     refresh token only when the authorization request asked for
//     offline_access; logout at {issuer}/v1/logout, redirecting to a
//     registered sign-out redirect URI.
//     https://developer.okta.com/docs/concepts/auth-servers/,
//     https://developer.okta.com/docs/guides/refresh-tokens/get-refresh-token/
//   - [Keycloak]: issuer https://{host}/realms/{realm} ([KeycloakLegacy]:
//     /auth/realms/{realm}, before Keycloak 17), endpoints under
//     {issuer}/protocol/openid-connect/; logout there with the rules of
//     Keycloak 18 and later: the old redirect_uri parameter is refused;
//     post_logout_redirect_uri needs id_token_hint or client_id, and must
//     be a registered "Valid post logout redirect URI"; without a valid
//     id_token_hint the user must confirm and is not redirected.
//     https://www.keycloak.org/docs/latest/securing_apps/ (Available Endpoints),
//     https://www.keycloak.org/docs/latest/upgrading/#openid-connect-logout
//   - [GitLab]: issuer https://gitlab.com (or the instance's origin),
//     endpoints /oauth/authorize, /oauth/token, /oauth/userinfo,
//     /oauth/discovery/keys; no end_session_endpoint.
//     https://docs.gitlab.com/integration/openid_connect_provider/
//
// Claims that differ per provider (namespaced roles, realm_access, groups
// claims) are the test's to set with Server.IDClaims and
// Server.UserInfoClaims. What it does not do: it verifies nothing beyond
// what oidctest does, keeps no user sessions (a logout ends nothing but is
// recorded, Server.Logouts), and reproduces no provider's UI.
package shapedop
