package middleware

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"

	"github.com/portcullis-go/portcullis/providers"
)

// serveError is the default ErrorHandler. It shows the status and a generic
// message chosen by the kind of error: never the error's text, a token, a
// code or anything else from the request.
func (a *Auth) serveError(w http.ResponseWriter, r *http.Request, err error) {
	status := Status(err)
	login := LoginURL(err)
	if status == http.StatusUnauthorized && login != "" && isNavigation(r) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Location", login)
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	if login == "" {
		login = a.s.prefix + "/login"
	}
	heading, message := errorText(err, status)
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if status == http.StatusUnauthorized && h.Get("WWW-Authenticate") == "" {
		h.Set("WWW-Authenticate", `Cookie realm="portcullis", form-action="`+login+`"`)
		if a.s.BearerTokens != nil {
			// API clients may authenticate with a token too (RFC 6750 §3).
			h.Add("WWW-Authenticate", `Bearer realm="portcullis"`)
		}
	}
	if !acceptsHTML(r) {
		code := errorCode(err, status)
		body, _ := json.Marshal(struct {
			Error   string `json:"error"`
			Message string `json:"message"`
			Login   string `json:"login_url,omitempty"`
		}{code, message, loginIf(status, login)})
		h.Set("Content-Type", "application/json")
		h.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(status)
		w.Write(append(body, '\n'))
		return
	}
	d := errorData{Status: status, Heading: heading, Message: message}
	if status != http.StatusForbidden && status != http.StatusNotFound {
		d.RetryURL, d.RetryLabel = login, "Try again"
		if errors.Is(err, ErrUnauthenticated) {
			d.RetryLabel = "Sign in"
		}
		if down := (*providerDown)(nil); errors.As(err, &down) {
			d.RetryURL = down.retry // the same sign-in, return path kept
		}
	}
	a.pages.render(w, status, "error", d)
}

func loginIf(status int, login string) string {
	if status == http.StatusUnauthorized {
		return login
	}
	return ""
}

// errorText returns the page's heading and message for err.
func errorText(err error, status int) (string, string) {
	var down *providerDown
	if errors.As(err, &down) {
		return down.name + " is unavailable", "Signing in with " + down.name + " is not possible right now. Try again in a moment."
	}
	var pe *providers.Error
	if errors.As(err, &pe) && pe.Status == 0 {
		switch pe.Code {
		case "access_denied":
			return "Sign-in was cancelled", "The sign-in provider reports that access was denied. You can try again."
		case "login_required", "interaction_required", "consent_required", "account_selection_required":
			return "Sign-in needed", "The sign-in provider needs you to sign in again."
		case "temporarily_unavailable", "server_error":
			return "Sign-in is unavailable", "The sign-in provider could not complete the request. Try again in a moment."
		}
		return "Sign-in did not complete", "The sign-in provider returned an error."
	}
	switch status {
	case http.StatusUnauthorized:
		if errors.Is(err, ErrLoginFailed) {
			return "Sign-in failed", "We could not verify the answer from the sign-in provider. Please try again."
		}
		var bf *bearerFailure
		if errors.As(err, &bf) {
			if reasonOf(err) == "step_up_required" {
				return "Stronger sign-in needed", "The access token's authentication does not meet this resource's requirement."
			}
			return "Invalid access token", "The access token is missing, malformed, expired or not for this API."
		}
		return "Please sign in", "You need to sign in to see this page."
	case http.StatusForbidden:
		return "Access denied", "You are signed in, but this account is not allowed to see this page."
	case http.StatusBadRequest:
		return "This sign-in link is not valid", "It may have expired, been used already or been opened in another browser. Please start again."
	case http.StatusBadGateway:
		return "Sign-in is unavailable", "The sign-in provider could not be reached. Try again in a moment."
	case http.StatusServiceUnavailable:
		return "Temporarily unavailable", "The site cannot check sign-ins right now. Try again in a moment."
	case http.StatusNotFound:
		return "Page not found", "There is nothing at this address."
	case http.StatusTooManyRequests:
		return "Too many attempts", "There were too many sign-in attempts from your network. Wait a moment, then try again."
	}
	return "Something went wrong", "The request could not be completed. Try again in a moment."
}

// errorCode is the machine-readable "error" member of JSON error bodies.
func errorCode(err error, status int) string {
	if down := (*providerDown)(nil); errors.As(err, &down) {
		return "provider_unavailable"
	}
	switch status {
	case http.StatusUnauthorized:
		var bf *bearerFailure
		if errors.As(err, &bf) && reasonOf(err) != "step_up_required" {
			return "invalid_token"
		}
		if reasonOf(err) == "step_up_required" {
			return "step_up_required"
		}
		if errors.Is(err, ErrUnauthenticated) {
			return "unauthenticated"
		}
		return "login_failed"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusBadRequest:
		return "invalid_request"
	case http.StatusBadGateway:
		return "provider_unavailable"
	case http.StatusServiceUnavailable:
		return "unavailable"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusTooManyRequests:
		return "rate_limited"
	}
	return "internal_error"
}

// acceptsHTML reports whether the client is a browser asking for a page:
// a navigation, or an Accept header naming text/html.
func acceptsHTML(r *http.Request) bool {
	if r.Header.Get("Sec-Fetch-Mode") == "navigate" {
		return true
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && (mt == "text/html" || mt == "application/xhtml+xml") {
			return true
		}
	}
	return false
}
