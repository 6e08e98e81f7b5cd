package policy

import (
	"strings"
)

// Refusals of the email policies.
const (
	errNoEmail     denial = "policy: denied: no verified email"
	errBadEmail    denial = "policy: denied: email is not a plain address"
	errEmailDomain denial = "policy: denied: email domain not allowed"
	errEmail       denial = "policy: denied: email not allowed"
)

// emailDomains is the Policy of [EmailDomains].
type emailDomains struct {
	exact map[string]struct{} // "acme.com", lower-cased
	under map[string]struct{} // "acme.com" for "*.acme.com": strict subdomains only
}

// EmailDomains admits a user whose verified email address is at one of
// domains. Each domain is a host name such as "acme.com", matched exactly
// and case-insensitively ("USER@Acme.COM" is at acme.com); "*.acme.com"
// admits every subdomain of acme.com ("eng.acme.com", "a.b.acme.com") but
// not acme.com itself: list both to admit both.
//
// Nothing else matches: not "eve@acme.com.evil.com", "eve@evilacme.com",
// "eve@acme.com." (trailing dot) nor "eve@evil.com@acme.com" (the address
// must hold exactly one '@'), and no Unicode look-alike, since only ASCII
// domains are accepted; see the package documentation for the full syntax.
// A user without a verified email is refused.
//
// A domain that is not an ASCII host name of at least two labels — a
// Unicode one (write it in its punycode xn-- form), one with '@', a
// trailing dot or a '*' anywhere but as the whole first label — or an
// empty list is a configuration error: the policy refuses everyone and
// [Validate] reports it.
//
// EmailDomains does not know which provider a domain belongs to: anyone
// who can get an address at acme.com verified by any configured provider
// passes. Combine it with [Providers] when that matters (a Google
// Workspace domain is best restricted with the provider's "hd" check).
func EmailDomains(domains ...string) Policy {
	if len(domains) == 0 {
		return misconfigured("EmailDomains: no domains")
	}
	p := emailDomains{exact: map[string]struct{}{}, under: map[string]struct{}{}}
	for _, d := range domains {
		set, name := p.exact, d
		if rest, ok := strings.CutPrefix(d, "*."); ok {
			set, name = p.under, rest
		}
		if problem := domainProblem(name); problem != "" {
			return misconfigured("EmailDomains: %q %s", d, problem)
		}
		set[lowerASCII(name)] = struct{}{}
	}
	return p
}

func (p emailDomains) Check(r *Request) error {
	u := user(r)
	if u == nil || u.Email == "" {
		return errNoEmail
	}
	_, domain, ok := parseEmail(u.Email)
	if !ok {
		return errBadEmail
	}
	var buf [maxDomainLen]byte
	d := appendLowerASCII(buf[:0], domain)
	if _, ok := p.exact[string(d)]; ok {
		return nil
	}
	for i, c := range d {
		if c != '.' {
			continue
		}
		if _, ok := p.under[string(d[i+1:])]; ok {
			return nil
		}
	}
	return errEmailDomain
}

// emails is the Policy of [Emails].
type emails map[string]struct{} // "jane@acme.com", lower-cased

// Emails admits a user whose verified email address is one of addresses.
// The whole address is compared with ASCII case folding, the local part
// too: providers differ in the case they report (and some change it), so a
// case-sensitive comparison would lock out a user whose provider wrote
// "Jane.Doe" yesterday and writes "jane.doe" today, while the address is
// verified by the provider either way. Only ASCII letters fold: "K"
// (U+212A KELVIN SIGN) does not match "k".
//
// Addresses are parsed like the user's (see [EmailDomains]); a malformed
// one or an empty list is a configuration error: the policy refuses
// everyone and [Validate] reports it. A user without a verified email is
// refused. Emails does not canonicalize addresses ("j.doe+x@gmail.com" is
// not "jdoe@gmail.com").
func Emails(addresses ...string) Policy {
	if len(addresses) == 0 {
		return misconfigured("Emails: no addresses")
	}
	p := emails{}
	for _, a := range addresses {
		if _, _, problem := checkEmail(a); problem != "" {
			return misconfigured("Emails: %q %s", a, problem)
		}
		p[lowerASCII(a)] = struct{}{}
	}
	return p
}

func (p emails) Check(r *Request) error {
	u := user(r)
	if u == nil || u.Email == "" {
		return errNoEmail
	}
	if _, _, ok := parseEmail(u.Email); !ok {
		return errBadEmail
	}
	var buf [maxAddressLen]byte
	if _, ok := p[string(appendLowerASCII(buf[:0], u.Email))]; ok {
		return nil
	}
	return errEmail
}
