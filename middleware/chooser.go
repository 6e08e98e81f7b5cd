package middleware

import (
	"bytes"
	"net/http"
	"strconv"
)

// ChooserPage is the data of the sign-in page that GET /auth/login shows
// when several providers are configured: the built-in page's, and what a
// [Config.ChooserTemplate] is executed with.
type ChooserPage struct {
	// Providers are the configured providers, in the order of
	// [Config.Providers].
	Providers []ChooserButton
	// ReturnTo is the validated same-origin path the user returns to
	// after signing in ("/" by default). It is already part of each URL.
	ReturnTo string
}

// ChooserButton is one provider on the sign-in page.
type ChooserButton struct {
	// Name is the provider's configured name, as in /auth/login/{name}.
	Name string
	// DisplayName is the provider's display name ("Google", "Example
	// Corp"); show it as "Sign in with <DisplayName>".
	DisplayName string
	// Brand is [providers.Provider.Brand]: "google" and "github" ask for
	// those brands' buttons and marks (see their branding guidelines),
	// "" for a neutral button.
	Brand string
	// URL is the path that starts a login with this provider, with the
	// return path: use it as the button's link (a GET navigation).
	URL string
}

// customChooserCSP is the Content-Security-Policy of a page rendered from
// Config.ChooserTemplate, unless a handler in front of Auth.Handler
// already set one: resources from the application's own origin only.
const customChooserCSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// chooserPage returns the sign-in page's data for returnTo, a path that
// settings.returnTo accepted.
func (a *Auth) chooserPage(returnTo string) ChooserPage {
	page := ChooserPage{Providers: make([]ChooserButton, len(a.s.Providers)), ReturnTo: returnTo}
	for i, p := range a.s.Providers {
		u := a.s.prefix + "/login/" + p.Name()
		if returnTo != a.s.home {
			u += "?return_to=" + queryEscape(returnTo)
		}
		page.Providers[i] = ChooserButton{Name: p.Name(), DisplayName: p.DisplayName(), Brand: p.Brand(), URL: u}
	}
	return page
}

// serveChooser writes the sign-in page: the application's template when
// it configured one, the built-in page otherwise. Neither sets a cookie: a
// flow starts only when a button is chosen.
func (a *Auth) serveChooser(w http.ResponseWriter, r *http.Request, returnTo string) {
	page := a.chooserPage(returnTo)
	t := a.s.ChooserTemplate
	if t == nil {
		a.pages.render(w, http.StatusOK, "chooser", page)
		return
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, page); err != nil {
		a.fail(w, r, fail(ErrInternal, "chooser_template", err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if h.Get("Content-Security-Policy") == "" {
		h.Set("Content-Security-Policy", customChooserCSP)
	}
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}
