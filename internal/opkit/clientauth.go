package opkit

import (
	"crypto"
	"encoding/json"
	"errors"
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
	// KeyID, Typ: the header's "kid" and "typ" must be these.
	KeyID, Typ string
	// Issuer, Subject and Audience: "iss", "sub" and "aud" must be these;
	// "aud" a single JSON string, not an array.
	Issuer, Subject, Audience string
	// MaxLifetime bounds "exp" - "iat"; both are required whatever it is.
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

// Verify checks token against c and returns its claims; the caller keeps
// the "jti"s it has seen to refuse a replay. Its errors quote nothing
// from token.
func (c ClientJWT) Verify(token string) (*ClientJWTClaims, error) {
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.ES384, jose.ES512, jose.EdDSA})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, errors.New("opkit: client JWT: not a compact JWS with an allowed algorithm")
	}
	h := jws.Signatures[0].Protected
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	switch {
	case c.KeyID != "" && h.KeyID != c.KeyID:
		return nil, errors.New("opkit: client JWT: wrong kid")
	case c.Typ != "" && typ != c.Typ:
		return nil, errors.New("opkit: client JWT: wrong typ")
	}
	payload, err := jws.Verify(c.Key)
	if err != nil {
		return nil, errors.New("opkit: client JWT: bad signature")
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
		return nil, errors.New("opkit: client JWT: claims are not a JSON object")
	}
	var aud string
	audOK := json.Unmarshal(claims.Aud, &aud) == nil
	const leeway = time.Minute
	switch {
	case c.Issuer != "" && claims.Iss != c.Issuer:
		return nil, errors.New("opkit: client JWT: wrong iss")
	case c.Subject != "" && claims.Sub != c.Subject:
		return nil, errors.New("opkit: client JWT: wrong sub")
	case c.Audience != "" && !audOK:
		return nil, errors.New("opkit: client JWT: aud is not a single string")
	case c.Audience != "" && aud != c.Audience:
		return nil, errors.New("opkit: client JWT: wrong aud")
	case claims.Iat == nil || claims.Exp == nil:
		return nil, errors.New("opkit: client JWT: iat or exp missing")
	}
	out := &ClientJWTClaims{JTI: claims.JTI, IssuedAt: unixTime(*claims.Iat), Expiry: unixTime(*claims.Exp)}
	switch {
	case !c.Now.Before(out.Expiry):
		return nil, errors.New("opkit: client JWT: expired")
	case out.IssuedAt.After(c.Now.Add(leeway)):
		return nil, errors.New("opkit: client JWT: iat in the future")
	case c.MaxLifetime > 0 && out.Expiry.Sub(out.IssuedAt) > c.MaxLifetime:
		return nil, errors.New("opkit: client JWT: lifetime too long")
	}
	return out, nil
}

func unixTime(f float64) time.Time { return time.Unix(int64(f), 0) }
