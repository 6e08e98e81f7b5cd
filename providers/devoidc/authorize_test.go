package devoidc

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

// TestAuthorizeUntrustedRedirect checks that a request whose client or
// redirect URI is not registered exactly never redirects (RFC 6749
// §4.1.2.1), but gets an HTML error page.
func TestAuthorizeUntrustedRedirect(t *testing.T) {
	o := newTestOP(t)
	_, challenge := pkce()
	tests := map[string]url.Values{
		"unknown client":           authorizeQuery(challenge, map[string]string{"client_id": "nope"}),
		"missing client_id":        authorizeQuery(challenge, map[string]string{"client_id": ""}),
		"missing redirect_uri":     authorizeQuery(challenge, map[string]string{"redirect_uri": ""}),
		"unregistered":             authorizeQuery(challenge, map[string]string{"redirect_uri": "https://evil.example/callback"}),
		"other client's URI":       authorizeQuery(challenge, map[string]string{"redirect_uri": otherRedirect}),
		"trailing slash":           authorizeQuery(challenge, map[string]string{"redirect_uri": testRedirect + "/"}),
		"extra query":              authorizeQuery(challenge, map[string]string{"redirect_uri": testRedirect + "?x=1"}),
		"case changed":             authorizeQuery(challenge, map[string]string{"redirect_uri": strings.ToUpper(testRedirect)}),
		"plus bad response_type":   authorizeQuery(challenge, map[string]string{"redirect_uri": "https://evil.example/", "response_type": "token"}),
		"repeated redirect_uri":    {"client_id": {testClientID}, "redirect_uri": {testRedirect, "https://evil.example/"}},
		"repeated client_id":       {"client_id": {testClientID, otherClientID}, "redirect_uri": {testRedirect}},
		"script in redirect_uri":   authorizeQuery(challenge, map[string]string{"redirect_uri": "javascript:alert(1)"}),
		"no parameters whatsoever": {},
	}
	for name, q := range tests {
		t.Run(name, func(t *testing.T) {
			resp := o.authorize(q)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Fatalf("status %d, Location %q: want 400 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type = %q", ct)
			}
			if !strings.Contains(string(body), "not for production") {
				t.Error("error page lacks the development label")
			}
			if strings.Contains(string(body), "evil.example") || strings.Contains(string(body), "javascript:") {
				t.Error("error page reflects the redirect_uri")
			}
		})
	}
}

// TestAuthorizeErrorRedirects checks the errors returned to a trusted
// redirect URI, with state and iss.
func TestAuthorizeErrorRedirects(t *testing.T) {
	o := newTestOP(t)
	_, challenge := pkce()
	tests := []struct {
		name      string
		overrides map[string]string
		want      string
	}{
		{"response_type token", map[string]string{"response_type": "token"}, "unsupported_response_type"},
		{"response_type code id_token", map[string]string{"response_type": "code id_token"}, "unsupported_response_type"},
		{"missing response_type", map[string]string{"response_type": ""}, "invalid_request"},
		{"no openid scope", map[string]string{"scope": "profile email"}, "invalid_scope"},
		{"missing scope", map[string]string{"scope": ""}, "invalid_scope"},
		{"missing code_challenge", map[string]string{"code_challenge": ""}, "invalid_request"},
		{"plain method", map[string]string{"code_challenge_method": "plain"}, "invalid_request"},
		{"missing method (defaults to plain)", map[string]string{"code_challenge_method": ""}, "invalid_request"},
		{"short challenge", map[string]string{"code_challenge": "abc"}, "invalid_request"},
		{"challenge with padding", map[string]string{"code_challenge": challenge[:42] + "="}, "invalid_request"},
		{"prompt none and login", map[string]string{"prompt": "none login"}, "invalid_request"},
		{"negative max_age", map[string]string{"max_age": "-1"}, "invalid_request"},
		{"response_mode fragment", map[string]string{"response_mode": "fragment"}, "invalid_request"},
		{"request object", map[string]string{"request": "e30.e30."}, "request_not_supported"},
		{"request_uri", map[string]string{"request_uri": "https://x/"}, "request_uri_not_supported"},
		{"long nonce", map[string]string{"nonce": strings.Repeat("n", 1025)}, "invalid_request"},
		{"prompt none without session", map[string]string{"prompt": "none"}, "login_required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := redirectParams(t, o.authorize(authorizeQuery(challenge, tt.overrides)), testRedirect)
			if q.Get("error") != tt.want {
				t.Errorf("error = %q (%s), want %q", q.Get("error"), q.Get("error_description"), tt.want)
			}
			if q.Get("state") != testState || q.Get("iss") != o.op.Issuer() || q.Has("code") {
				t.Errorf("redirect params = %v, want state and iss and no code", q)
			}
		})
	}
	t.Run("repeated state", func(t *testing.T) {
		q := authorizeQuery(challenge, nil)
		q.Add("state", "second")
		if got := redirectParams(t, o.authorize(q), testRedirect); got.Get("error") != "invalid_request" {
			t.Errorf("error = %q, want invalid_request", got.Get("error"))
		}
	})
}

func TestAuthorizeSuccess(t *testing.T) {
	o := newTestOP(t, withPath("/op"))
	_, challenge := pkce()
	resp := o.authorize(authorizeQuery(challenge, nil))
	q := redirectParams(t, resp, testRedirect)
	if len(q.Get("code")) != 43 || q.Get("state") != testState || q.Get("iss") != o.op.Issuer() {
		t.Errorf("redirect params = %v, want a 43-character code, state and iss", q)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == o.op.sessionCookie {
			session = c
		}
	}
	switch {
	case session == nil:
		t.Fatal("no OP session cookie set")
	case !strings.HasPrefix(session.Name, "devoidc_"):
		t.Errorf("cookie name %q does not start with devoidc_", session.Name)
	case !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/op" || session.Secure:
		t.Errorf("cookie = %+v, want HttpOnly, SameSite=Lax, Path=/op, not Secure over http", session)
	case len(session.Value) != 43:
		t.Errorf("session handle has %d characters", len(session.Value))
	}

	t.Run("no state", func(t *testing.T) {
		q := redirectParams(t, o.authorize(authorizeQuery(challenge, map[string]string{"state": ""})), testRedirect)
		if q.Has("state") || q.Get("code") == "" {
			t.Errorf("redirect params = %v", q)
		}
	})
}

func TestAuthorizeSecureCookieOverTLS(t *testing.T) {
	o := newTestOP(t, withTLS)
	_, challenge := pkce()
	resp := o.authorize(authorizeQuery(challenge, nil))
	redirectParams(t, resp, testRedirect)
	for _, c := range resp.Cookies() {
		if c.Name == o.op.sessionCookie && (!c.Secure || c.Path != "/") {
			t.Errorf("cookie = %+v, want Secure and Path=/", c)
		}
	}
}

// TestAuthorizeKeepsRegisteredQuery checks that a registered redirect URI
// with a query keeps it byte for byte (RFC 6749 §3.1.2).
func TestAuthorizeKeepsRegisteredQuery(t *testing.T) {
	const registered = "http://127.0.0.1:1/cb?tenant=a%20b&x=1"
	o := newTestOP(t, func(st *setup) { st.cfg.Clients[0].RedirectURIs = []string{registered} })
	_, challenge := pkce()
	resp := o.authorize(authorizeQuery(challenge, map[string]string{"redirect_uri": registered}))
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, registered+"&") {
		t.Fatalf("Location = %q, want the registered URI followed by &", loc)
	}
	u, _ := url.Parse(loc)
	if q := u.Query(); q.Get("tenant") != "a b" || q.Get("code") == "" || q.Get("state") != testState {
		t.Errorf("redirect params = %v", q)
	}
}

func FuzzParseAuthorize(f *testing.F) {
	s, err := New(Config{Issuer: "http://127.0.0.1:9000", Clients: testClients(), Key: testKey(f)})
	if err != nil {
		f.Fatal(err)
	}
	_, challenge := pkce()
	f.Add(authorizeQuery(challenge, nil).Encode())
	f.Add(authorizeQuery(challenge, map[string]string{"prompt": "none login"}).Encode())
	f.Add("client_id=app&redirect_uri=x")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		req, problem, oerr := s.parseAuthorize(q)
		if problem != "" {
			return
		}
		// Anything that may redirect must go to a registered URI.
		c, ok := s.clients[q.Get("client_id")]
		if !ok || req.redirectURI != q.Get("redirect_uri") || !slices.Contains(c.RedirectURIs, req.redirectURI) {
			t.Fatalf("redirect allowed to %q for client %q", req.redirectURI, q.Get("client_id"))
		}
		if oerr == nil && (!opkit.ValidS256Challenge(req.challenge) || !slices.Contains(req.scope, "openid")) {
			t.Fatalf("accepted request without S256 challenge or openid: %q", raw)
		}
	})
}
