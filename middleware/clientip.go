package middleware

import (
	"net/http"
	"net/netip"
	"strings"
)

// Bounds on the X-Forwarded-For walk. Only the rightmost bytes of the
// header are ever read, so the work per request is fixed whatever a client
// sends; an honest proxy chain needs a few entries, not 32.
const (
	maxForwardedHops  = 32      // entries examined, right to left
	maxForwardedBytes = 8 << 10 // bytes of the header lines examined, right to left
	maxForwardedEntry = 64      // one entry: "[v6%zone]:port" with a short zone
	forwardedFor      = "X-Forwarded-For"
)

// clientIP returns the address of the client that sent r, for rate limiting
// and IP-range policies. It is the one place a request's client address is
// decided.
//
// The address is the connection's (r.RemoteAddr, "host:port" or a bare
// address), with an IPv4-mapped IPv6 address unmapped and any zone dropped.
// X-Forwarded-For is read only when that connection comes from trusted, an
// explicitly configured list of reverse proxies (nil trusts none, so the
// header is ignored): its entries, across every header line in order and
// comma separated, are walked from the right, each trusted one naming the
// hop before it, and the first untrusted address is the client. A proxy
// appends the address it received the request from, so everything an
// attacker writes lies to the left of the first address a trusted proxy
// appended for them, and is never reached.
//
// Failing: the walk never returns a value found to the left of an entry it
// could not verify. A malformed entry (not an address, empty, over 64
// bytes), more than 32 entries, or entries beyond the rightmost 8 KiB of
// the header stop the walk, and the result is the last trusted hop: the
// proxy that wrote the entry we could not read, the closest address we can
// vouch for. Every client the chain cannot name thus shares that proxy's
// address (one rate-limit bucket), so a policy granting by IP range should
// not include the trusted proxies' own addresses. Oversized headers are cut to
// their rightmost 8 KiB rather than ignored wholesale: ignoring them would
// let a client choose, by padding the left, to be seen as the proxy. With
// only trusted entries (or none) the result is likewise the leftmost
// trusted one (a request the proxy itself made, such as a health check).
//
// An entry is a bare address, "ip:port", "[v6]" or "[v6]:port" (some
// proxies append the port), with optional surrounding spaces or tabs.
// trusted is matched against unmapped addresses, so its IPv4 ranges must be
// written as IPv4 (10.0.0.0/8, not ::ffff:10.0.0.0/104).
//
// An invalid r.RemoteAddr (a Unix socket's "@", an empty string) yields the
// zero [netip.Addr]: callers treat it as one shared "unknown" client.
//
// It does not read the RFC 7239 Forwarded header, X-Real-IP, or any other
// header, and never consults DNS. Nothing else comes from forwarding
// headers: scheme, host and callback URL are Config's alone.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer, ok := parseForwardedAddr(r.RemoteAddr)
	if !ok {
		return netip.Addr{}
	}
	if !isTrusted(peer, trusted) {
		return peer
	}
	lines := r.Header.Values(forwardedFor)
	budget := maxForwardedBytes
	hops := 0
	// last is the closest hop we can vouch for: it wrote the entry to its
	// left, the next one read.
	last := peer
	for i := len(lines) - 1; i >= 0; i-- {
		line, whole := lines[i], true
		if len(line) > budget {
			// Keep the rightmost budget bytes: the leftmost entry kept
			// is whole only if a comma precedes it. Lines further left
			// become empty, which is malformed.
			whole = line[len(line)-budget-1] == ','
			line = line[len(line)-budget:]
		}
		budget -= len(line)
		for {
			j := strings.LastIndexByte(line, ',')
			if j < 0 && !whole {
				return last
			}
			if hops++; hops > maxForwardedHops {
				return last
			}
			addr, ok := parseForwardedAddr(strings.Trim(line[j+1:], " \t"))
			if !ok {
				return last
			}
			if !isTrusted(addr, trusted) {
				return addr
			}
			last = addr
			if j < 0 {
				break
			}
			line = line[:j]
		}
	}
	return last
}

// parseForwardedAddr parses one address as found in RemoteAddr or an
// X-Forwarded-For entry: a bare IPv4 or IPv6 address, "ip:port", "[v6]",
// or "[v6]:port". The result is unmapped and has no zone.
func parseForwardedAddr(s string) (netip.Addr, bool) {
	if len(s) == 0 || len(s) > maxForwardedEntry {
		return netip.Addr{}, false
	}
	// Choose the form first: a failed netip parse allocates its error.
	var addr netip.Addr
	var err error
	switch {
	case s[0] == '[' && s[len(s)-1] == ']':
		addr, err = netip.ParseAddr(s[1 : len(s)-1])
		if err == nil && !addr.Is6() {
			return netip.Addr{}, false
		}
	case s[0] == '[' || strings.Count(s, ":") == 1: // IPv6 always has two
		var ap netip.AddrPort
		ap, err = netip.ParseAddrPort(s)
		addr = ap.Addr()
	default:
		addr, err = netip.ParseAddr(s)
	}
	if err != nil {
		return netip.Addr{}, false
	}
	return addr.Unmap().WithZone(""), true
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
