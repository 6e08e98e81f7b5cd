package providers

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/portcullis-go/portcullis/session"
	"golang.org/x/oauth2"
)

// verifyRefreshed checks a refreshed ID token against the session's
// original one (OpenID Connect Core §12.2): verified like a login's
// except for the nonce, with the original's "iss", "sub", "aud" and
// "azp"; a "nonce", when present, equal to the original's; and an
// "auth_time", when present, equal to the original's if that had one (it
// is the time of the original authentication, not of the refresh).
func (v *idTokenVerifier) verifyRefreshed(ctx context.Context, s *session.Session, raw string, tok *oauth2.Token) error {
	idt, _, c, err := v.verifyToken(ctx, raw)
	if err != nil {
		return err
	}
	if err := v.checkCommon(idt, c); err != nil {
		return err
	}
	if idt.AccessTokenHash != "" && idt.VerifyAccessToken(tok.AccessToken) != nil {
		return errors.New("id_token: at_hash does not match the access token")
	}
	orig, err := unverifiedClaims(s.Tokens.IDToken)
	if err != nil {
		return fmt.Errorf("original id_token: %w", err)
	}
	switch {
	case !sameIssuer(idt.Issuer, orig.Issuer),
		// With checkIssuer (Entra) the user's issuer is the provider's,
		// the tenant's issuer is the original token's.
		v.checkIssuer == nil && !sameIssuer(idt.Issuer, s.User.Issuer):
		return errors.New("refreshed id_token: iss changed")
	case idt.Subject != s.User.Subject || idt.Subject != orig.Subject:
		return errors.New("refreshed id_token: sub changed")
	case !sameSet(idt.Audience, orig.Audience):
		return errors.New("refreshed id_token: aud changed")
	case c.AuthorizedParty != orig.AuthorizedParty:
		return errors.New("refreshed id_token: azp changed")
	case c.Nonce != "" && subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(orig.Nonce)) != 1:
		return errors.New("refreshed id_token: nonce differs from the original's")
	case c.AuthTime.present && !c.AuthTime.valid:
		return errors.New("refreshed id_token: auth_time is not a number")
	case c.AuthTime.present && orig.AuthTime.valid && c.AuthTime.unix != orig.AuthTime.unix:
		return errors.New("refreshed id_token: auth_time changed")
	}
	return nil
}

// storedClaims are the claims read back from the session's own ID token,
// which was verified at login and is kept in the authenticated session.
// An "auth_time" that is not a number counts as absent: the login did not
// read it.
type storedClaims struct {
	Issuer          string    `json:"iss"`
	Subject         string    `json:"sub"`
	Audience        audience  `json:"aud"`
	AuthorizedParty string    `json:"azp"`
	Nonce           string    `json:"nonce"`
	AuthTime        claimTime `json:"auth_time"`
}

type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

func unverifiedClaims(raw string) (*storedClaims, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errors.New("malformed")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, errors.New("malformed")
	}
	var c storedClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, errors.New("malformed")
	}
	return &c, nil
}

// sameIssuer compares issuers exactly, except for Google's two spellings of
// its own: go-oidc accepts "accounts.google.com" in tokens for the issuer
// https://accounts.google.com only, so after verification the two are the
// same provider.
func sameIssuer(a, b string) bool {
	const google, googleBare = "https://accounts.google.com", "accounts.google.com"
	if a == googleBare {
		a = google
	}
	if b == googleBare {
		b = google
	}
	return a == b
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
