// Package loopback holds the one rule for where plain http is acceptable:
// hosts that name the local machine. [providers.IsLoopback] exports it;
// the test providers of internal/opkit use it directly, since the tests
// of package providers import them (an import of providers from there
// would be a cycle). It is not public API.
package loopback

import (
	"net"
	"strings"
)

// Host reports whether host (without port) names the local machine:
// "localhost" or a name under ".localhost" (RFC 6761 §6.3), in any case and
// with or without a final dot; an address in 127.0.0.0/8; or ::1, with or
// without brackets.
func Host(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
