package opkit

import (
	"crypto"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// ClientSecretBasic returns the client_id and client_secret of a request
// that authenticates with HTTP Basic (client_secret_basic): each is
// form-urlencoded before the pair is base64-encoded (RFC 6749 §2.3.1), so
// both are decoded here. ok is false when the request has no Basic
// credentials or either part does not decode.
//
// It does not compare the secret, and does not say whether the request
// also carries credentials in its body: whether that is allowed is each
// provider's policy.
func ClientSecretBasic(r *http.Request) (id, secret string, ok bool) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return "", "", false
	}
	id, err1 := url.QueryUnescape(user)
	secret, err2 := url.QueryUnescape(pass)
	if err1 != nil || err2 != nil {
		return "", "", false
	}
	return id, secret, true
}

// ClientSecretAuth reports whether the request authenticates the client
// id with secret by client_secret_basic ([ClientSecretBasic]) or
// client_secret_post (RFC 6749 §2.3.1), and not by both: Basic
// credentials that do not decode, or a body client_secret next to them,
// fail. The secret is compared in constant time. r.ParseForm must have
// been called.
func ClientSecretAuth(r *http.Request, id, secret string) bool {
	var gotID, gotSecret string
	if _, _, basic := r.BasicAuth(); basic {
		var ok bool
		if gotID, gotSecret, ok = ClientSecretBasic(r); !ok || r.PostForm.Has("client_secret") {
			return false
		}
	} else {
		gotID, gotSecret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	return gotID == id && subtle.ConstantTimeCompare([]byte(gotSecret), []byte(secret)) == 1
}

// ClientJWTType is the explicit JOSE "typ" of a client authentication JWT
// (draft-ietf-oauth-rfc7523bis-11 §4,
// https://datatracker.ietf.org/doc/html/draft-ietf-oauth-rfc7523bis-11).
const ClientJWTType = "client-authentication+jwt"

// ClientAssertionType is the client_assertion_type of a JWT client
// assertion (RFC 7523 §2.2).
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// ClientJWT is what a client authentication JWT must be: a
// private_key_jwt client assertion (RFC 7523 §3, with the rules of its
// update draft-ietf-oauth-rfc7523bis-11 §4), or a JWT used as a client
// secret (Sign in with Apple's). Empty fields are not checked, but Key.
type ClientJWT struct {
	// Key verifies the signature: an *rsa.PublicKey (RS256), an
	// *ecdsa.PublicKey (ES256, ES384, ES512 by its curve) or an
	// ed25519.PublicKey (EdDSA).
	Key crypto.PublicKey
	// Alg, KeyID, Typ: the header's "alg", "kid" and "typ" must be these.
	Alg, KeyID, Typ string
	// Issuer, Subject and Audience: "iss", "sub" and "aud" must be these;
	// "aud" a single JSON string, not an array.
	Issuer, Subject, Audience string
	// MaxLifetime bounds "exp" - "iat"; both are required whatever it is,
	// and "exp" must be after "iat".
	MaxLifetime time.Duration
	// Now is the time "exp" must be after and "iat" not after (with
	// a minute of leeway).
	Now time.Time
}

// ClientJWTClaims are the claims [ClientJWT.Verify] read.
type ClientJWTClaims struct {
	JTI      string
	IssuedAt time.Time
	Expiry   time.Time
}

// ClientJWTError is the error of [ClientJWT.Verify]. Check names the rule
// the token broke, for a provider that reports it: "malformed", "alg",
// "kid", "typ", "signature", "iss", "sub", "aud", "iat" (missing or in
// the future), "exp" (missing or not after iat), "expired" or "lifetime".
type ClientJWTError struct {
	Check string
	why   string
}

// Error says which rule was broken; it quotes nothing from the token.
func (e *ClientJWTError) Error() string { return "opkit: client JWT: " + e.why }

func refuse(check, why string) (*ClientJWTClaims, error) {
	return nil, &ClientJWTError{Check: check, why: why}
}

// Verify checks token against c and returns its claims; the caller keeps
// the "jti"s it has seen to refuse a replay. Its errors are
// *[ClientJWTError]s and quote nothing from token.
func (c ClientJWT) Verify(token string) (*ClientJWTClaims, error) {
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.ES384, jose.ES512, jose.EdDSA})
	if err != nil || len(jws.Signatures) != 1 {
		return refuse("malformed", "not a compact JWS with an allowed algorithm")
	}
	h := jws.Signatures[0].Protected
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	switch {
	case c.Alg != "" && h.Algorithm != c.Alg:
		return refuse("alg", "wrong alg")
	case c.KeyID != "" && h.KeyID != c.KeyID:
		return refuse("kid", "wrong kid")
	case c.Typ != "" && typ != c.Typ:
		return refuse("typ", "wrong typ")
	}
	payload, err := jws.Verify(c.Key)
	if err != nil {
		return refuse("signature", "bad signature")
	}
	var claims struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		JTI string          `json:"jti"`
		Iat *float64        `json:"iat"`
		Exp *float64        `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return refuse("malformed", "claims are not a JSON object")
	}
	var aud string
	audOK := json.Unmarshal(claims.Aud, &aud) == nil
	const leeway = time.Minute
	switch {
	case c.Issuer != "" && claims.Iss != c.Issuer:
		return refuse("iss", "wrong iss")
	case c.Subject != "" && claims.Sub != c.Subject:
		return refuse("sub", "wrong sub")
	case c.Audience != "" && !audOK:
		return refuse("aud", "aud is not a single string")
	case c.Audience != "" && aud != c.Audience:
		return refuse("aud", "wrong aud")
	case claims.Iat == nil:
		return refuse("iat", "iat missing")
	case claims.Exp == nil:
		return refuse("exp", "exp missing")
	}
	out := &ClientJWTClaims{JTI: claims.JTI, IssuedAt: unixTime(*claims.Iat), Expiry: unixTime(*claims.Exp)}
	switch {
	case out.IssuedAt.After(c.Now.Add(leeway)):
		return refuse("iat", "iat in the future")
	case !c.Now.Before(out.Expiry):
		return refuse("expired", "expired")
	case !out.Expiry.After(out.IssuedAt):
		return refuse("exp", "exp not after iat")
	case c.MaxLifetime > 0 && out.Expiry.Sub(out.IssuedAt) > c.MaxLifetime:
		return refuse("lifetime", "lifetime too long")
	}
	return out, nil
}

func unixTime(f float64) time.Time { return time.Unix(int64(f), 0) }
