package devoidc

import (
	"slices"
	"time"
)

// Step-up authentication (OpenID Connect Core 1.0 §3.1.2.1,
// https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest): a
// relying party that needs a recent or a stronger authentication asks for
// it with max_age, prompt=login or acr_values, and checks auth_time, acr and
// amr in the ID token (§2). devoidc authenticates at one of two levels,
// ACRPassword and ACRMultiFactor; the second factor is simulated, like the
// password: no code is asked.

// The authentication context class references ("acr", OpenID Connect Core
// 1.0 §2, https://openid.net/specs/openid-connect-core-1_0.html#IDToken)
// devoidc signs users in at. A relying party asks for one with the
// acr_values parameter of the authorization request, and reads it back in
// the ID token's acr claim, and in the JWT access token's when
// [Config.AccessTokenAudience] is set. Each level has its amr claim
// (Authentication Method Reference Values, RFC 8176 §2).
const (
	// ACRPassword is the acr of a sign-in with the first factor only, as
	// if by password: amr ["pwd"]. It is the level of every sign-in unless
	// the user chooses a second factor on the sign-in page, or AutoLogin
	// signs in a request whose acr_values name ACRMultiFactor.
	ACRPassword = "urn:devoidc:pwd"

	// ACRMultiFactor is the acr of a sign-in with a second factor, as if
	// by password and one-time code: amr ["pwd", "otp"]. A request whose
	// acr_values contain it, over an OP session signed in with ACRPassword
	// only, authenticates again.
	ACRMultiFactor = "urn:devoidc:mfa"
)

// amrFor returns the amr claim (RFC 8176 §2) of a sign-in at acr: nil for
// an unknown acr, so that the claim is left out.
func amrFor(acr string) []string {
	switch acr {
	case ACRPassword:
		return []string{"pwd"}
	case ACRMultiFactor:
		return []string{"pwd", "otp"}
	}
	return nil
}

// wantsMFA reports whether req's acr_values name ACRMultiFactor. Other
// values, known or not, are requests devoidc meets with ACRPassword: the
// acr claim is voluntary unless requested as essential with the claims
// parameter (§5.5.1.1), which devoidc does not support.
func (req authRequest) wantsMFA() bool {
	return slices.Contains(req.acrValues, ACRMultiFactor)
}

// requestedACR is the level at which AutoLogin signs req in: ACRMultiFactor
// when its acr_values ask for it and step-up is honoured, else ACRPassword.
func (s *Server) requestedACR(req authRequest) string {
	if req.wantsMFA() && !s.ignoreStepUp {
		return ACRMultiFactor
	}
	return ACRPassword
}

// mustReauthenticate reports whether req asks for an authentication that
// the OP session sess does not provide, so that single sign-on must not
// reuse it: prompt=login; a max_age that the time since the session's
// sign-in has reached (max_age=0 is prompt=login, §3.1.2.1); or acr_values
// that ask for ACRMultiFactor over an ACRPassword session. With
// Config.IgnoreStepUp it is always false.
func (s *Server) mustReauthenticate(sess opSession, req authRequest) bool {
	if s.ignoreStepUp {
		return false
	}
	switch {
	case req.prompt == "login":
		return true
	case req.maxAge >= 0 && int64(s.now().Sub(sess.authTime)/time.Second) >= req.maxAge:
		return true
	case req.wantsMFA() && sess.acr != ACRMultiFactor:
		return true
	}
	return false
}
