package providers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// EndSessionURL returns where to send the browser to end the user's
// session at the provider (OpenID Connect RP-Initiated Logout 1.0 §2):
// the provider's end_session_endpoint with id_token_hint, client_id,
// post_logout_redirect_uri and state. It returns "" when the provider has
// no end_session_endpoint.
//
// postLogoutRedirectURL must be registered at the provider; state must be
// fresh and checked when the browser comes back (RP-Initiated Logout §3).
func (p *Provider) EndSessionURL(idTokenHint, postLogoutRedirectURL, state string) string {
	if p.endSessionURL == "" {
		return ""
	}
	u, err := url.Parse(p.endSessionURL)
	if err != nil {
		return ""
	}
	q := u.Query()
	if idTokenHint != "" {
		q.Set("id_token_hint", idTokenHint)
	}
	q.Set("client_id", p.oauth.ClientID)
	q.Set("post_logout_redirect_uri", postLogoutRedirectURL)
	q.Set("state", state)
	u.RawQuery = q.Encode()
	return u.String()
}

// CanRevoke reports whether the provider has a revocation endpoint.
func (p *Provider) CanRevoke() bool { return p.revocationURL != "" }

// Revoke asks the provider to revoke token (RFC 7009 §2.1), authenticating
// as the client with HTTP Basic. hint is "refresh_token" or
// "access_token". A provider without a revocation endpoint returns an
// error; so does any answer but 200 (RFC 7009 §2.2: 200 also for unknown
// tokens).
func (p *Provider) Revoke(ctx context.Context, token, hint string) error {
	if p.revocationURL == "" {
		return errors.New("providers: " + p.name + " has no revocation endpoint")
	}
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.revocationURL, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("providers: %s: revoke: %w", p.name, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// RFC 6749 §2.3.1: client id and secret are form-urlencoded first.
	req.SetBasicAuth(url.QueryEscape(p.oauth.ClientID), url.QueryEscape(p.oauth.ClientSecret))
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("providers: %s: revoke: %w", p.name, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("providers: %s: revoke: revocation endpoint answered HTTP %d", p.name, resp.StatusCode)
	}
	return nil
}
