package middleware

import (
	"cmp"
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
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if status == http.StatusUnauthorized && h.Get("WWW-Authenticate") == "" {
		h.Set("WWW-Authenticate", `Cookie realm="portcullis", form-action="`+login+`"`)
		if a.s.BearerTokens != nil {
			// API clients may authenticate with a token too (RFC 6750 §3).
			h.Add("WWW-Authenticate", `Bearer realm="portcullis"`)
		}
	}
	pg := a.errorPage(r, err, status)
	if !acceptsHTML(r) {
		code := errorCode(err, status)
		body, _ := json.Marshal(struct {
			Error   string `json:"error"`
			Message string `json:"message"`
			Login   string `json:"login_url,omitempty"`
		}{code, pg.Message, loginIf(status, login)})
		h.Set("Content-Type", "application/json")
		h.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(status)
		w.Write(append(body, '\n'))
		return
	}
	if a.pages.render(w, pg, nil) != nil {
		// The application's page failed on this request's data: the
		// built-in page says the same.
		a.pages.renderBuiltin(w, pg, nil)
	}
}

func loginIf(status int, login string) string {
	if status == http.StatusUnauthorized {
		return login
	}
	return ""
}

// errorPage returns the page for err: which page, what happened in plain
// words, and what the person can do — the sign-in to try again (retryOf),
// or another account, or nothing when trying again cannot help. It names
// providers by their display names and never shows the error's text.
func (a *Auth) errorPage(r *http.Request, err error, status int) Page {
	retry, provider := a.retryOf(r, err)
	who := cmp.Or(provider, "the sign-in provider")
	Who := cmp.Or(provider, "The sign-in provider")
	site := cmp.Or(a.s.Brand.Name, "this site")
	Site := cmp.Or(a.s.Brand.Name, "This site")
	name, heading, message, label := "error", "Something went wrong", Site+" could not complete the request. Try again in a moment.", "Try again"
	var pe *providers.Error
	var down *providerDown
	var bf *bearerFailure
	switch reason := reasonOf(err); {
	case errors.As(err, &down):
		name, heading, message = "unavailable", down.name+" is unavailable", "Signing in with "+down.name+" is not possible right now. Try again in a moment."
	case errors.As(err, &pe) && pe.Status == 0:
		// The authorization endpoint's "error" (RFC 6749 §4.1.2.1,
		// OpenID Connect Core §3.1.2.6): only the registered codes
		// choose a text, the description is never shown.
		switch pe.Code {
		case "access_denied":
			heading, message = "Sign-in was cancelled", Who+" did not give access: the sign-in was cancelled or refused there. You can try again."
		case "login_required", "interaction_required", "consent_required", "account_selection_required":
			heading, message = "Sign-in needed", Who+" needs you to sign in again."
		case "temporarily_unavailable", "server_error":
			name, heading, message = "unavailable", "Sign-in is unavailable", Who+" could not complete the sign-in right now. Try again in a moment."
		default:
			heading, message = "Sign-in did not complete", Who+" could not complete the sign-in. You can try again."
		}
	case errors.Is(err, ErrUnauthenticated) && errors.As(err, &bf):
		heading, message, retry = "Invalid access token", "The access token is missing, malformed, expired or not for this API.", ""
		if reason == "step_up_required" {
			heading, message = "Stronger sign-in needed", "The access token's authentication does not meet this resource's requirement."
		}
	case errors.Is(err, ErrUnauthenticated):
		heading, message, label = "Please sign in", "You need to sign in to see this page.", "Sign in"
		if reason == "step_up_required" {
			heading, message = "Stronger sign-in needed", "This page needs you to confirm who you are again with "+who+"."
		}
	case errors.Is(err, ErrLoginFailed):
		heading, message = "Sign-in failed", "The answer from "+who+" could not be verified, so you are not signed in. Please try again."
	case errors.Is(err, ErrForbidden):
		name = "forbidden"
		switch reason {
		case "cross_origin":
			heading, message = "Sign-out was blocked", "The request to sign out did not come from "+site+", so nothing changed. To sign out, use the button on the sign-out page."
			retry, label = a.s.prefix+"/logout", "Go to the sign-out page"
		case "policy_denied", "insufficient_scope":
			heading, message = "Access denied", "You are signed in, but this account is not allowed to see this page. You can sign in with another account."
			retry, label = a.logoutPath(a.requestReturnTo(r)), "Use another account"
		default: // the sign-in itself was refused
			heading, message = "This account cannot sign in", "The account you signed in with at "+who+" is not allowed to use "+site+". You can try again with another account."
			label = "Try another account"
		}
	case errors.Is(err, ErrInvalidRequest) && reason == "unknown_provider":
		heading, message, label = "This sign-in option does not exist", "Choose one of the ways to sign in on the sign-in page.", "Go to the sign-in page"
	case errors.Is(err, ErrInvalidRequest):
		heading, message = "This sign-in link is not valid", "It may have expired, been used already or been opened in another browser. Please start again."
	case errors.Is(err, ErrProviderUnavailable):
		name, heading, message = "unavailable", "Sign-in is unavailable", Who+" could not be reached or did not answer. Try again in a moment."
	case errors.Is(err, ErrStoreUnavailable):
		name, heading, message = "unavailable", "Temporarily unavailable", Site+" cannot check sign-ins right now. Try again in a moment."
	case errors.Is(err, ErrNotFound):
		heading, message, retry = "Page not found", "There is nothing at this address.", ""
	case errors.Is(err, ErrRateLimited):
		heading, message = "Too many attempts", "There were too many sign-in attempts from your network. Wait a moment, then try again."
	}
	titles := map[string]string{"error": "Sign-in problem", "forbidden": "Access denied", "unavailable": "Temporarily unavailable"}
	pg := a.pages.page(name, titles[name], status)
	pg.Heading, pg.Message, pg.Provider = heading, message, provider
	if retry != "" {
		pg.Action, pg.ActionLabel = retry, label
	}
	return pg
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
