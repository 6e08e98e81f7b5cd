package middleware

import (
	"net/http"

	"github.com/portcullis-go/portcullis/session"
)

// Refresh refreshes the tokens of the request's session now, whatever
// their expiry, and returns the refreshed session, which [SessionFrom]
// returns from then on too. Use it when the tokens must be new rather
// than merely valid: after the user's roles or groups changed at the
// provider (the refreshed ID token and access token carry the new ones),
// or behind a "refresh now" button. Require and Optional already refresh
// a token within Config.RefreshBefore of its expiry; that needs no call.
//
// It is the automatic refresh (RFC 6749 §6), made now: one token-endpoint
// call per refresh token however many requests ask at once, on every
// instance sharing Config.Shared; a refreshed ID token verified against
// the session's original (OpenID Connect Core §12.2,
// https://openid.net/specs/openid-connect-core-1_0.html#RefreshTokenResponse);
// Config.OnRefresh; the events "refresh", "refresh_coalesced" and
// "refresh_failed"; the session's cookie written into the response's
// headers at once, under the rules of [Auth.TokenSource] (call it from the
// handler's goroutine, before the response starts: afterwards the new
// cookie cannot reach the browser, and its old refresh token is answered
// from the refresh memo). A refresh of the same refresh token that
// another request has just made (within 30 seconds) answers it, unless
// the session already holds its tokens: then the provider is asked again.
//
// Its errors:
//   - ErrUnauthenticated: r did not pass through Require or Optional with
//     a session; or the session ended because the provider refused the
//     refresh token (invalid_grant, or a refreshed ID token for another
//     user) or OnRefresh refused, and its cookies are cleared, as the
//     automatic refresh does.
//   - ErrInvalidRequest: the session has no refresh token (the provider
//     issued none, or r carried a bearer token); nothing is called or
//     changed. Look at the session's Tokens.RefreshToken to offer the
//     action only where it can work.
//   - ErrProviderUnavailable (ErrStoreUnavailable when Config.Shared
//     failed): the provider could not be reached or answered with an
//     error, or is being backed off after one. The session stays exactly
//     as it was, its tokens in use while they are valid.
//
// Refresh is not a new sign-in: the session keeps its authentication time
// and its end (a refresh never extends a session's lifetime); see
// policy.StepUp to make the user authenticate again.
func (a *Auth) Refresh(r *http.Request) (*session.Session, error) {
	st, ok := stateFrom(r.Context())
	if !ok {
		return nil, fail(ErrUnauthenticated, "no_session", nil)
	}
	s := st.session()
	if s == nil {
		return nil, fail(ErrUnauthenticated, "session_ended", nil)
	}
	if s.Tokens.RefreshToken == "" {
		return nil, fail(ErrInvalidRequest, "no_refresh_token", nil)
	}
	return st.refreshTokens(r.Context(), true)
}
