package providers

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/portcullis-go/portcullis/internal/loopback"
	"golang.org/x/oauth2"
)

// Limits of every request portcullis makes to a provider.
const (
	requestTimeout  = 10 * time.Second
	maxResponseSize = 1 << 20
)

// hardenedClient returns a copy of base (or of a default client) that never
// follows redirects (a token endpoint answering 307 to another host must not
// receive the code again, RFC 9700 §4.12), gives up after requestTimeout
// unless base sets its own timeout, and refuses response bodies larger than
// maxResponseSize.
func hardenedClient(base *http.Client) *http.Client {
	c := &http.Client{Timeout: requestTimeout}
	if base != nil {
		*c = *base
		if c.Timeout == 0 {
			c.Timeout = requestTimeout
		}
	}
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	c.Transport = limitTransport{rt}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.Jar = nil
	return c
}

type limitTransport struct{ next http.RoundTripper }

func (t limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: maxResponseSize}
	return resp, nil
}

var errResponseTooLarge = errors.New("providers: response body exceeds 1 MiB")

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// Probe for one more byte to tell "exactly at the limit" from "over".
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			return 0, errResponseTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// checkEndpoint refuses URLs a provider must not use: relative ones, any
// scheme but https, and plain http to anything but a loopback host
// (127.0.0.0/8, ::1, localhost), which local development and tests need.
func checkEndpoint(what, raw string) error {
	if err := endpointError(what, raw); err != nil {
		return fmt.Errorf("providers: %w", err)
	}
	return nil
}

// endpointError is checkEndpoint without the package prefix, for the
// endpoints of a discovery document. It quotes at most 256 bytes of raw:
// a document may hold anything.
func endpointError(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s %.256q is not a URL", what, raw)
	}
	if u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("%s %.256q must be an absolute URL without user info or fragment", what, raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if IsLoopback(u.Hostname()) {
			return nil
		}
	}
	return fmt.Errorf("%s %.256q must use https (plain http only on loopback hosts)", what, raw)
}

// IsLoopback reports whether host (without port) names the local machine:
// "localhost" (or a name under .localhost), an address in 127.0.0.0/8, or
// ::1. Plain http is acceptable only to such hosts.
func IsLoopback(host string) bool { return loopback.Host(host) }

// maxAPIRedirects bounds the redirects a [Provider.Client] follows.
const maxAPIRedirects = 10

// Client returns an *http.Client for calling the provider's APIs with the
// token of ts as a Bearer token (RFC 6750 §2.1). It has the limits of every
// request portcullis makes to a provider — the HTTPClient's transport and
// timeout (10 s by default), response bodies capped at 1 MiB — and follows
// at most 10 redirects, sending the token only to the origin (scheme, host
// and port) of the request the redirects started from: a redirect to
// another origin, https to http included, is followed without it.
func (p *Provider) Client(ts oauth2.TokenSource) *http.Client {
	return &http.Client{
		Transport: &bearerTransport{src: ts, next: p.client.Transport},
		Timeout:   p.client.Timeout,
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) >= maxAPIRedirects {
				return fmt.Errorf("providers: %s: stopped after %d redirects", p.name, maxAPIRedirects)
			}
			return nil
		},
	}
}

// bearerClient returns p's hardened client (no redirects) sending tok as a
// Bearer token.
func (p *Provider) bearerClient(tok *oauth2.Token) *http.Client {
	c := *p.client
	c.Transport = &bearerTransport{src: oauth2.StaticTokenSource(tok), next: p.client.Transport}
	return &c
}

// bearerTransport adds the token to requests for the origin their redirect
// chain started at. Unlike oauth2.Transport, which adds it on every hop, it
// never hands the token to an origin a redirect names.
type bearerTransport struct {
	src  oauth2.TokenSource
	next http.RoundTripper
}

func (t *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	first := req
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	if !sameOrigin(first.URL, req.URL) {
		return t.next.RoundTrip(req)
	}
	tok, err := t.src.Token()
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	r2 := req.Clone(req.Context())
	tok.SetAuthHeader(r2)
	return t.next.RoundTrip(r2)
}

// sameOrigin compares scheme, host and port (RFC 6454), with the default
// port made explicit.
func sameOrigin(a, b *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if strings.EqualFold(u.Scheme, "http") {
			return "80"
		}
		return "443"
	}
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}
