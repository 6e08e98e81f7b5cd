package providers

// FormPost reports whether the provider sends its authorization response
// as a POST of an HTML form to the callback, response_mode=form_post
// (OAuth 2.0 Form Post Response Mode,
// https://openid.net/specs/oauth-v2-form-post-response-mode-1_0.html),
// rather than in the callback URL's query: [Apple] does. Its authorization
// requests ask for it. The POST comes from the provider's page, a
// cross-site request: the middleware accepts that provider's callback as a
// POST only, with the same checks as any callback, and gives its login
// flows a SameSite=None cookie, since a browser does not send a Lax cookie
// with a cross-site POST. [Provider.Callback] reads the form's parameters
// as it reads a query's.
func (p *Provider) FormPost() bool { return p.formPost }
