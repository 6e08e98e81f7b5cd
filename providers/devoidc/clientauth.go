package devoidc

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/url"

	"github.com/portcullis-go/portcullis/internal/opkit"
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
		var ok bool
		if id, secret, ok = opkit.ClientSecretBasic(r); !ok {
			return Client{}, fail
		}
		if form.Has("client_secret") {
			return Client{}, invalidRequest("use one client authentication method, not two")
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

// clientForm reads the form of a token or revocation request
// ([readPostForm]) and authenticates its client. On failure it has written
// the error response, and logged refused with the error code when the form
// was readable but the client authentication failed.
func (s *Server) clientForm(w http.ResponseWriter, r *http.Request, refused string) (url.Values, Client, bool) {
	form, oerr := readPostForm(w, r)
	if oerr != nil {
		writeOAuthError(w, oerr)
		return nil, Client{}, false
	}
	client, oerr := s.authenticateClient(r, form)
	if oerr != nil {
		s.log.Info(refused, "error", oerr.code)
		writeOAuthError(w, oerr)
		return nil, Client{}, false
	}
	return form, client, true
}
