package middleware

import (
	"context"
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
// session: their cookie is written into the response's headers at once
// (the header map of the ResponseWriter Require was given, which a
// framework's own writer shares), so the handler may write through either.
// Like setting a header, a refresh must then not run concurrently with
// the handler's own use of the headers: call Token from the handler's
// goroutine, or from goroutines it waits for. A refresh after the response
// has started through Require's writer cannot reach the browser: the old
// refresh token is then answered from the refresh memo for as long as the
// session lives, and the next request picks the new tokens up.
//
// Its Token method returns an error wrapping ErrUnauthenticated when r did
// not pass through Require or the session ended, and ErrProviderUnavailable
// when a needed refresh failed. The tokens it returns carry no refresh
// token.
func (a *Auth) TokenSource(r *http.Request) oauth2.TokenSource {
	return &requestTokenSource{a: a, ctx: r.Context()}
}

// Client returns an *http.Client that sends the signed-in user's access
// token, refreshed like [Auth.TokenSource], to the provider's APIs. It has
// the limits of every request portcullis makes to the user's provider (see
// [providers.Provider.Client]): a timeout, response bodies capped at
// 1 MiB, at most 10 redirects, and the token only ever sent to the origin
// of the request a redirect chain started from. A request that did not
// pass through Require gets a client whose requests fail with
// ErrUnauthenticated.
func (a *Auth) Client(r *http.Request) *http.Client {
	ts := a.TokenSource(r)
	if s, ok := SessionFrom(r.Context()); ok {
		if p := a.s.providers[s.User.Provider]; p != nil {
			return p.Client(ts)
		}
	}
	return &http.Client{Transport: &oauth2.Transport{Source: ts, Base: noTransport{}}}
}

// noTransport is the transport of a Client without a session: its token
// source fails first, so it is never used.
type noTransport struct{}

func (noTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, fail(ErrUnauthenticated, "no_session", nil)
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
	now := ts.a.now()
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
			ns, err := st.refresh(ts.ctx)
			if err != nil {
				return nil, err
			}
			s = ns
			if tokenExpired(s, now) {
				return nil, fail(ErrProviderUnavailable, "token_expired", nil)
			}
		}
	}
	return &oauth2.Token{AccessToken: s.Tokens.AccessToken, TokenType: "Bearer", Expiry: s.Tokens.Expiry}, nil
}
