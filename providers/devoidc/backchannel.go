package devoidc

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Back-channel logout (OpenID Connect Back-Channel Logout 1.0,
// https://openid.net/specs/openid-connect-backchannel-1_0.html): when an OP
// session ends, every client that obtained tokens under it and registered
// a BackchannelLogoutURI receives a logout token by a direct POST, so that
// it can end its own session for that user.
//
// Delivery runs in the background, so the browser's logout response never
// waits for a relying party. Each token is tried at most twice: 200 and 204
// mean delivered (§2.8); 400 means the client refused the token and is not
// retried; a network error or any other non-2xx status is retried once
// after backchannelRetryDelay. Another 2xx status is an answer, just not
// one the specification allows, and is counted as a failure without a
// retry.

const (
	// backchannelTimeout bounds each POST unless Config.HTTPClient has a
	// Timeout of its own.
	backchannelTimeout = 5 * time.Second
	// backchannelRetryDelay is the pause before the one retry.
	backchannelRetryDelay = time.Second
	// logoutTokenTTL is "exp" minus "iat" of a logout token: long enough
	// for the retry, short enough that a leaked token is soon useless
	// (§2.4 recommends at most two minutes).
	logoutTokenTTL = 2 * time.Minute
	// maxBackchannelResponse is how much of a response body is read, and
	// discarded, so that the connection can be reused.
	maxBackchannelResponse = 4 << 10
	// backchannelLogoutEvent is the member of the "events" claim that
	// makes a JWT a logout token (§2.4).
	backchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"
)

// logoutTokenClaims is the payload of a logout token (§2.4,
// https://openid.net/specs/openid-connect-backchannel-1_0.html#LogoutToken).
// It never has a "nonce", so that it cannot be mistaken for an ID token.
type logoutTokenClaims struct {
	Issuer   string              `json:"iss"`
	Subject  string              `json:"sub"`
	Audience string              `json:"aud"`
	IssuedAt int64               `json:"iat"`
	Expiry   int64               `json:"exp"`
	JTI      string              `json:"jti"`
	SID      string              `json:"sid"`
	Events   map[string]struct{} `json:"events"`
}

// newBackchannelClient returns the client that posts logout tokens: hc's
// Transport and Timeout (5 seconds when zero), no cookie jar, and
// redirects returned rather than followed.
func newBackchannelClient(hc *http.Client) *http.Client {
	c := &http.Client{
		Timeout:       backchannelTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if hc != nil {
		c.Transport = hc.Transport
		if hc.Timeout > 0 {
			c.Timeout = hc.Timeout
		}
	}
	return c
}

// sendLogoutTokens signs a logout token for the session sid of subject
// for each of clientIDs that has a BackchannelLogoutURI, and delivers them
// in the background. It returns without waiting.
func (s *Server) sendLogoutTokens(subject, sid string, clientIDs []string) {
	now := s.now()
	for _, id := range clientIDs {
		c, ok := s.clients[id]
		if !ok || c.BackchannelLogoutURI == "" {
			continue
		}
		token, err := s.keys.signTyped("logout+jwt", logoutTokenClaims{
			Issuer:   s.issuer,
			Subject:  subject,
			Audience: c.ID,
			IssuedAt: now.Unix(),
			Expiry:   now.Add(logoutTokenTTL).Unix(),
			JTI:      randomToken(),
			SID:      sid,
			Events:   map[string]struct{}{backchannelLogoutEvent: {}},
		})
		if err != nil {
			s.stats.bcFailed.Add(1)
			s.log.Error("devoidc: sign logout token", "client_id", c.ID, "err", err)
			continue
		}
		s.bcPending.Go(func() { s.deliverLogoutToken(c, token) })
	}
}

// deliverLogoutToken posts token to c's BackchannelLogoutURI, retrying
// once as described at the top of this file, and counts the outcome.
func (s *Server) deliverLogoutToken(c Client, token string) {
	for attempt := 1; ; attempt++ {
		status, err := s.postLogoutToken(c.BackchannelLogoutURI, token)
		switch {
		case err == nil && (status == http.StatusOK || status == http.StatusNoContent):
			s.stats.bcSent.Add(1)
			s.log.Info("devoidc: back-channel logout delivered", "client_id", c.ID, "status", status, "attempts", attempt)
			return
		case err == nil && status == http.StatusBadRequest:
			s.stats.bcFailed.Add(1)
			s.log.Warn("devoidc: back-channel logout refused by the client", "client_id", c.ID, "status", status, "attempts", attempt)
			return
		case err == nil && status/100 == 2, attempt == 2:
			s.stats.bcFailed.Add(1)
			if err != nil {
				s.log.Warn("devoidc: back-channel logout failed", "client_id", c.ID, "err", err, "attempts", attempt)
			} else {
				s.log.Warn("devoidc: back-channel logout failed", "client_id", c.ID, "status", status, "attempts", attempt)
			}
			return
		}
		time.Sleep(s.bcRetry)
	}
}

// postLogoutToken sends one logout request (§2.5): a form-encoded POST
// with the single parameter logout_token. It returns the response status,
// having read and discarded at most a few KB of the body.
func (s *Server) postLogoutToken(uri, token string) (int, error) {
	body := url.Values{"logout_token": {token}}.Encode()
	req, err := http.NewRequest(http.MethodPost, uri, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.bcClient.Do(req)
	if err != nil {
		// A *url.Error names the method and URI and the cause, never the
		// body, so the token stays out of the logs.
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxBackchannelResponse))
	return resp.StatusCode, nil
}
