package devoidc

import (
	"net/http"
	"net/url"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

// oauthError is an OAuth 2.0 error response: JSON from the token and
// revocation endpoints (RFC 6749 §5.2), query parameters on a redirect from
// the authorization endpoint (RFC 6749 §4.1.2.1). The description is always
// a fixed sentence, never request data.
type oauthError struct {
	code        string
	description string
	status      int  // HTTP status for JSON responses
	basic       bool // the client tried HTTP Basic: add WWW-Authenticate
}

func (e *oauthError) Error() string { return e.code + ": " + e.description }

func invalidRequest(desc string) *oauthError {
	return &oauthError{code: "invalid_request", description: desc, status: http.StatusBadRequest}
}

func invalidGrant(desc string) *oauthError {
	return &oauthError{code: "invalid_grant", description: desc, status: http.StatusBadRequest}
}

// writeOAuthError writes e as the JSON error response of RFC 6749 §5.2.
func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	if e.status == http.StatusUnauthorized && e.basic {
		w.Header().Set("WWW-Authenticate", `Basic realm="devoidc", charset="UTF-8"`)
	}
	opkit.WriteError(w, e.status, e.code, e.description)
}

// maxFormBytes bounds the body of every form post.
const maxFormBytes = 64 << 10

// readPostForm parses an application/x-www-form-urlencoded body of at most
// maxFormBytes and refuses repeated parameters (RFC 6749 §3.1, §3.2).
// Parameters in the URL query are not read.
func readPostForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, invalidRequest("the request body is not a valid form")
	}
	if err := singleValued(r.PostForm); err != nil {
		return nil, err
	}
	return r.PostForm, nil
}

// singleValued refuses parameters given more than once.
func singleValued(v url.Values) *oauthError {
	for _, vals := range v {
		if len(vals) > 1 {
			return invalidRequest("a parameter is repeated")
		}
	}
	return nil
}
