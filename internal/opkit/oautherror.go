package opkit

import "net/http"

// errorResponse is the body of an OAuth 2.0 error response (RFC 6749 §5.2).
type errorResponse struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// WriteError writes the JSON error response of RFC 6749 §5.2, as the token
// and revocation endpoints send it: {"error": code, "error_description":
// description}, the description left out when empty, with the given status
// (400 as a rule, 401 for invalid_client) and [NoStore].
//
// The description is sent to the client as given, only JSON-encoded: a
// provider meant to be run, like devoidc, passes a fixed sentence and never
// request data. WriteError sets no WWW-Authenticate header;
// a handler that answers 401 to HTTP Basic credentials sets it first. It is
// not for the authorization endpoint, whose errors travel in the redirect
// ([AppendQuery], RFC 6749 §4.1.2.1), nor for GitHub's token errors, which
// arrive with status 200.
func WriteError(w http.ResponseWriter, status int, code, description string) {
	NoStore(w)
	WriteJSON(w, status, errorResponse{code, description})
}
