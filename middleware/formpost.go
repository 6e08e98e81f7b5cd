package middleware

import (
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/portcullis-go/portcullis/providers"
)

// A provider whose authorization response is a form POST
// (providers.Provider.FormPost, OAuth 2.0 Form Post Response Mode) has its
// callback at the same path as any other, POST instead of GET. The POST
// comes from the provider's page, so it is cross-site: it is not subject to
// a same-origin check (Handler applies none to the callback; an
// application that wraps Handler in http.CrossOriginProtection must bypass
// the path, see doc.go). The state is what protects it, as it protects a
// GET callback (RFC 6749 §10.12): the request must carry the flow cookie
// named after the state, which only the browser that started the flow
// holds, and that cookie is SameSite=None for such a provider's flows only,
// since a Lax cookie is not sent with a cross-site POST. Everything after
// the parameters are read is the callback of callback.go: the same checks,
// the same one-time use.

// callbackParams returns the authorization response's parameters: the
// query of a GET, or the form body of a form_post provider's POST, which
// must come with no query at all (no parameter can arrive both ways, RFC
// 6749 §3.1). The method was matched to the provider by
// serveCallbackMethod.
func (a *Auth) callbackParams(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if r.Method == http.MethodPost {
		if r.URL.RawQuery != "" {
			return nil, fail(ErrInvalidRequest, "form_post_with_query", nil)
		}
		return parseFormPost(r.Header.Get("Content-Type"), http.MaxBytesReader(w, r.Body, maxCallbackQuery+1))
	}
	if len(r.URL.RawQuery) > maxCallbackQuery {
		return nil, fail(ErrInvalidRequest, "query_too_large", nil)
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fail(ErrInvalidRequest, "malformed_query", nil)
	}
	return q, nil
}

// parseFormPost reads a form_post authorization response: a body of type
// application/x-www-form-urlencoded (any parameters of the type are
// ignored) of at most maxCallbackQuery bytes, the bound a query has. Its
// failures are ErrInvalidRequest, before any cryptography or network call.
func parseFormPost(contentType string, body io.Reader) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, fail(ErrInvalidRequest, "form_post_content_type", nil)
	}
	b, err := io.ReadAll(io.LimitReader(body, maxCallbackQuery+1))
	switch {
	case len(b) > maxCallbackQuery:
		return nil, fail(ErrInvalidRequest, "form_too_large", nil)
	case err != nil:
		return nil, fail(ErrInvalidRequest, "form_unreadable", nil)
	}
	q, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, fail(ErrInvalidRequest, "malformed_form", nil)
	}
	return q, nil
}

// callbackMethod is the method p's callback takes: POST for a form_post
// provider, GET for every other (and for a name no provider has, which
// fails later as unknown).
func callbackMethod(p *providers.Provider) string {
	if p != nil && p.FormPost() {
		return http.MethodPost
	}
	return http.MethodGet
}

// serveCallbackMethod answers a callback request of the method the
// provider's callback does not take, and HEAD, with 405 and Allow, before
// anything of the request is read: no flow is touched, no provider called.
// It reports whether it answered.
func (a *Auth) serveCallbackMethod(w http.ResponseWriter, r *http.Request) bool {
	want := callbackMethod(a.s.providers[r.PathValue("provider")])
	if r.Method == want {
		return false
	}
	w.Header().Set("Allow", want)
	http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
	return true
}
