// Package opkit is the one kit the test and development OpenID providers
// share: [github.com/portcullis-go/portcullis/providers/devoidc] and the
// fakes internal/oidctest, internal/fakegoogle, internal/fakeentra,
// internal/fakeapple and internal/fakegithub. It
// holds the mechanics that every provider needs and that should be written
// once, so that the fakes cannot drift apart on a security check. It is not
// public API.
//
// A provider built with it goes through a login like this:
//
//   - every request is kept by a [Recorder] first, so that a test can later
//     assert what was sent where ([Recorder.Requests]);
//   - the authorization endpoint checks the code_challenge's shape
//     ([ValidS256Challenge]) and answers by appending code, state and iss,
//     or an error, to the registered redirect URI ([AppendQuery]);
//   - the token endpoint reads the client's credentials
//     ([ClientSecretBasic], [ClientSecretAuth], or a client assertion or
//     client secret JWT checked by [ClientJWT.Verify]), issues codes and
//     tokens made by [RandomToken], checks the code_verifier against the stored
//     challenge ([VerifyS256], RFC 7636 §4.6), signs the ID token with a
//     [Key] ([Key.Sign], JWS compact serialization, RFC 7515 §7.1) bound to
//     the access token by [AtHash], and answers with [WriteJSON], or with
//     [WriteError] in the shape of RFC 6749 §5.2;
//   - the JWKS endpoint publishes the public keys ([NewJWKS], RFC 7517 §5);
//   - an issuer may use plain http only on a loopback host
//     (internal/loopback, the rule providers.IsLoopback exports).
//
// To play a provider that is down, an [Outage] in front of it refuses,
// drops the connection, hangs or answers 503, and lets requests through
// again when the test says so.
//
// What this package does not do: it verifies no token but the client's
// own JWTs ([ClientJWT]: private_key_jwt assertions, client secret JWTs;
// devoidc's own verifier reads only what devoidc signed), implements no grant, keeps no
// codes or sessions, and forges nothing. The adversarial signatures of
// internal/oidctest (alg "none", HS256 keyed with the public key, a
// corrupted signature, an embedded jwk) are built there from
// [Key.SignInput].
package opkit
