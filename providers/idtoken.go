package providers

import (
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/portcullis-go/portcullis/session"
	"golang.org/x/oauth2"
)

// idTokenVerifier adds to go-oidc's IDTokenVerifier (signature, pinned
// algorithms, iss, aud contains client, exp) the checks OpenID Connect
// Core §3.1.3.7 asks of the client and go-oidc leaves to its caller.
type idTokenVerifier struct {
	verifier       *oidc.IDTokenVerifier
	clientID       string
	extraAudiences []string
	maxAge         time.Duration
	now            func() time.Time
}

// idClaims are the ID token claims portcullis reads.
type idClaims struct {
	Nonce             string   `json:"nonce"`
	AuthorizedParty   string   `json:"azp"`
	SID               string   `json:"sid"`
	Email             string   `json:"email"`
	EmailVerified     *bool    `json:"email_verified"`
	Name              string   `json:"name"`
	PreferredUsername string   `json:"preferred_username"`
	Picture           string   `json:"picture"`
	Groups            []string `json:"groups"`
}

// verify checks raw completely. nonce is the flow's nonce; it must be
// non-empty and equal the token's.
func (v *idTokenVerifier) verify(ctx context.Context, raw, nonce string) (*oidc.IDToken, *idClaims, error) {
	tok, err := v.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, nil, verifyError(err)
	}
	var c idClaims
	if err := tok.Claims(&c); err != nil {
		return nil, nil, fmt.Errorf("id_token: claims: %w", err)
	}
	if nonce == "" || c.Nonce == "" || subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(nonce)) != 1 {
		return nil, nil, errors.New("id_token: nonce does not match the login flow")
	}
	if err := v.checkCommon(tok, &c); err != nil {
		return nil, nil, err
	}
	return tok, &c, nil
}

// checkCommon holds the checks shared by login and refresh: sub, iat,
// audiences and azp.
func (v *idTokenVerifier) checkCommon(tok *oidc.IDToken, c *idClaims) error {
	if tok.Subject == "" || len(tok.Subject) > 255 {
		return errors.New("id_token: sub missing or longer than 255 characters")
	}
	now := v.now()
	switch {
	case tok.IssuedAt.IsZero():
		return errors.New("id_token: iat missing")
	case tok.IssuedAt.After(now.Add(clockSkew)):
		return errors.New("id_token: iat in the future")
	case tok.IssuedAt.Before(now.Add(-v.maxAge - clockSkew)):
		return errors.New("id_token: iat too old")
	}
	for _, a := range tok.Audience {
		if a != v.clientID && !slices.Contains(v.extraAudiences, a) {
			return errors.New("id_token: untrusted audience")
		}
	}
	if len(tok.Audience) > 1 && c.AuthorizedParty == "" {
		return errors.New("id_token: several audiences and no azp")
	}
	if c.AuthorizedParty != "" && c.AuthorizedParty != v.clientID {
		return errors.New("id_token: azp is not this client")
	}
	return nil
}

// verifyError turns an error from go-oidc's Verify into one that names
// the failed check but holds no value from the token: go-oidc's messages
// quote the unverified issuer and audiences, and errors end up in logs.
func verifyError(err error) error {
	var expired *oidc.TokenExpiredError
	msg := err.Error()
	switch {
	case errors.As(err, &expired):
		return errors.New("id_token: expired")
	case strings.Contains(msg, "signature algorithm"), strings.Contains(msg, "signing algorithm"):
		return errors.New("id_token: signing algorithm not allowed")
	case strings.Contains(msg, "unmarshal claims"):
		return errors.New("id_token: malformed claims")
	case strings.Contains(msg, "issued by a different provider"):
		return errors.New("id_token: wrong issuer")
	case strings.Contains(msg, "expected audience"):
		return errors.New("id_token: wrong audience")
	case strings.Contains(msg, errUnknownKey.Error()):
		return errors.New("id_token: signature invalid (no published key verifies it)")
	case strings.Contains(msg, "fetching keys"), strings.Contains(msg, "get keys failed"):
		return errors.New("id_token: could not fetch the provider's keys")
	case strings.Contains(msg, "malformed jwt"), strings.Contains(msg, "not signed"), strings.Contains(msg, "multiple signatures"):
		return errors.New("id_token: malformed")
	case strings.Contains(msg, "signature"):
		return errors.New("id_token: signature invalid")
	case strings.Contains(msg, "nbf"):
		return errors.New("id_token: not yet valid")
	}
	return errors.New("id_token: invalid")
}

// identify verifies the token response of a login and builds the identity.
func (v *idTokenVerifier) identify(ctx context.Context, p *Provider, tok *oauth2.Token, nonce string,
	userInfo func(context.Context, *oauth2.Token) (*oidc.UserInfo, error)) (*Identity, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, errNoIDToken
	}
	idt, c, err := v.verify(ctx, raw, nonce)
	if err != nil {
		return nil, err
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, errors.New("id_token: at_hash does not match the access token")
		}
	}
	u := session.User{
		Provider: p.name,
		Issuer:   idt.Issuer,
		Subject:  idt.Subject,
		Name:     c.Name,
		Login:    c.PreferredUsername,
		Picture:  c.Picture,
		Groups:   c.Groups,
	}
	if c.EmailVerified != nil && *c.EmailVerified {
		u.Email = c.Email
	}
	if userInfo != nil {
		ui, err := userInfo(ctx, tok)
		if err != nil {
			// go-oidc's error quotes the response body, which is text the
			// provider chooses (it may echo the token): keep only network
			// errors, whose text is ours.
			var ne net.Error
			if errors.As(err, &ne) {
				return nil, fmt.Errorf("userinfo: %w", ne)
			}
			return nil, errors.New("userinfo: request refused")
		}
		if ui.Subject != idt.Subject {
			return nil, errors.New("userinfo: sub differs from the ID token's")
		}
		var extra idClaims
		if err := ui.Claims(&extra); err != nil {
			return nil, fmt.Errorf("userinfo: claims: %w", err)
		}
		if ui.EmailVerified && ui.Email != "" {
			u.Email = ui.Email
		}
		u.Name = cmp.Or(extra.Name, u.Name)
		u.Login = cmp.Or(extra.PreferredUsername, u.Login)
		u.Picture = cmp.Or(extra.Picture, u.Picture)
		if len(extra.Groups) > 0 {
			u.Groups = extra.Groups
		}
	}
	return &Identity{User: u, Tokens: tokens(tok, raw), SID: c.SID}, nil
}
