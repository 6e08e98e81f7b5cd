package providers

import (
	"context"
	"errors"
	"fmt"

	"github.com/portcullis-go/portcullis/session"
	"golang.org/x/oauth2"
)

// Refresh redeems the session's refresh token at the token endpoint
// (RFC 6749 §6) and returns the new tokens. When the response carries no
// new refresh token the old one is kept (RFC 6749 §6 allows either).
//
// A refreshed ID token, when one comes back, is verified like a login's
// (signature, pinned algorithms, iss, aud, exp, iat, sub, azp) except for
// the nonce, and must keep the original's "iss", "sub", "aud" and "azp"
// (OpenID Connect Core §12.2); otherwise the refresh is denied.
//
// Errors wrap [ErrDenied] when the session must end (the provider refused
// the refresh token or the client, or the refreshed ID token is another
// user's) and [ErrUnavailable] when a later attempt may succeed, with an
// [*Error] carrying the provider's Retry-After when it sent one; the
// classification is the code exchange's (see ErrDenied). A provider whose
// discovery document cannot be fetched (see [OIDC]) is unavailable, never
// a denial: a provider that is down signs nobody out.
//
// Refresh does not retry, lock or remember anything: the middleware makes
// sure one refresh token is redeemed once.
func (p *Provider) Refresh(ctx context.Context, s *session.Session) (*session.Tokens, error) {
	if s.Tokens.RefreshToken == "" {
		return nil, fmt.Errorf("%w: the session has no refresh token", ErrDenied)
	}
	m, err := p.metadata(ctx)
	if err != nil {
		// Not the refresh token's fault: the provider could not be asked.
		return nil, fmt.Errorf("providers: %s: refresh: %w", p.name, err)
	}
	c, tctx, err := p.tokenRequest(ctx, m, "")
	if err != nil {
		return nil, fmt.Errorf("providers: %s: refresh: %w", p.name, err)
	}
	tok, err := c.TokenSource(tctx, &oauth2.Token{RefreshToken: s.Tokens.RefreshToken}).Token()
	if err != nil {
		return nil, fmt.Errorf("providers: %s: refresh: %w", p.name, tokenError(err, p.now()))
	}
	if err := checkTokenResponse(tok); err != nil {
		return nil, fmt.Errorf("providers: %s: refresh: %w: %w", p.name, ErrUnavailable, err)
	}
	// An ID token is kept only when it was verified: a provider without
	// ID tokens never gets one into the session.
	raw, _ := tok.Extra("id_token").(string)
	if m.idTokens == nil {
		raw = ""
	}
	if raw != "" {
		if err := m.idTokens.verifyRefreshed(ctx, s, raw, tok); err != nil {
			if errors.Is(err, ErrUnavailable) {
				// The provider's keys could not be fetched: nothing says
				// the token is not the user's. The refresh is retried
				// later with the same refresh token, which the provider
				// may or may not still honour; ending the session here
				// would sign out everyone a JWKS outage meets.
				return nil, fmt.Errorf("providers: %s: refresh: %w", p.name, err)
			}
			return nil, fmt.Errorf("%w: %s: %v", ErrDenied, p.name, err)
		}
	}
	t := tokens(tok, raw)
	if raw == "" {
		t.IDToken = s.Tokens.IDToken
	}
	if t.RefreshToken == "" {
		t.RefreshToken = s.Tokens.RefreshToken
	}
	p.defaultExpiry(&t)
	return &t, nil
}
