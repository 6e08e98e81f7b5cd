package middleware

import (
	"net/http"
)

// ChooserPage is the data of the sign-in page that GET /auth/login shows
// when several providers are configured: the built-in page's, and what a
// [Config.ChooserTemplate] is executed with. [Page] embeds it.
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

// chooserPage returns the sign-in page's data for returnTo, a path that
// settings.returnTo accepted.
func (s *settings) chooserPage(returnTo string) ChooserPage {
	page := ChooserPage{Providers: make([]ChooserButton, len(s.Providers)), ReturnTo: returnTo}
	for i, p := range s.Providers {
		page.Providers[i] = ChooserButton{Name: p.Name(), DisplayName: p.DisplayName(), Brand: p.Brand(), URL: s.signInURL(p, returnTo, stepUp{})}
	}
	return page
}

// serveChooser writes the sign-in page: the application's template when
// it configured one (Config.Pages or ChooserTemplate), the built-in page
// otherwise. Neither sets a cookie: a flow starts only when a button is
// chosen.
func (a *Auth) serveChooser(w http.ResponseWriter, r *http.Request, returnTo string) {
	if err := a.pages.render(w, a.chooserPage(returnTo), nil); err != nil {
		a.fail(w, r, fail(ErrInternal, "chooser_template", err))
	}
}

// chooserPage is the "chooser" Page for returnTo.
func (a *Auth) chooserPage(returnTo string) Page {
	pg := a.pages.page("chooser", "Sign in", http.StatusOK)
	pg.Heading, pg.Message = "Sign in", "Choose how you want to sign in."
	if a.s.Brand.Name != "" {
		pg.Heading = "Sign in to " + a.s.Brand.Name
	}
	pg.ChooserPage = a.s.chooserPage(returnTo)
	return pg
}
