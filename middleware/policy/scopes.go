package policy

import (
	"fmt"
	"slices"
)

// ErrInsufficientScope is wrapped by the refusal of [Scopes]: the bearer
// token lacks a scope the route requires. It wraps [ErrDenied]; the
// middleware answers such a refusal with 403 and
// error="insufficient_scope" (RFC 6750 §3.1).
var ErrInsufficientScope error = &insufficientScope{}

type insufficientScope struct{}

func (*insufficientScope) Error() string { return "policy: denied: insufficient scope" }
func (*insufficientScope) Unwrap() error { return ErrDenied }

// scopeSet is the Policy of [Scopes].
type scopeSet struct {
	want    []string
	missing []error // missing[i] is the refusal for want[i]
}

// Scopes requires a request authenticated by a bearer token to carry every
// one of scopes (compared exactly, RFC 6749 §3.3); a token without one is
// refused with an error wrapping [ErrInsufficientScope].
//
// A request with a session cookie passes. Scopes belong to tokens: they say
// what a client application may do on the user's behalf, and a user signed
// in to the application itself has delegated nothing. What such a user may
// do is the business of the other policies, so a route usually combines
// Scopes with them in [AllOf]:
//
//	policy.AllOf(policy.Scopes("reports:read"), policy.Groups("finance"))
//
// For the same reason, [AnyOf] refuses to hold Scopes (or an AllOf of
// nothing but Scopes): every cookie session would pass it.
//
// An empty list, or a scope that is not a scope token (empty, or holding a
// space, '"', '\' or a byte outside printable ASCII), is a configuration
// error: the policy refuses everyone and [Validate] reports it.
func Scopes(scopes ...string) Policy {
	if len(scopes) == 0 {
		return misconfigured("Scopes: no scopes")
	}
	p := scopeSet{want: slices.Clone(scopes), missing: make([]error, len(scopes))}
	for i, s := range scopes {
		if !scopeToken(s) {
			return misconfigured("Scopes: %q is not a scope token", s)
		}
		p.missing[i] = fmt.Errorf("%w: %q missing", ErrInsufficientScope, s)
	}
	return p
}

func (p scopeSet) Check(r *Request) error {
	if r == nil {
		return ErrInsufficientScope
	}
	if !r.Bearer {
		return nil
	}
	for i, s := range p.want {
		if !slices.Contains(r.Scopes, s) {
			return p.missing[i]
		}
	}
	return nil
}

// scopeToken reports whether s is a scope-token of RFC 6749 §3.3:
// 1*( %x21 / %x23-5B / %x5D-7E ).
func scopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// passesCookies reports whether p admits every cookie session whatever
// the session holds, which makes it a hole in [AnyOf].
func passesCookies(p Policy) bool {
	switch p := p.(type) {
	case scopeSet:
		return true
	case allOf:
		return p.cookiesPass
	}
	return false
}
