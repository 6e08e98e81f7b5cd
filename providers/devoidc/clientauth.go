package devoidc

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/url"
)

// authenticateClient authenticates the client of a token or revocation
// request by client_secret_basic or client_secret_post (RFC 6749 §2.3.1,
// OpenID Connect Core 1.0 §9). With HTTP Basic, the client ID and secret
// are form-urlencoded before base64, so they are decoded with
// url.QueryUnescape. Using both methods at once is invalid_request; every
// authentication failure is the same invalid_client with status 401.
func (s *Server) authenticateClient(r *http.Request, form url.Values) (Client, *oauthError) {
	fail := &oauthError{
		code:        "invalid_client",
		description: "client authentication failed",
		status:      http.StatusUnauthorized,
	}
	var id, secret string
	if r.Header.Get("Authorization") != "" {
		fail.basic = true
		user, pass, ok := r.BasicAuth()
		if !ok {
			return Client{}, fail
		}
		if form.Has("client_secret") {
			return Client{}, invalidRequest("use one client authentication method, not two")
		}
		var err1, err2 error
		id, err1 = url.QueryUnescape(user)
		secret, err2 = url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return Client{}, fail
		}
		if form.Has("client_id") && form.Get("client_id") != id {
			return Client{}, fail
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	c, known := s.clients[id]
	// Compare digests so that neither the secret's length nor whether the
	// client exists shows in the timing.
	want := sha256.Sum256([]byte(c.Secret))
	got := sha256.Sum256([]byte(secret))
	match := subtle.ConstantTimeCompare(want[:], got[:]) == 1
	if !known || secret == "" || !match {
		return Client{}, fail
	}
	return c, nil
}
