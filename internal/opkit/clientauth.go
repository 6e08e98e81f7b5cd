package opkit

import (
	"net/http"
	"net/url"
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
