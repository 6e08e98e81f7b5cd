// Package fakenet lets the provider fakes answer at real providers' host
// names in tests. It is not public API.
package fakenet

import (
	"context"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
)

// RoutingClient returns a client that trusts the TLS test server ts and
// dials it for the given host names (accounts.google.com, api.github.com,
// …); any other host is dialled where it is addressed.
func RoutingClient(ts *httptest.Server, hosts []string) *http.Client {
	tr := ts.Client().Transport.(*http.Transport).Clone()
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	tr.TLSClientConfig.RootCAs = pool
	// httptest's certificate is valid for example.com.
	tr.TLSClientConfig.ServerName = "example.com"
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, _, _ := net.SplitHostPort(addr); slices.Contains(hosts, host) {
			addr = ts.Listener.Addr().String()
		}
		return d.DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: tr}
}
