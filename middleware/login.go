package middleware

import (
	"net/http"
	"net/url"

	"github.com/portcullis-go/portcullis/providers"
)

// serveLogin starts a login with the only provider, or shows the sign-in
// page with a button per provider.
func (a *Auth) serveLogin(w http.ResponseWriter, r *http.Request) {
	returnTo := a.returnToParam(r)
	if len(a.s.Providers) == 1 {
		a.startLogin(w, r, a.s.Providers[0], returnTo)
		return
	}
	a.serveChooser(w, r, returnTo)
}

// serveLoginProvider starts a login with the provider named in the path.
func (a *Auth) serveLoginProvider(w http.ResponseWriter, r *http.Request) {
	p := a.s.providers[r.PathValue("provider")]
	if p == nil {
		a.fail(w, r, fail(ErrInvalidRequest, "unknown_provider", nil))
		return
	}
	su, ok := stepUpParam(r.URL.Query())
	if !ok {
		a.fail(w, r, fail(ErrInvalidRequest, "step_up_malformed", nil))
		return
	}
	a.startFlow(w, r, p, a.returnToParam(r), "", su)
}

// startLogin mints a flow (state, nonce, PKCE verifier), stores it in its
// own cookie and redirects to the provider. Nothing in the flow comes from
// the request but the validated return path.
func (a *Auth) startLogin(w http.ResponseWriter, r *http.Request, p *providers.Provider, returnTo string) {
	a.startFlow(w, r, p, returnTo, "", stepUp{})
}

// startFlow starts a login with the given OpenID Connect prompt ("" for
// none) and step-up request.
func (a *Auth) startFlow(w http.ResponseWriter, r *http.Request, p *providers.Provider, returnTo, prompt string, su stepUp) {
	f := newFlow(p.Name(), p.Issuer(), returnTo, a.now())
	f.Prompt = prompt
	f.MaxAge, f.ACR, f.AMR = su.maxAge, su.acr, su.amr
	target, err := p.AuthCodeURL(r.Context(), a.providerFlow(f))
	if err != nil {
		// The provider's endpoints are not known: it was down when the
		// application started and still is (unavailable.go).
		err = a.providerDown(w, p, returnTo, su, err)
		a.emit(r.Context(), loginFailure(p.Name(), err))
		a.fail(w, r, err)
		return
	}
	if err := a.flows.set(w, r, f, p.FormPost()); err != nil {
		a.fail(w, r, fail(ErrInternal, "flow_cookie", err))
		return
	}
	a.emit(r.Context(), Event{Kind: EventLoginStarted, Provider: p.Name(), Status: http.StatusFound})
	http.Redirect(w, r, target, http.StatusFound)
}

// providerFlow is what the provider needs of f.
func (a *Auth) providerFlow(f *flow) providers.Flow {
	return providers.Flow{
		RedirectURL: a.s.callbackURL(f.Provider),
		Issuer:      f.Issuer,
		State:       f.State,
		Nonce:       f.Nonce,
		Verifier:    f.Verifier,
		Prompt:      f.Prompt,
		MaxAge:      f.MaxAge,
		ACRValues:   f.ACR,
		AMR:         f.AMR,
	}
}

// maxFlowReturnTo bounds the return path kept in a flow cookie: five
// flows with long paths must not push the Cookie header past the 8 KiB
// that proxies commonly allow (SECURITY.md AR-09). A longer path returns
// the user to the default return path.
const maxFlowReturnTo = 512

// returnToParam returns the validated return_to query parameter, or the
// default return path (BaseURL's path + "/").
func (a *Auth) returnToParam(r *http.Request) string {
	q := r.URL.Query()
	if vs := q["return_to"]; len(vs) == 1 && len(vs[0]) <= maxFlowReturnTo {
		if v, ok := a.s.returnTo(vs[0]); ok {
			return v
		}
	}
	return a.s.home
}

func queryEscape(s string) string { return url.QueryEscape(s) }
