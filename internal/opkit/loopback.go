package opkit

import (
	"net"
	"strings"
)

// IsLoopback reports whether host (without port) names the local machine:
// "localhost" or a name under ".localhost" (RFC 6761 §6.3), in any case and
// with or without a final dot; an address in 127.0.0.0/8; or ::1, with or
// without brackets. A provider lets its issuer use plain http only on such
// a host.
//
// This is the rule of [github.com/portcullis-go/portcullis/providers.IsLoopback],
// which the library applies to every provider URL, and it must stay the
// same: TestIsLoopbackAgreesWithProviders fails on any difference. The kit
// cannot call it, because the tests of package providers import the fakes
// built on this kit, and Go refuses that import cycle.
func IsLoopback(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
