package providers

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/oidctest"
	"github.com/portcullis-go/portcullis/session"
)

// Client authentication (clientauth.go) against the mock provider, which
// accepts only the methods a test gives it and checks every assertion.

func ecKey(t *testing.T, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func rsaKey(t *testing.T, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// clientAuthOP returns a mock provider that accepts only methods, with
// pub registered for private_key_jwt and a revocation endpoint.
func clientAuthOP(t *testing.T, pub crypto.PublicKey, methods ...string) *oidctest.Server {
	return oidctest.New(t, oidctest.WithClientAuth(methods...), oidctest.WithClientKey("", pub), oidctest.WithRevocation())
}

// clientAuthProvider returns a provider for op configured by edit.
func clientAuthProvider(t *testing.T, op *oidctest.Server, edit func(c *OIDCConfig)) *Provider {
	t.Helper()
	cfg := OIDCConfig{Name: "a", Issuer: op.URL, ClientID: oidctest.ClientID, ClientSecret: oidctest.ClientSecret, HTTPClient: op.Client()}
	if edit != nil {
		edit(&cfg)
	}
	p, err := OIDC(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// everyAuthenticatedCall makes each call that authenticates the client:
// code exchange, refresh, introspection and revocation. It returns the
// first error.
func everyAuthenticatedCall(t *testing.T, p *Provider, op *oidctest.Server) error {
	t.Helper()
	id, _, err := oidcLogin(t, p, op)
	if err != nil {
		return err
	}
	toks, err := p.Refresh(context.Background(), &session.Session{User: id.User, Tokens: id.Tokens})
	if err != nil {
		return err
	}
	op.Introspection = func(_ string, c oidctest.Claims) oidctest.Claims { c["aud"] = testAPI; return c }
	if _, err := p.Introspect(context.Background(), toks.AccessToken, AccessTokenRules{Audience: testAPI}); err != nil {
		return err
	}
	return p.Revoke(context.Background(), toks.RefreshToken, "refresh_token")
}

// clientRequests returns every request that authenticated the client.
func clientRequests(op *oidctest.Server) []*http.Request {
	var all []*http.Request
	for _, path := range []string{oidctest.PathToken, oidctest.PathIntrospect, oidctest.PathRevoke} {
		all = append(all, op.Requests(path)...)
	}
	return all
}

// assertionParts decodes a client assertion's header and claims.
func assertionParts(t *testing.T, raw string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("assertion has %d parts", len(parts))
	}
	for i, v := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(b, v) != nil {
			t.Fatalf("assertion part %d is not base64url JSON", i)
		}
	}
	return header, claims
}

func TestClientAuthEveryCall(t *testing.T) {
	for _, tc := range []struct {
		name       string
		methods    []string // accepted and listed by the provider
		configured string
		key        crypto.Signer
		alg        string
		want       string // the method every request must use
	}{
		{name: "basic from discovery", methods: []string{"client_secret_basic", "client_secret_post"}, want: authSecretBasic},
		{name: "post from discovery", methods: []string{"client_secret_post"}, want: authSecretPost},
		{name: "post configured", methods: []string{"client_secret_basic", "client_secret_post"}, configured: authSecretPost, want: authSecretPost},
		{name: "private_key_jwt RSA", methods: []string{"client_secret_basic", "private_key_jwt"}, key: rsaKey(t, 2048), alg: "RS256", want: authPrivateKeyJWT},
		{name: "private_key_jwt P-256", methods: []string{"private_key_jwt"}, configured: authPrivateKeyJWT, key: ecKey(t, elliptic.P256()), alg: "ES256", want: authPrivateKeyJWT},
		{name: "private_key_jwt P-384", methods: []string{"private_key_jwt"}, key: ecKey(t, elliptic.P384()), alg: "ES384", want: authPrivateKeyJWT},
		{name: "private_key_jwt Ed25519", methods: []string{"private_key_jwt"}, key: func() crypto.Signer { _, k, _ := ed25519.GenerateKey(rand.Reader); return k }(), alg: "EdDSA", want: authPrivateKeyJWT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pub crypto.PublicKey
			if tc.key != nil {
				pub = tc.key.Public()
			}
			op := clientAuthOP(t, pub, tc.methods...)
			p := clientAuthProvider(t, op, func(c *OIDCConfig) {
				c.ClientAuth = tc.configured
				if tc.key != nil {
					c.ClientSecret, c.ClientKey = "", tc.key
				}
			})
			if err := everyAuthenticatedCall(t, p, op); err != nil {
				t.Fatal(err)
			}
			reqs := clientRequests(op)
			if len(reqs) != 4 {
				t.Fatalf("%d authenticated requests, want 4 (exchange, refresh, introspection, revocation)", len(reqs))
			}
			jtis := map[string]bool{}
			for _, r := range reqs {
				_, _, basic := r.BasicAuth()
				f := r.PostForm
				switch tc.want {
				case authSecretBasic:
					if !basic || f.Has("client_secret") || f.Has("client_assertion") {
						t.Errorf("%s: not client_secret_basic alone: basic %v, form %v", r.URL.Path, basic, keys(f))
					}
				case authSecretPost:
					if basic || f.Get("client_secret") != oidctest.ClientSecret || f.Get("client_id") != oidctest.ClientID {
						t.Errorf("%s: not client_secret_post alone: basic %v, form %v", r.URL.Path, basic, keys(f))
					}
				case authPrivateKeyJWT:
					if basic || f.Has("client_secret") || f.Get("client_assertion_type") != assertionType {
						t.Fatalf("%s: not private_key_jwt alone: basic %v, form %v", r.URL.Path, basic, keys(f))
					}
					h, c := assertionParts(t, f.Get("client_assertion"))
					if h["typ"] != "client-authentication+jwt" || h["alg"] != tc.alg || h["kid"] == "" {
						t.Errorf("%s: header %v", r.URL.Path, h)
					}
					if c["aud"] != op.URL || c["iss"] != oidctest.ClientID || c["sub"] != oidctest.ClientID {
						t.Errorf("%s: claims %v (aud must be the issuer, a string)", r.URL.Path, c)
					}
					if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 60 {
						t.Errorf("%s: lifetime %v s, want 60", r.URL.Path, exp-iat)
					}
					jti, _ := c["jti"].(string)
					if len(jti) < 22 || jtis[jti] {
						t.Errorf("%s: jti %q short or reused", r.URL.Path, jti)
					}
					jtis[jti] = true
				}
			}
		})
	}
}

func keys(m map[string][]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// TestClientSecretFunc: the function's secret authenticates every call,
// fetched once per call; its failure fails the call cleanly, before any
// request, wrapping ErrUnavailable.
func TestClientSecretFunc(t *testing.T) {
	for _, method := range []string{authSecretBasic, authSecretPost} {
		t.Run(method, func(t *testing.T) {
			op := clientAuthOP(t, nil, method)
			var calls atomic.Int32
			p := clientAuthProvider(t, op, func(c *OIDCConfig) {
				c.ClientSecret = ""
				c.ClientSecretFunc = func(ctx context.Context) (string, error) { calls.Add(1); return oidctest.ClientSecret, nil }
			})
			if err := everyAuthenticatedCall(t, p, op); err != nil {
				t.Fatal(err)
			}
			if n := calls.Load(); n != 4 {
				t.Errorf("secret function called %d times, want 4", n)
			}
		})
	}
	for name, fn := range map[string]func(context.Context) (string, error){
		"error":        func(context.Context) (string, error) { return "", errors.New("signing failed") },
		"empty secret": func(context.Context) (string, error) { return "", nil },
	} {
		t.Run(name, func(t *testing.T) {
			op := clientAuthOP(t, nil)
			p := clientAuthProvider(t, op, func(c *OIDCConfig) { c.ClientSecret, c.ClientSecretFunc = "", fn })
			id, _, err := oidcLogin(t, p, op)
			if id != nil || !errors.Is(err, ErrUnavailable) {
				t.Fatalf("login: %v, %v; want an error wrapping ErrUnavailable", id, err)
			}
			s := &session.Session{Tokens: session.Tokens{RefreshToken: "rt"}}
			if _, err := p.Refresh(context.Background(), s); !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrDenied) {
				t.Errorf("refresh: %v; want unavailable, not denied", err)
			}
			if err := p.Revoke(context.Background(), "tok", ""); err == nil {
				t.Error("revoke succeeded")
			}
			if n := len(clientRequests(op)); n != 0 {
				t.Errorf("%d requests reached the provider", n)
			}
		})
	}
}

// TestClientAuthRefused: a provider that refuses the client's
// credentials fails the login with no identity, as a denial.
func TestClientAuthRefused(t *testing.T) {
	rsa1, rsa2 := rsaKey(t, 2048), rsaKey(t, 2048)
	for _, tc := range []struct {
		name  string
		op    func(t *testing.T) *oidctest.Server
		edit  func(c *OIDCConfig)
		setup func(p *Provider)
	}{
		{name: "wrong method (discovery says basic, server wants post)", op: func(t *testing.T) *oidctest.Server {
			op := clientAuthOP(t, nil, authSecretPost)
			op.Discovery = func(d map[string]any) { d["token_endpoint_auth_methods_supported"] = []string{authSecretBasic} }
			return op
		}},
		{name: "wrong secret", op: func(t *testing.T) *oidctest.Server { return clientAuthOP(t, nil, authSecretPost) },
			edit: func(c *OIDCConfig) { c.ClientSecret = "wrong" }},
		{name: "assertion with an unregistered key", op: func(t *testing.T) *oidctest.Server { return clientAuthOP(t, rsa1.Public(), authPrivateKeyJWT) },
			edit: func(c *OIDCConfig) { c.ClientSecret, c.ClientKey = "", rsa2 }},
		{name: "assertion with the wrong kid", op: func(t *testing.T) *oidctest.Server {
			return oidctest.New(t, oidctest.WithClientAuth(authPrivateKeyJWT), oidctest.WithClientKey("kid-1", rsa1.Public()))
		}, edit: func(c *OIDCConfig) { c.ClientSecret, c.ClientKey, c.ClientKeyID = "", rsa1, "kid-2" }},
		{name: "expired assertion", op: func(t *testing.T) *oidctest.Server { return clientAuthOP(t, rsa1.Public(), authPrivateKeyJWT) },
			edit:  func(c *OIDCConfig) { c.ClientSecret, c.ClientKey = "", rsa1 },
			setup: func(p *Provider) { p.now = func() time.Time { return time.Now().Add(-2 * time.Minute) } }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := tc.op(t)
			p := clientAuthProvider(t, op, tc.edit)
			if tc.setup != nil {
				tc.setup(p)
			}
			id, _, err := oidcLogin(t, p, op)
			var pe *Error
			if id != nil || !errors.Is(err, ErrDenied) || !errors.As(err, &pe) || pe.Code != "invalid_client" {
				t.Fatalf("login: %v, %v; want an invalid_client denial and no identity", id, err)
			}
		})
	}
}

// replayTransport sends the first client assertion it sees in place of
// every later one: a replay.
type replayTransport struct {
	next  http.RoundTripper
	first atomic.Value
}

func (rt *replayTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	form := r.PostForm
	if a := form.Get("client_assertion"); a != "" {
		if first, ok := rt.first.Load().(string); ok {
			form.Set("client_assertion", first)
		} else {
			rt.first.Store(a)
		}
		enc := form.Encode()
		r = r.Clone(r.Context())
		r.Body, r.ContentLength = readCloser(enc), int64(len(enc))
	}
	return rt.next.RoundTrip(r)
}

func TestClientAssertionReplayRefused(t *testing.T) {
	key := ecKey(t, elliptic.P256())
	op := clientAuthOP(t, key.Public(), authPrivateKeyJWT)
	client := op.Client()
	client.Transport = &replayTransport{next: client.Transport}
	p := clientAuthProvider(t, op, func(c *OIDCConfig) { c.ClientSecret, c.ClientKey, c.HTTPClient = "", key, client })
	if _, _, err := oidcLogin(t, p, op); err != nil {
		t.Fatalf("first login: %v", err)
	}
	id, _, err := oidcLogin(t, p, op)
	if id != nil || !errors.Is(err, ErrDenied) {
		t.Fatalf("login with a replayed assertion: %v, %v; want a denial", id, err)
	}
}

func TestClientAuthMethodChoice(t *testing.T) {
	signer, err := newAssertionSigner(ecKey(t, elliptic.P256()), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		configured string
		key        bool
		listed     []string
		want       string // "" = refused
	}{
		{listed: nil, want: authSecretBasic},
		{listed: []string{"client_secret_post", "client_secret_basic"}, want: authSecretBasic},
		{listed: []string{"client_secret_post"}, want: authSecretPost},
		{listed: []string{"private_key_jwt"}, want: ""},
		{listed: []string{"tls_client_auth"}, want: ""},
		{key: true, listed: []string{"client_secret_basic", "private_key_jwt"}, want: authPrivateKeyJWT},
		{key: true, listed: nil, want: authPrivateKeyJWT},
		{key: true, listed: []string{"client_secret_basic"}, want: ""},
		{configured: authSecretPost, listed: nil, want: authSecretPost},
		{configured: authSecretPost, listed: []string{"client_secret_basic"}, want: ""},
		{configured: authSecretBasic, listed: []string{"client_secret_basic", "client_secret_post"}, want: authSecretBasic},
	} {
		a := clientAuth{configured: tc.configured}
		if tc.key {
			a.signer = signer
		}
		got, err := a.method(tc.listed)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("configured %q, key %v, listed %v: %q, %v; want %q", tc.configured, tc.key, tc.listed, got, err, tc.want)
		}
	}
}

func TestClientAuthRefusesBadConfig(t *testing.T) {
	op := clientAuthOP(t, nil, authSecretBasic)
	key := ecKey(t, elliptic.P256())
	secretFunc := func(context.Context) (string, error) { return "s", nil }
	for name, tc := range map[string]struct {
		edit func(c *OIDCConfig)
		want string // in the error
	}{
		"unknown method":            {func(c *OIDCConfig) { c.ClientAuth = "client_secret_jwt" }, "is not supported"},
		"secret and secret func":    {func(c *OIDCConfig) { c.ClientSecretFunc = secretFunc }, "both ClientSecret and ClientSecretFunc"},
		"private_key_jwt, no key":   {func(c *OIDCConfig) { c.ClientSecret, c.ClientAuth = "", authPrivateKeyJWT }, "needs ClientKey"},
		"key with basic":            {func(c *OIDCConfig) { c.ClientSecret, c.ClientKey, c.ClientAuth = "", key, authSecretBasic }, "ClientKey is for private_key_jwt"},
		"key and secret":            {func(c *OIDCConfig) { c.ClientKey = key }, "are both set"},
		"key and secret func":       {func(c *OIDCConfig) { c.ClientSecret, c.ClientKey, c.ClientSecretFunc = "", key, secretFunc }, "are both set"},
		"key id without key":        {func(c *OIDCConfig) { c.ClientKeyID = "k" }, "ClientKeyID is set without ClientKey"},
		"small RSA key":             {func(c *OIDCConfig) { c.ClientSecret, c.ClientKey = "", rsaKey(t, 1024) }, "at least 2048"},
		"P-224 key":                 {func(c *OIDCConfig) { c.ClientSecret, c.ClientKey = "", ecKey(t, elliptic.P224()) }, "not on P-256"},
		"unsupported key type":      {func(c *OIDCConfig) { c.ClientSecret, c.ClientKey = "", opaqueSigner{} }, "unsupported key type"},
		"method the provider lacks": {func(c *OIDCConfig) { c.ClientAuth = authSecretPost }, "does not list"},
		"key the provider lacks":    {func(c *OIDCConfig) { c.ClientSecret, c.ClientKey = "", key }, "does not list"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := OIDCConfig{Name: "a", Issuer: op.URL, ClientID: oidctest.ClientID, ClientSecret: oidctest.ClientSecret, HTTPClient: op.Client()}
			tc.edit(&cfg)
			p, err := OIDC(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("OIDC: %v, %v; want an error with %q", p, err, tc.want)
			}
		})
	}
}

// opaqueSigner is a crypto.Signer with a public key of no known type.
type opaqueSigner struct{}

func (opaqueSigner) Public() crypto.PublicKey { return struct{}{} }
func (opaqueSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("no")
}

// TestAuthTransportOneRequest: the credentials of one token request go
// to that request only.
func TestAuthTransportOneRequest(t *testing.T) {
	var sent atomic.Int32
	tr := &authTransport{next: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent.Add(1)
		return &http.Response{StatusCode: 200, Body: readCloser(""), Request: r}, nil
	}), tokenURL: "https://op.example/token", creds: clientCredentials{method: authSecretPost, id: "app", secret: "s"}}
	post := func(u string) error {
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader("grant_type=refresh_token"))
		_, err := tr.RoundTrip(req)
		return err
	}
	if err := post("https://evil.example/token"); !errors.Is(err, errCredentialsMisused) {
		t.Errorf("request elsewhere: %v", err)
	}
	if err := post("https://op.example/token"); err != nil {
		t.Errorf("token request: %v", err)
	}
	if err := post("https://op.example/token"); !errors.Is(err, errCredentialsMisused) {
		t.Errorf("second token request: %v", err)
	}
	if n := sent.Load(); n != 1 {
		t.Errorf("%d requests sent, want 1", n)
	}
}

func readCloser(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
