// Package fakenet is the network side of the provider fakes: it starts a
// fake at a loopback URL, or over TLS at real providers' host names, and
// gives tests a client that reaches it. It is not public API.
package fakenet

import (
	"context"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
)

// Server is a running fake provider. Embedded in a fake's own Server type,
// it gives the fake its Close and Client methods.
type Server struct {
	ts     *httptest.Server
	client *http.Client
}

// Start serves h. With hosts (accounts.google.com, api.github.com, …) it
// serves TLS, and [Server.Client] sends requests for those hosts to it and
// any other request where it is addressed; without, it
// serves plain http at [Server.LoopbackURL].
func Start(h http.Handler, hosts []string) *Server {
	ts := httptest.NewUnstartedServer(h)
	if len(hosts) == 0 {
		ts.Start()
		return &Server{ts: ts, client: ts.Client()}
	}
	ts.StartTLS()
	return &Server{ts: ts, client: routingClient(ts, hosts)}
}

// LoopbackURL returns the address the server listens at, such as
// "http://127.0.0.1:41234"; with hosts it is https and only
// [Server.Client] trusts it.
func (s *Server) LoopbackURL() string { return s.ts.URL }

// Close stops the server: later requests to it are refused, as by a
// provider that is down.
func (s *Server) Close() { s.ts.Close() }

// Client returns an HTTP client that reaches the server, at its host names
// when it has them.
func (s *Server) Client() *http.Client { return s.client }

// routingClient returns a client that trusts the TLS test server ts and
// dials it for the given host names; any other host is dialled where it is
// addressed.
func routingClient(ts *httptest.Server, hosts []string) *http.Client {
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
