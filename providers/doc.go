// Package providers describes the sign-in providers portcullis talks to.
// Every constructor — [OIDC] for any OpenID Connect provider, [Google],
// [Entra] (Microsoft Entra ID, with its multi-tenant issuer), [GitHub],
// and [OAuth2] for any other OAuth 2.0 provider — returns the one
// concrete type, [*Provider]; the middleware uses it to build the
// authorization request, redeem the code, verify who signed in, refresh
// tokens ([Provider.Refresh]) and log out ([Provider.EndSessionURL],
// [Provider.Revoke]).
//
// # The flow, from the provider's side
//
//  1. [Provider.AuthCodeURL] builds the authorization request: response_type
//     code, the scopes, the state, the nonce (OpenID Connect) and the PKCE
//     S256 challenge, always (RFC 7636, RFC 9700 §2.1.1). The redirect URI is
//     the one the application configured, never one derived from a request.
//  2. At the callback, [Provider.Callback] checks the authorization
//     response (RFC 9207 "iss", "error", the code), redeems the code with
//     the PKCE verifier, refuses token responses a client must not use (no
//     access token, a token type other than Bearer, no ID token for OpenID
//     Connect) and verifies the identity.
//  3. For OpenID Connect ([OIDC]) the ID token is verified completely:
//     go-oidc checks the signature against the provider's published keys
//     with a pinned algorithm list, "iss", "aud" and "exp"; this package adds
//     what go-oidc leaves to its caller (OpenID Connect Core §3.1.3.7):
//     "nonce", "iat" present and recent, "sub" present, untrusted extra
//     audiences and "azp", "at_hash" when present, and the UserInfo "sub"
//     when UserInfo is used (§5.3.2).
//
// # Providers that are down
//
// An OpenID Connect provider ([OIDC], [Google]) knows its endpoints and
// keys from its discovery document. The constructor fetches it once,
// within its context; when the provider cannot be reached (no answer, a
// timeout, HTTP 408, 425, 429 or 5xx) the constructor still returns the
// provider, and the document is fetched when a method first needs it.
// Only a configuration that is wrong fails the constructor: a bad option,
// or a document that is reached but wrong (another HTTP status, no JSON,
// another issuer, endpoints that are not https, no pinned signing
// algorithm among those it lists). So an application starts while its
// provider is down.
//
// Every method that needs the document — [Provider.AuthCodeURL],
// [Provider.Callback], [Provider.Refresh], [Provider.EndSessionURL],
// [Provider.CanRevoke], [Provider.Revoke], [Provider.CanIntrospect],
// [Provider.Introspect], [Provider.VerifyAccessToken],
// [Provider.VerifyLogoutToken] — then fetches it, one fetch at a time per
// provider (concurrent callers wait for it, as long as their context
// allows), each bounded by 10 s, with a backoff after each failure that
// doubles from 1 s to 1 min. Until it succeeds they fail with an error
// wrapping [ErrUnavailable] whose RetryAfter method says how long the
// backoff has left; during the backoff, and with a context that is
// already done, they fail at once and fetch nothing. A document that is
// wrong when first reached keeps the provider unavailable the same way,
// logged at error level (OIDCConfig.Logger) once per attempt, since an
// operator may fix the provider while the application runs. A refresh
// that cannot reach the provider is unavailable, never denied: a provider
// that is down signs nobody out. Nothing runs in the background: there
// is no goroutine to stop. Once fetched, the document is kept; the keys
// are refreshed on their own schedule. Plain OAuth 2.0 providers
// ([GitHub], [OAuth2]) have their endpoints from their configuration and
// are never unavailable this way.
//
// # Errors
//
// One vocabulary: [ErrDenied] (the provider refused — the session ends at
// refresh), [ErrUnavailable] (try again later; a rate limit or a
// firewall's page never signs anyone out), [ErrInvalidResponse],
// [ErrNotAllowed], [ErrConsentRequired], and [*Error] with the provider's
// RFC 6749 error fields and Retry-After. Token endpoint errors are
// classified the same way for the code exchange and for refresh.
//
// # Outbound requests
//
// Every request to a provider goes through a client that never follows
// redirects, times out and caps response bodies at 1 MiB. Endpoints must be
// https; plain http is accepted only for loopback hosts, for local
// development and tests ([IsLoopback]). [Provider.Client] calls the
// provider's APIs with a user's token under the same limits, following
// redirects but sending the token only to the origin the request went to.
//
// # What this package does not do
//
// It keeps no state and sets no cookies: state, nonce and verifier are
// minted and kept by the middleware. It does not support the implicit or
// hybrid flows, encrypted ID tokens or request objects.
//
// For development and tests, package devoidc is a real OpenID provider
// that runs in-process.
package providers
