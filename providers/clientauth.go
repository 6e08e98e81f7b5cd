package providers

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

// Client authentication: how the application proves it is the client in
// each call to the provider that needs it — the code exchange and the
// refresh at the token endpoint, revocation (RFC 7009 §2.1) and
// introspection (RFC 7662 §2.1). This file is the one place that adds
// credentials to a request.
//
// The methods are those of OpenID Connect Core 1.0 §9
// (https://openid.net/specs/openid-connect-core-1_0.html#ClientAuthentication):
//
//   - client_secret_basic: HTTP Basic with the client id and secret, each
//     form-urlencoded first (RFC 6749 §2.3.1);
//   - client_secret_post: client_id and client_secret in the form body;
//   - private_key_jwt: a JWT signed with the client's private key in
//     client_assertion (RFC 7523 §2.2), with the rules of
//     draft-ietf-oauth-rfc7523bis-11 §4
//     (https://datatracker.ietf.org/doc/html/draft-ietf-oauth-rfc7523bis-11,
//     the RFC 7523 update): "aud" is the provider's issuer identifier, a
//     single string and the only audience, and the header's "typ" is
//     "client-authentication+jwt" (the media type IANA registered,
//     https://www.iana.org/assignments/media-types/application/client-authentication+jwt).
//     Each assertion is used once: a fresh "jti", and "exp" a minute after
//     "iat".
//
// Credentials are made per call: a client secret function (Apple's ES256
// client secret) is called, and an assertion signed, for each request;
// neither is logged or kept.
const (
	authSecretBasic   = "client_secret_basic"
	authSecretPost    = "client_secret_post"
	authPrivateKeyJWT = "private_key_jwt"

	// assertionType is client_assertion_type (RFC 7523 §2.2).
	assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// assertionTyp is the explicit JOSE "typ" of a client authentication
	// JWT (draft-ietf-oauth-rfc7523bis-11 §4).
	assertionTyp = "client-authentication+jwt"
	// assertionLifetime is how long an assertion is valid: long enough
	// for one request, short enough that a captured one is soon useless.
	assertionLifetime = time.Minute
	// maxTokenRequest bounds the form body x/oauth2 builds, which
	// authTransport reads to add the credentials.
	maxTokenRequest = 64 << 10
)

// clientAuth is the configured client authentication of an OpenID Connect
// provider; the method is settled with the discovery document (method).
type clientAuth struct {
	// configured is OIDCConfig.ClientAuth; "" means chosen from the
	// discovery document.
	configured string
	// signer signs private_key_jwt assertions; nil without ClientKey.
	signer *assertionSigner
}

// newClientAuth checks the client authentication of an OIDCConfig.
func newClientAuth(cfg *OIDCConfig) (clientAuth, error) {
	a := clientAuth{configured: cfg.ClientAuth}
	switch cfg.ClientAuth {
	case "", authSecretBasic, authSecretPost, authPrivateKeyJWT:
	default:
		return a, fmt.Errorf("ClientAuth %q is not supported: use %s, %s or %s, or leave it empty to choose from the discovery document",
			cfg.ClientAuth, authSecretBasic, authSecretPost, authPrivateKeyJWT)
	}
	hasSecret := cfg.ClientSecret != "" || cfg.ClientSecretFunc != nil
	switch {
	case cfg.ClientSecret != "" && cfg.ClientSecretFunc != nil:
		return a, errors.New("both ClientSecret and ClientSecretFunc are set: set one")
	case cfg.ClientKey == nil && cfg.ClientKeyID != "":
		return a, errors.New("ClientKeyID is set without ClientKey")
	case cfg.ClientKey == nil && cfg.ClientAuth == authPrivateKeyJWT:
		return a, errors.New("ClientAuth private_key_jwt needs ClientKey, the private key whose public key is registered at the provider")
	case cfg.ClientKey != nil && cfg.ClientAuth != "" && cfg.ClientAuth != authPrivateKeyJWT:
		return a, fmt.Errorf("ClientKey is for private_key_jwt, and ClientAuth is %s: remove ClientKey or set ClientAuth to private_key_jwt", cfg.ClientAuth)
	case cfg.ClientKey != nil && hasSecret:
		return a, errors.New("ClientKey (private_key_jwt) and a client secret are both set: set only the credentials of the method the client is registered with")
	}
	if cfg.ClientKey != nil {
		s, err := newAssertionSigner(cfg.ClientKey, cfg.ClientKeyID)
		if err != nil {
			return a, err
		}
		a.signer = s
	}
	return a, nil
}

// method settles the method from the provider's
// token_endpoint_auth_methods_supported: the configured one, which the
// list must name when the document has one; else private_key_jwt when a
// key is configured; else client_secret_basic when the list names it or
// is absent (its default, OpenID Connect Discovery 1.0 §3), then
// client_secret_post. A configured method is not checked against an
// absent list: a provider that lists nothing has said nothing.
func (a clientAuth) method(supported []string) (string, error) {
	listed := func(m string) bool { return len(supported) == 0 || slices.Contains(supported, m) }
	list := strings.Join(supported, ", ")
	switch {
	case a.configured != "" && !listed(a.configured):
		return "", fmt.Errorf("ClientAuth is %s, which the provider's token_endpoint_auth_methods_supported (%.256s) does not list: use one it lists", a.configured, list)
	case a.configured != "":
		return a.configured, nil
	case a.signer != nil && !listed(authPrivateKeyJWT):
		return "", fmt.Errorf("ClientKey is set for private_key_jwt, which the provider's token_endpoint_auth_methods_supported (%.256s) does not list", list)
	case a.signer != nil:
		return authPrivateKeyJWT, nil
	case listed(authSecretBasic):
		return authSecretBasic, nil
	case listed(authSecretPost):
		return authSecretPost, nil
	case listed(authPrivateKeyJWT):
		return "", fmt.Errorf("the provider's token_endpoint_auth_methods_supported lists %.256s: set ClientKey for private_key_jwt", list)
	}
	return "", fmt.Errorf("the provider's token_endpoint_auth_methods_supported (%.256s) names none of %s, %s, %s",
		list, authSecretBasic, authSecretPost, authPrivateKeyJWT)
}

// clientSecretOf returns the client secret of one authenticated call to
// the provider (token, refresh, revocation, introspection): the configured
// one, or, when p.clientSecret is set, what it produces for this call. A
// failure of p.clientSecret wraps ErrUnavailable (a refresh it stops must
// not end the session: the refresh token is not at fault); the secret
// itself never appears in an error.
func (p *Provider) clientSecretOf(ctx context.Context) (string, error) {
	if p.clientSecret == nil {
		return p.oauth.ClientSecret, nil
	}
	s, err := p.clientSecret(ctx)
	switch {
	case errors.Is(err, ErrUnavailable):
		return "", fmt.Errorf("providers: %s: client secret: %w", p.name, err)
	case err != nil:
		return "", fmt.Errorf("providers: %s: client secret: %w: %w", p.name, ErrUnavailable, err)
	case s == "":
		return "", fmt.Errorf("providers: %s: client secret: %w: the client secret function returned an empty secret", p.name, ErrUnavailable)
	}
	return s, nil
}

// clientCredentials are the credentials of one request.
type clientCredentials struct {
	method, id, secret, assertion string
}

// credentials returns the credentials of one request to an endpoint of
// m: a secret from clientSecretOf, or a fresh assertion.
func (p *Provider) credentials(ctx context.Context, m *metadata) (clientCredentials, error) {
	c := clientCredentials{method: m.clientAuth, id: p.oauth.ClientID}
	var err error
	if c.method == authPrivateKeyJWT {
		c.assertion, err = p.auth.signer.sign(c.id, p.issuer, p.now())
		if err != nil {
			return c, fmt.Errorf("providers: %s: client assertion: %w: %w", p.name, ErrUnavailable, err)
		}
		return c, nil
	}
	c.secret, err = p.clientSecretOf(ctx)
	return c, err
}

// apply adds c to a request's form body and header; it removes any
// credentials form already holds, so that a request uses one method only
// (RFC 6749 §2.3).
func (c clientCredentials) apply(form url.Values, h http.Header) {
	for _, k := range []string{"client_id", "client_secret", "client_assertion", "client_assertion_type"} {
		form.Del(k)
	}
	h.Del("Authorization")
	switch c.method {
	case authSecretPost:
		form.Set("client_id", c.id)
		form.Set("client_secret", c.secret)
	case authPrivateKeyJWT:
		form.Set("client_id", c.id)
		form.Set("client_assertion_type", assertionType)
		form.Set("client_assertion", c.assertion)
	default:
		// RFC 6749 §2.3.1: id and secret are form-urlencoded first.
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(c.id)+":"+url.QueryEscape(c.secret))))
	}
}

// authenticatedPost returns a POST of form to endpoint, an endpoint of m,
// with the client's credentials.
func (p *Provider) authenticatedPost(ctx context.Context, m *metadata, endpoint string, form url.Values) (*http.Request, error) {
	c, err := p.credentials(ctx, m)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	c.apply(form, h)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header = h
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}

// tokenRequest returns what a request to m's token endpoint through
// x/oauth2 needs: the oauth2.Config with redirectURL, and a context whose
// HTTP client adds the client's credentials to that one request
// (authTransport). x/oauth2 itself sends only client_id.
func (p *Provider) tokenRequest(ctx context.Context, m *metadata, redirectURL string) (oauth2.Config, context.Context, error) {
	c := p.config(m, redirectURL)
	c.ClientSecret = ""
	c.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	creds, err := p.credentials(ctx, m)
	if err != nil {
		return c, nil, err
	}
	u, err := url.Parse(m.endpoint.TokenURL)
	if err != nil {
		return c, nil, fmt.Errorf("providers: %s: token endpoint: %w", p.name, err)
	}
	hc := *p.client
	hc.Transport = &authTransport{next: p.client.Transport, tokenURL: u.String(), creds: creds}
	return c, context.WithValue(ctx, oauth2.HTTPClient, &hc), nil
}

// authTransport adds one request's credentials to the one request
// x/oauth2 makes to the token endpoint. It refuses any other request, and
// a second one: the credentials (an assertion's jti) are for one use.
type authTransport struct {
	next     http.RoundTripper
	tokenURL string
	creds    clientCredentials
	used     atomic.Bool
}

var errCredentialsMisused = errors.New("providers: client credentials are for one request to the token endpoint")

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close()
	}
	if req.Method != http.MethodPost || req.URL.String() != t.tokenURL || req.Body == nil || !t.used.CompareAndSwap(false, true) {
		return nil, errCredentialsMisused
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxTokenRequest+1))
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || len(body) > maxTokenRequest {
		return nil, errors.New("providers: token request body is not a form of at most 64 KiB")
	}
	r := req.Clone(req.Context())
	t.creds.apply(form, r.Header)
	enc := form.Encode()
	r.Body = io.NopCloser(strings.NewReader(enc))
	r.ContentLength = int64(len(enc))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(enc)), nil }
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(r)
}

// assertionSigner signs client authentication JWTs with a private key.
type assertionSigner struct {
	key  crypto.Signer
	kid  string
	alg  string      // RS256, ES256, ES384, ES512 or EdDSA
	hash crypto.Hash // 0 for EdDSA
	size int         // ECDSA: bytes of R and of S
}

// newAssertionSigner returns the signer of key: RSA of at least 2048 bits
// (RS256), ECDSA on P-256, P-384 or P-521 (ES256, ES384, ES512), or
// Ed25519 (EdDSA), by key.Public(), so that a key held in a KMS or an
// HSM works too. An empty kid means the key's RFC 7638 thumbprint.
func newAssertionSigner(key crypto.Signer, kid string) (*assertionSigner, error) {
	s := &assertionSigner{key: key, kid: kid}
	switch pub := key.Public().(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < 2048 {
			return nil, fmt.Errorf("ClientKey: the RSA key has %d bits: use at least 2048", pub.N.BitLen())
		}
		s.alg, s.hash = "RS256", crypto.SHA256
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			s.alg, s.hash, s.size = "ES256", crypto.SHA256, 32
		case elliptic.P384():
			s.alg, s.hash, s.size = "ES384", crypto.SHA384, 48
		case elliptic.P521():
			s.alg, s.hash, s.size = "ES512", crypto.SHA512, 66
		default:
			return nil, errors.New("ClientKey: the ECDSA key is not on P-256, P-384 or P-521")
		}
	case ed25519.PublicKey:
		s.alg = "EdDSA"
	default:
		return nil, fmt.Errorf("ClientKey: unsupported key type %T: use an RSA (2048 bits or more), ECDSA (P-256, P-384, P-521) or Ed25519 key", pub)
	}
	if s.kid == "" {
		tp, err := (&jose.JSONWebKey{Key: key.Public()}).Thumbprint(crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("ClientKey: thumbprint: %w", err)
		}
		s.kid = base64.RawURLEncoding.EncodeToString(tp)
	}
	return s, nil
}

// sign returns a fresh client assertion of clientID for the provider
// whose issuer identifier is issuer.
func (s *assertionSigner) sign(clientID, issuer string, now time.Time) (string, error) {
	jti := make([]byte, 32)
	rand.Read(jti)
	return s.jwt(assertionTyp, map[string]any{
		"iss": clientID,
		"sub": clientID,
		"aud": issuer, // a string: the one audience
		"jti": base64.RawURLEncoding.EncodeToString(jti),
		"iat": now.Unix(),
		"exp": now.Add(assertionLifetime).Unix(),
	})
}

// jwt returns the compact JWS of claims signed with s's key, its header
// "alg", "kid" and, unless typ is empty, "typ" (RFC 7515 §7.1). It signs
// the private_key_jwt assertions (sign) and Apple's client secret
// (applesecret.go).
func (s *assertionSigner) jwt(typ string, claims any) (string, error) {
	h := map[string]string{"alg": s.alg, "kid": s.kid}
	if typ != "" {
		h["typ"] = typ
	}
	header, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	sig, err := s.signature([]byte(input))
	if err != nil {
		return "", err
	}
	return input + "." + enc.EncodeToString(sig), nil
}

// signature returns the JWS signature of input (RFC 7518 §3.3, §3.4;
// RFC 8037 §3.1).
func (s *assertionSigner) signature(input []byte) ([]byte, error) {
	if s.hash == 0 {
		return s.key.Sign(rand.Reader, input, crypto.Hash(0))
	}
	h := s.hash.New()
	h.Write(input)
	sig, err := s.key.Sign(rand.Reader, h.Sum(nil), s.hash)
	if err != nil || s.size == 0 {
		return sig, err
	}
	// ECDSA signers answer in ASN.1; JWS wants R || S, each of the
	// curve's size.
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(sig, &rs); err != nil || len(rest) > 0 || rs.R == nil || rs.S == nil {
		return nil, errors.New("the ECDSA signer's signature is not ASN.1")
	}
	out := make([]byte, 2*s.size)
	if len(rs.R.Bytes()) > s.size || len(rs.S.Bytes()) > s.size {
		return nil, errors.New("the ECDSA signer's signature does not fit the curve")
	}
	rs.R.FillBytes(out[:s.size])
	rs.S.FillBytes(out[s.size:])
	return out, nil
}
