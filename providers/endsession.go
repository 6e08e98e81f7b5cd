package providers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// EndSessionURL returns where to send the browser to end the user's
// session at the provider (OpenID Connect RP-Initiated Logout 1.0 §2):
// the provider's end_session_endpoint with id_token_hint, client_id,
// post_logout_redirect_uri and state. It returns "" when the provider has
// no end_session_endpoint.
//
// postLogoutRedirectURL must be registered at the provider; state must be
// fresh and checked when the browser comes back (RP-Initiated Logout §3).
//
// The endpoint comes from the discovery document: when that is not known
// yet (see [OIDC]), EndSessionURL fetches it, waiting as long as ctx
// allows, and fails with an error wrapping [ErrUnavailable] if it cannot.
// With a ctx that is already done it answers from what is known and
// starts nothing.
func (p *Provider) EndSessionURL(ctx context.Context, idTokenHint, postLogoutRedirectURL, state string) (string, error) {
	m, err := p.metadata(ctx)
	if err != nil {
		return "", err
	}
	if m.endSessionURL == "" {
		return "", nil
	}
	u, err := url.Parse(m.endSessionURL)
	if err != nil {
		return "", fmt.Errorf("providers: %s: end_session_endpoint: %w", p.name, err)
	}
	q := u.Query()
	if idTokenHint != "" {
		q.Set("id_token_hint", idTokenHint)
	}
	q.Set("client_id", p.oauth.ClientID)
	q.Set("post_logout_redirect_uri", postLogoutRedirectURL)
	q.Set("state", state)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// CanRevoke reports whether the provider has a revocation endpoint (RFC
// 7009). For an OpenID Connect provider that is known from its discovery
// document: when that is not known yet, CanRevoke fetches it as
// [Provider.EndSessionURL] does, and fails with an error wrapping
// [ErrUnavailable] if it cannot; with a ctx that is already done it
// answers from what is known and starts nothing.
func (p *Provider) CanRevoke(ctx context.Context) (bool, error) {
	m, err := p.metadata(ctx)
	if err != nil {
		return false, err
	}
	return m.revocationURL != "", nil
}

// Revoke asks the provider to revoke token (RFC 7009 §2.1), authenticating
// as the client as the token requests do. hint is "refresh_token" or
// "access_token". A provider without a revocation endpoint returns an
// error wrapping [errors.ErrUnsupported], one whose discovery document
// cannot be fetched (see [OIDC]) an error wrapping [ErrUnavailable]; any
// answer but 200 is an error too (RFC 7009 §2.2: 200 also for unknown
// tokens).
func (p *Provider) Revoke(ctx context.Context, token, hint string) error {
	m, err := p.metadata(ctx)
	if err != nil {
		return fmt.Errorf("providers: %s: revoke: %w", p.name, err)
	}
	if m.revocationURL == "" {
		return fmt.Errorf("providers: %s has no revocation endpoint: %w", p.name, errors.ErrUnsupported)
	}
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	req, err := p.authenticatedPost(ctx, m, m.revocationURL, form)
	if err != nil {
		return fmt.Errorf("providers: %s: revoke: %w", p.name, err)
	}
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
