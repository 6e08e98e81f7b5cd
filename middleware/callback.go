package middleware

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/portcullis-go/portcullis/middleware/policy"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/session"
)

// Bounds on the callback request, checked before any cryptography or
// network call.
const (
	maxCallbackQuery = 16 << 10
	maxStateLen      = 1 << 10
	exchangeTimeout  = 20 * time.Second
)

// serveCallback finishes a login. A callback URL works at most once: its
// flow cookie is expired whatever happens, and its state is recorded as
// used before the code is redeemed. Only the flow the state names is
// touched: a junk callback cannot cancel sign-ins in progress in other
// tabs. No session is written unless every check passed.
func (a *Auth) serveCallback(w http.ResponseWriter, r *http.Request) {
	if a.serveCallbackMethod(w, r) {
		return
	}
	name := r.PathValue("provider")
	p := a.s.providers[name]
	s, f, err := a.callback(w, r, p)
	if errors.Is(err, providers.ErrConsentRequired) {
		a.log.LogAttrs(r.Context(), levelInfo, "portcullis: login restarted for consent", providerAttr(name))
		a.startFlow(w, r, p, f.ReturnTo, "consent", stepUp{maxAge: f.MaxAge, acr: f.ACR, amr: f.AMR})
		return
	}
	if err != nil {
		var kept interface{ Claim() string }
		if errors.As(err, &kept) && kept.Claim() != "" {
			// The reason alone does not say which: name the kept claim
			// (configuration, KeepClaims), never its value.
			a.log.LogAttrs(r.Context(), levelWarn, "portcullis: sign-in refused: a kept claim exceeds the session's bounds",
				providerAttr(name), slog.String("claim", kept.Claim()))
		}
		if isDiscoveryFailure(err) {
			// Restarted while the provider is down (unavailable.go).
			returnTo, su := a.s.flowRetry(f)
			err = a.providerDown(w, p, returnTo, su, err)
		}
		a.emit(r.Context(), loginFailure(name, err))
		a.fail(w, r, a.retrying(p, f, err))
		return
	}
	a.emit(r.Context(), Event{Kind: EventLogin, Provider: name, User: UserRef(&s.User), Status: http.StatusSeeOther})
	// The return path was validated when the flow started and is
	// validated again here, at the sink.
	w.Header().Set("Location", a.s.returnToOr(f.ReturnTo))
	w.WriteHeader(http.StatusSeeOther)
}

// loginFailure is the event of a refused callback: login_failed, or
// state_invalid, policy_denied or store_error (failureKind), with the
// reason and the provider's error code when it is one of the registered
// OAuth codes — never its description. The provider's name is kept only
// when it is configured (emit): the path segment is the requester's
// choice.
func loginFailure(provider string, err error) Event {
	e := Event{Kind: failureKind(err, EventLoginFailed), Provider: provider, Reason: reasonOf(err), Status: Status(err)}
	var pe *providers.Error
	if errors.As(err, &pe) && registeredOAuthCodes[pe.Code] {
		e.Error = pe.Code
	}
	return e
}

// registeredOAuthCodes are the error codes of RFC 6749 §4.1.2.1 and §5.2,
// OpenID Connect Core §3.1.2.6 and RFC 9101, the ones logged verbatim.
var registeredOAuthCodes = map[string]bool{
	"invalid_request": true, "unauthorized_client": true, "access_denied": true,
	"unsupported_response_type": true, "invalid_scope": true, "server_error": true,
	"temporarily_unavailable": true, "invalid_client": true, "invalid_grant": true,
	"unsupported_grant_type": true, "interaction_required": true, "login_required": true,
	"account_selection_required": true, "consent_required": true, "invalid_request_uri": true,
	"invalid_request_object": true, "request_not_supported": true,
	"request_uri_not_supported": true, "registration_not_supported": true,
}

// callback runs the request's checks cheapest first, hands the
// authorization response to the provider, and on success saves a new
// session. The flow is returned when its state matched, for the return
// path and a restart.
func (a *Auth) callback(w http.ResponseWriter, r *http.Request, p *providers.Provider) (*session.Session, *flow, error) {
	// The query of a GET, or the form of a form_post provider's POST
	// (formpost.go).
	q, err := a.callbackParams(w, r)
	if err != nil {
		return nil, nil, err
	}
	// Whatever fails below, the flows this callback names are used up
	// (a few at most: more is refused as repeated anyway).
	for _, st := range q["state"][:min(len(q["state"]), 2)] {
		if len(st) <= maxStateLen {
			a.flows.expire(w, r, st, callbackMethod(p) == http.MethodPost)
		}
	}
	for _, k := range [...]string{"state", "code", "iss", "error", "error_description", "error_uri"} {
		if len(q[k]) > 1 {
			return nil, nil, fail(ErrInvalidRequest, "repeated_parameter", nil)
		}
	}
	for _, k := range [...]string{"access_token", "id_token", "token_type"} {
		if q.Has(k) {
			// Implicit or hybrid responses are never requested; tokens in
			// the front channel are refused (RFC 9700 §2.1.2).
			return nil, nil, fail(ErrInvalidRequest, "front_channel_token", nil)
		}
	}
	state := q.Get("state")
	if state == "" || len(state) > maxStateLen {
		return nil, nil, fail(ErrInvalidRequest, "state_missing", nil)
	}
	now := a.now()
	f, err := a.flows.find(r, state, now)
	if err != nil || f.Verifier == "" {
		return nil, nil, fail(ErrInvalidRequest, "state_mismatch", nil)
	}
	// Mix-up defence (RFC 9700 §4.4): the flow was started for one
	// provider and must finish at that provider's own callback.
	if p == nil || f.Provider != p.Name() {
		return nil, f, fail(ErrInvalidRequest, "provider_mismatch", nil)
	}
	if q.Get("code") != "" {
		// Only a response with a code is recorded: it is the code that must
		// not be redeemed twice, and an error response (which redeems
		// nothing) must not fill the record for everyone.
		first, err := a.usedStates.use(r.Context(), f.Provider, f.State, f.Created.Add(flowLifetime+time.Minute))
		switch {
		case err != nil:
			return nil, f, fail(ErrStoreUnavailable, "callback_record_unavailable", err)
		case !first:
			// Another request already carried this flow's callback (a
			// reload, a retried request): its code is being, or was,
			// redeemed there.
			return nil, f, fail(ErrInvalidRequest, "state_reused", nil)
		}
	}
	if rf, ok := a.s.Revocations.(interface{ full() bool }); ok && rf.full() {
		// No room to record a logout of one more session: refuse to make
		// one rather than let a revocation be dropped later.
		return nil, f, fail(ErrStoreUnavailable, "revocation_list_full", nil)
	}
	ctx, cancel := context.WithTimeout(r.Context(), exchangeTimeout)
	defer cancel()
	id, err := p.Callback(ctx, a.providerFlow(f), q)
	if err != nil {
		return nil, f, callbackFailure(err)
	}
	s := session.New(id.User, id.Tokens, a.now(), a.s.SessionLifetime)
	s.SID = id.SID
	s.AuthTime, s.ACR, s.AMR = id.AuthTime, id.ACR, id.AMR
	// The hooks see the provider's claims (SignInClaims); the session is
	// saved with the request's own context.
	hooks := r.WithContext(withSignInClaims(r.Context(), id.Claims))
	if a.s.SignInPolicy != nil {
		err := a.s.SignInPolicy.Check(&policy.Request{
			HTTP: hooks, User: &s.User, AuthTime: s.AuthTime, ACR: s.ACR, AMR: s.AMR,
			ClientIP: a.clientIP(r), Now: s.Created,
		})
		switch {
		case errors.Is(err, policy.ErrDenied):
			// A step-up requirement too: the provider has just
			// authenticated the user as it could.
			return nil, f, fail(ErrForbidden, "sign_in_policy", err)
		case err != nil:
			return nil, f, fail(ErrStoreUnavailable, "sign_in_policy_error", err)
		}
	}
	if a.s.LinkAccount != nil {
		account, err := a.s.LinkAccount(hooks.Context(), s.User)
		switch {
		case errors.Is(err, ErrForbidden):
			return nil, f, fail(ErrForbidden, "link_account_refused", err)
		case err != nil:
			return nil, f, fail(ErrStoreUnavailable, "link_account_failed", err)
		}
		s.User.Account = account
	}
	if a.s.OnLogin != nil {
		if err := a.s.OnLogin(hooks.Context(), s); err != nil {
			return nil, f, fail(ErrForbidden, "on_login_refused", err)
		}
	}
	if err := a.s.Sessions.Save(w, r, s); err != nil {
		if errors.Is(err, session.ErrTooLarge) {
			return nil, f, fail(ErrInternal, "session_too_large", err)
		}
		return nil, f, fail(ErrStoreUnavailable, "session_save", err)
	}
	return s, f, nil
}

// callbackFailure maps an error of Provider.Callback to the middleware's
// vocabulary, keeping the provider's error in the chain.
func callbackFailure(err error) error {
	var checked interface{ Reason() string }
	var pe *providers.Error
	switch {
	case errors.Is(err, providers.ErrConsentRequired):
		return err
	case errors.Is(err, providers.ErrInvalidResponse) && errors.As(err, &checked):
		return fail(ErrInvalidRequest, checked.Reason(), err)
	case errors.Is(err, providers.ErrInvalidResponse):
		return fail(ErrInvalidRequest, "authorization_response_invalid", err)
	case errors.Is(err, providers.ErrNotAllowed):
		return fail(ErrForbidden, "account_not_allowed", err)
	case errors.As(err, &pe) && pe.Status == 0:
		// The authorization endpoint's "error" parameter.
		if errors.Is(err, providers.ErrUnavailable) {
			return fail(ErrProviderUnavailable, "provider_error", err)
		}
		return fail(ErrLoginFailed, "provider_error", err)
	case errors.As(err, &pe):
		if errors.Is(err, providers.ErrDenied) {
			return fail(ErrLoginFailed, "code_exchange_refused", err)
		}
		return fail(ErrProviderUnavailable, "token_endpoint_error", err)
	case errors.Is(err, providers.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return fail(ErrProviderUnavailable, "provider_unreachable", err)
	case errors.Is(err, context.Canceled):
		return fail(ErrProviderUnavailable, "request_canceled", err)
	}
	return fail(ErrLoginFailed, "token_verification_failed", err)
}
