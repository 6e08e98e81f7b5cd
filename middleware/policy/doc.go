// Package policy decides who may pass a protected route, or sign in at
// all. A [Policy] is one method, Check, on a [Request] that the middleware
// builds from the session (or from a bearer token): who the user is, how
// and when they authenticated, the token's scopes, the client's address
// and the time. Check returns nil to let the request pass.
//
// # Building a policy
//
// The built-ins cover the common rules, and compose:
//
//	staff := policy.AllOf(
//		policy.EmailDomains("acme.com", "*.acme.com"), // acme.com and its subdomains
//		policy.AnyOf(policy.Groups("engineering"), policy.Emails("cto@acme.com")),
//	)
//	admin := policy.AllOf(staff,
//		policy.StepUp(policy.StepUpRequired{MaxAge: 10 * time.Minute, AMR: []string{"mfa"}}),
//		policy.IPRanges(netip.MustParsePrefix("10.0.0.0/8")),
//	)
//	api := policy.AllOf(policy.Scopes("reports:read"), policy.Groups("finance"))
//
// [EmailDomains] and [Emails] judge the verified email address, [Groups]
// the groups the provider asserted, [Providers] which provider signed the
// user in, [IPRanges] the client's address, [Scopes] a bearer token's
// scopes, and [StepUp] how recent and how strong the authentication was.
// [AnyOf] and [AllOf] combine them, and a [Func] is a plain function for
// anything else:
//
//	onCall := policy.Func(func(r *policy.Request) error {
//		ok, err := rota.IsOnCall(r.User.ID(), r.Now) // r.HTTP is nil for a sign-in
//		if err != nil {
//			return err // could not decide: the middleware answers 503
//		}
//		if !ok {
//			return fmt.Errorf("not on call: %w", policy.ErrDenied)
//		}
//		return nil
//	})
//
// # Refusals
//
// Every error refuses: no error ever lets a request through. What the
// middleware does with it depends on what it is, tested in this order:
//
//   - a [*StepUpRequired] ([errors.As]): the user must authenticate again,
//     more recently (MaxAge) or more strongly (ACR, AMR); the middleware
//     starts a new login that asks for it;
//   - an error wrapping [ErrInsufficientScope]: a bearer token lacks a
//     scope (403, error="insufficient_scope", RFC 6750 §3.1);
//   - an error wrapping [ErrDenied]: the user may not pass (403; for a
//     sign-in, the login fails);
//   - anything else, which only a Func returns: the policy could not decide
//     (a directory that did not answer), and the middleware answers 503.
//
// The built-ins' denials name the rule that failed, never the user's data,
// and cost no allocation; a passing Check of the built-ins allocates
// nothing either.
//
// # Configuration mistakes
//
// A built-in given data it cannot use — an empty list, a Unicode or
// malformed domain, a malformed address, an invalid [netip.Prefix], an
// AnyOf or AllOf with no policies or a nil one — does not panic and does
// not match loosely: it returns a policy that refuses every request with
// an error that names the mistake, and [Validate] returns that error. The
// middleware calls Validate when a policy is wired, so the program stops
// at startup instead of locking everyone out, or letting everyone in,
// later.
//
// # Email addresses
//
// Both email policies accept only a plain address, parsed by one small
// fuzzed function: exactly one '@' (so "eve@evil.com@acme.com" is not at
// acme.com, SECURITY.md AZ-01 and AZ-02); a local part of 1–64 bytes
// without quotes, spaces, backslashes, control characters or the RFC 5322
// specials; and a domain of ASCII letters, digits and hyphens in two or
// more labels, without a trailing dot. Domains compare case-insensitively
// ("USER@Acme.COM" is at acme.com) and exactly: "eve@acme.com.evil.com",
// "eve@evilacme.com" and "eve@acme.com." are not at acme.com (AZ-03). A
// user with no verified email never passes an email policy (AZ-05):
// portcullis stores an email only when the provider verified it.
//
// Domains are compared in their ASCII form only. A Unicode domain in the
// configuration is an error whose message asks for the punycode form
// ("xn--bcher-kva.de", not "bücher.de"), and a user's address with any
// non-ASCII byte in its domain matches nothing, so a look-alike such as
// "cоmpany.com" with a Cyrillic "о" can never pass for company.com
// (AZ-04). The package converts nothing itself: core packages use only
// the standard library, which has no IDNA, and comparing ASCII forms is
// what keeps two spellings of one name from meeting. Convert a Unicode
// domain once, with golang.org/x/net/idna's Lookup.ToASCII, and configure
// the result.
//
// # What this package does not do
//
// It does not fetch anything: groups are what the provider asserted at
// sign-in, and a user whose groups changed keeps the old ones until the
// next sign-in. It does not know which provider owns a domain (combine
// [EmailDomains] with [Providers] when that matters). It writes no HTTP
// response: turning a refusal into a status code, a WWW-Authenticate
// header or a new login is the middleware's job. And it cannot see into a
// Policy written by the user: Validate checks the built-ins only.
package policy
