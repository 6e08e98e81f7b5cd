package providers

import (
	"context"
	"errors"
	"fmt"

	"github.com/portcullis-go/portcullis/session"
	"golang.org/x/oauth2"
)

// ErrRefreshDenied is wrapped by the error [Provider.Refresh] returns when
// the provider definitively refused the refresh token (invalid_grant and
// the other client errors of RFC 6749 §5.2), or when a refreshed ID token
// does not belong to the same user and client. The session must end.
// Every other refresh error is transient: the provider could not be
// reached, timed out or failed, and a later attempt may succeed.
var ErrRefreshDenied = errors.New("providers: refresh denied")

// Refresh redeems the session's refresh token at the token endpoint
// (RFC 6749 §6) and returns the new tokens. When the response carries no
// new refresh token the old one is kept (RFC 6749 §6 allows either).
//
// A refreshed ID token, when one comes back, is verified like a login's
// (signature, pinned algorithms, iss, aud, exp, iat, sub, azp) except for
// the nonce, and must keep the original's "iss", "sub", "aud" and "azp"
// (OpenID Connect Core §12.2); otherwise the refresh is denied.
//
// Refresh does not retry, lock or remember anything: the middleware makes
// sure one refresh token is redeemed once.
func (p *Provider) Refresh(ctx context.Context, s *session.Session) (*session.Tokens, error) {
	if s.Tokens.RefreshToken == "" {
		return nil, fmt.Errorf("%w: the session has no refresh token", ErrRefreshDenied)
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, p.client)
	tok, err := p.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: s.Tokens.RefreshToken}).Token()
	if err != nil {
		return nil, refreshError(p.name, err)
	}
	if err := checkTokenResponse(tok); err != nil {
		return nil, fmt.Errorf("providers: %s: refresh: %w", p.name, err)
	}
	// An ID token is kept only when it was verified: a provider without
	// ID tokens never gets one into the session.
	raw, _ := tok.Extra("id_token").(string)
	if p.refreshed == nil {
		raw = ""
	}
	if raw != "" {
		if err := p.refreshed(ctx, s, raw, tok); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrRefreshDenied, p.name, err)
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

// refreshError classifies a token endpoint error: an OAuth error response
// with a 4xx status is definitive, everything else transient. The
// provider's error_description is not kept.
func refreshError(name string, err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return fmt.Errorf("providers: %s: refresh: %w", name, err)
	}
	status := re.Response.StatusCode
	switch {
	case status >= 500, re.ErrorCode == "server_error", re.ErrorCode == "temporarily_unavailable":
		return fmt.Errorf("providers: %s: refresh: token endpoint answered HTTP %d", name, status)
	case status >= 400, re.ErrorCode != "":
		// A 4xx, or an OAuth error in a 200 (GitHub answers
		// bad_refresh_token that way): the token is dead.
		return fmt.Errorf("%w: %s: token endpoint answered HTTP %d with an OAuth error", ErrRefreshDenied, name, status)
	}
	return fmt.Errorf("providers: %s: refresh: token endpoint answered HTTP %d", name, status)
}
