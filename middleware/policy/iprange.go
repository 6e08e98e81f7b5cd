package policy

import "net/netip"

// Refusals of [IPRanges].
const (
	errNoClientIP denial = "policy: denied: client address unknown"
	errClientIP   denial = "policy: denied: client address not in an allowed range"
)

// ipRanges is the Policy of [IPRanges].
type ipRanges []netip.Prefix // masked, IPv4-mapped ranges unmapped

// IPRanges admits a request whose [Request].ClientIP is inside one of
// ranges, such as netip.MustParsePrefix("10.0.0.0/8") or
// netip.MustParsePrefix("2001:db8::/32"). Host bits of a range are ignored
// (10.1.2.3/8 is 10.0.0.0/8).
//
// IPv4 is IPv4 however it is written: a client address in IPv4-mapped IPv6
// form (::ffff:10.1.2.3, what a dual-stack listener reports) is unmapped
// before the comparison, and so is a range written that way
// (::ffff:10.0.0.0/104 is 10.0.0.0/8). An IPv6 zone is ignored. A request
// whose client address is unknown (the zero [netip.Addr]) is refused.
//
// ClientIP is only as trustworthy as the middleware's trusted-proxy rule
// that sets it: behind a proxy that is not configured as trusted, every
// request comes from the proxy's address. An empty list or an invalid
// (zero) prefix is a configuration error: the policy refuses everyone and
// [Validate] reports it.
func IPRanges(ranges ...netip.Prefix) Policy {
	if len(ranges) == 0 {
		return misconfigured("IPRanges: no ranges")
	}
	p := make(ipRanges, 0, len(ranges))
	for i, r := range ranges {
		if !r.IsValid() {
			return misconfigured("IPRanges: range %d is not a valid prefix", i)
		}
		r = r.Masked()
		if a := r.Addr(); a.Is4In6() && r.Bits() >= 96 {
			r = netip.PrefixFrom(a.Unmap(), r.Bits()-96)
		}
		p = append(p, r)
	}
	return p
}

func (p ipRanges) Check(r *Request) error {
	if r == nil || !r.ClientIP.IsValid() {
		return errNoClientIP
	}
	ip := r.ClientIP.Unmap().WithZone("")
	for _, pr := range p {
		if pr.Contains(ip) {
			return nil
		}
	}
	return errClientIP
}
