package policy

import "fmt"

// A configError is a built-in policy's configuration mistake. It wraps
// [ErrDenied], because a misconfigured policy refuses every request;
// [Validate] returns it so that the mistake surfaces at wiring instead.
type configError struct{ detail string }

func (e *configError) Error() string { return "policy: misconfigured: " + e.detail }
func (e *configError) Unwrap() error { return ErrDenied }

// errNilFunc is what a nil [Func] answers and what [Validate] reports.
var errNilFunc = &configError{"nil Func"}

// invalid is the Policy a built-in constructor returns for invalid data:
// it refuses every request with its configuration error.
type invalid struct{ err *configError }

func (p invalid) Check(*Request) error { return p.err }

// misconfigured returns an [invalid] policy whose error reads
// "policy: misconfigured: " and then the formatted detail.
func misconfigured(format string, args ...any) Policy {
	return invalid{&configError{fmt.Sprintf(format, args...)}}
}

// Validate returns the configuration error of p, or of any policy inside
// it: a built-in given invalid data (a Unicode or malformed domain, an
// empty list, an invalid [netip.Prefix], a malformed address), an [AnyOf]
// or [AllOf] with no policies or a nil one, a nil [Func], or a nil p. The
// error names the problem and wraps [ErrDenied], which is also what such a
// policy's Check returns for every request. The middleware calls Validate
// when it is wired, so a mistake stops the program at startup.
//
// A policy that admits every cookie session whatever it holds — Scopes
// alone, or an AllOf of Scopes only — is a configuration error too: on a
// route, or as a sign-in policy, it would let every signed-in user in
// (scopes belong to bearer tokens). Combine Scopes with a policy that
// judges the user, in AllOf.
//
// Validate cannot look inside a Policy written by the user (it returns
// nil for one), only inside the built-ins. AnyOf and AllOf check their
// policies when they are built, so Validate of the outermost policy is
// enough.
func Validate(p Policy) error {
	if err := validate(p); err != nil {
		return err
	}
	if passesCookies(p) {
		return &configError{"a policy of Scopes only admits every cookie session: combine it with one that judges the user, in AllOf"}
	}
	return nil
}

// validate is Validate without the rule on Scopes-only policies, which
// only the outermost policy is held to (AllOf(Groups, Scopes) is fine).
func validate(p Policy) error {
	switch p := p.(type) {
	case nil:
		return &configError{"nil Policy"}
	case invalid:
		return p.err
	case Func:
		if p == nil {
			return errNilFunc
		}
	}
	return nil
}
