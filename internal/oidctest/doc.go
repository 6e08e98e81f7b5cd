// Package oidctest is an adversarial, in-process OpenID provider for the
// negative tests of portcullis. It is not public API.
//
// A [Server] behaves like an honest OpenID provider until a test tells it
// otherwise:
//
//   - discovery (/.well-known/openid-configuration) with issuer = [Server.URL];
//     a [Server.Discovery] hook edits the document;
//   - JWKS (/jwks) with one RSA-2048 key of its own, kid "k1" ([WithECKey] adds a P-256
//     key, kid "e1"; [Server.Rotate] adds a new RSA key);
//   - an authorization endpoint (/authorize) that records the request, mints a
//     one-time code and redirects to redirect_uri with code, state and iss;
//     [Server.Authorize] rewrites that callback query;
//   - a token endpoint (/token) that enforces client authentication
//     (client_secret_basic with [ClientID] and [ClientSecret] by default;
//     [WithClientAuth] chooses the methods, client_secret_post or
//     private_key_jwt with an assertion checked completely against the key
//     of [WithClientKey]: signature, typ, iss, sub, aud the issuer alone,
//     exp, lifetime, jti never replayed), grant_type, the exact redirect_uri of the
//     authorization request, PKCE S256 and one-time codes, and answers with
//     access, refresh and ID tokens; [Server.IDToken] edits the ID token's
//     claims and header (and chooses a [Signing]), [Server.Token] edits the
//     JSON response and [Server.TokenResponse] replaces it entirely;
//   - a UserInfo endpoint (/userinfo) that accepts only issued Bearer tokens;
//     [Server.UserInfo] edits its claims;
//   - an introspection endpoint (/introspect, RFC 7662) that enforces
//     the same client authentication and calls the access tokens it issued (also with
//     [Server.IssueAccessToken]) active until they expire;
//     [Server.Introspection] edits its answer and
//     [Server.IntrospectionResponse] replaces it;
//   - with [WithRevocation], a revocation endpoint (/revoke, RFC 7009)
//     with the same client authentication;
//   - an attacker's key set (/attacker/jwks) that [SignJKU] tokens point to;
//     nobody should ever fetch it.
//
// Every request is recorded: [Server.Requests] returns those to one path, so
// a test can assert that the token endpoint was never called. [Server.Secrets]
// lists every code and token the server handed out, for leak assertions.
//
// Hooks are plain fields. Set them before the request they should affect
// (network I/O orders the write before the server's read); a nil hook means
// the honest behaviour.
//
// JWTs are assembled by hand so that a test controls every header member:
// [Server.Sign] mints any JWT (for logout tokens or JWT access tokens,
// say: Header.Typ "at+jwt") and [Server.SignRaw]
// signs an arbitrary payload. The RSA and ECDSA signatures, the JWKS, the
// PKCE check, the JSON and error responses and the request log come from
// the kit the providers share (internal/opkit); only the forgeries are
// made here, HS256 with crypto/hmac.
package oidctest
