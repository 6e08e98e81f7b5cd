package middleware

import (
	"context"
	"errors"
	"net/http"
	"time"

	"golang.org/x/oauth2"
)

// tokenMargin is how long a token must still be valid for TokenSource to
// hand it out without refreshing.
const tokenMargin = 10 * time.Second

// TokenSource returns an oauth2.TokenSource with the signed-in user's
// access token, for calling the provider's APIs from a handler behind
// [Auth.Require]. When the token is about to expire it refreshes through
// the same single-flight path as Require and saves the new tokens in the
// session (as long as the handler has not started writing the response;
// otherwise the next request picks them up within the grace window).
//
// Its Token method returns an error wrapping ErrUnauthenticated when r did
// not pass through Require or the session ended, and ErrProviderUnavailable
// when a needed refresh failed. The tokens it returns carry no refresh
// token.
func (a *Auth) TokenSource(r *http.Request) oauth2.TokenSource {
	return &requestTokenSource{a: a, ctx: r.Context()}
}

// Client returns an *http.Client that sends the signed-in user's access
// token with every request and refreshes it like [Auth.TokenSource].
func (a *Auth) Client(r *http.Request) *http.Client {
	return oauth2.NewClient(r.Context(), a.TokenSource(r))
}

type requestTokenSource struct {
	a   *Auth
	ctx context.Context
}

func (ts *requestTokenSource) Token() (*oauth2.Token, error) {
	st, ok := stateFrom(ts.ctx)
	if !ok {
		return nil, fail(ErrUnauthenticated, "no_session", nil)
	}
	a, now := ts.a, ts.a.now()
	s := st.session()
	if s == nil {
		return nil, fail(ErrUnauthenticated, "session_ended", nil)
	}
	if !s.Tokens.Expiry.IsZero() && !now.Add(tokenMargin).Before(s.Tokens.Expiry) {
		if s.Tokens.RefreshToken == "" {
			if tokenExpired(s, now) {
				return nil, fail(ErrUnauthenticated, "token_expired", nil)
			}
		} else {
			// No lock is held here: the refresh calls the provider, hooks
			// and the logger, which may read the session from the context.
			ns, err := a.refreshSession(nil, st.r.WithContext(ts.ctx), s)
			st.mu.Lock()
			switch {
			case errors.Is(err, ErrUnauthenticated):
				st.s, st.pending, st.ended = nil, nil, true
			case err == nil && ns != s:
				st.s, st.pending = ns, ns
			}
			st.mu.Unlock()
			if err != nil {
				return nil, err
			}
			if ns != s && st.w.started() {
				// The browser keeps the old cookie: answer it from the memo
				// for as long as the session lives.
				a.refresher.keep(a.s.providers[s.User.Provider], s.Tokens.RefreshToken, s.Expires)
				a.log.LogAttrs(ts.ctx, levelWarn, "portcullis: refreshed tokens not saved: the response had started", providerAttr(s.User.Provider))
			}
			s = ns
			if tokenExpired(s, now) {
				return nil, fail(ErrProviderUnavailable, "token_expired", nil)
			}
		}
	}
	return &oauth2.Token{AccessToken: s.Tokens.AccessToken, TokenType: "Bearer", Expiry: s.Tokens.Expiry}, nil
}
