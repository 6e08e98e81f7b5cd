package providers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/portcullis-go/portcullis/internal/oidctest"
	"golang.org/x/oauth2"
)

// Tests of VerifyAccessToken (RFC 9068) against the adversarial mock
// provider, one test per group of checks.

// testAPI is the resource server's audience in these tests.
const testAPI = "https://api.example"

// accessProvider returns provider "a" for a fresh mock provider that also
// publishes an ES256 key, on a fake clock.
func accessProvider(t *testing.T) (*Provider, *oidctest.Server, *fakeClock) {
	t.Helper()
	op := oidctest.New(t, oidctest.WithECKey())
	p, err := OIDC(context.Background(), OIDCConfig{
		Name:         "a",
		Issuer:       op.URL,
		ClientID:     oidctest.ClientID,
		ClientSecret: oidctest.ClientSecret,
		SigningAlgs:  []string{"RS256", "ES256"},
		HTTPClient:   op.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Now()}
	p.now = clock.now
	return p, op, clock
}

// accessClaims are the claims of a valid JWT access token issued at now.
// "jti" and "acr" hold a marker that no error may quote.
func accessClaims(op *oidctest.Server, now time.Time) oidctest.Claims {
	return oidctest.Claims{
		"iss":       op.URL,
		"sub":       oidctest.Subject,
		"aud":       testAPI,
		"client_id": oidctest.ClientID,
		"exp":       now.Add(5 * time.Minute).Unix(),
		"iat":       now.Unix(),
		"jti":       "jti-marker",
		"scope":     "api:read api:write",
		"auth_time": now.Add(-time.Minute).Unix(),
		"acr":       "acr-marker",
		"amr":       []string{"pwd", "otp"},
		"groups":    []string{"admins"},
	}
}

// atCase edits a valid at+jwt token (edit, then raw); want is "" for
// accepted, else a part of the error, which must wrap ErrInvalidToken.
type atCase struct {
	name  string
	edit  func(c oidctest.Claims, h *oidctest.Header, now time.Time)
	raw   func(op *oidctest.Server, signed string) string
	rules *AccessTokenRules
	want  string
}

func set(k string, v any) func(oidctest.Claims, *oidctest.Header, time.Time) {
	return func(c oidctest.Claims, _ *oidctest.Header, _ time.Time) { c[k] = v }
}

func del(keys ...string) func(oidctest.Claims, *oidctest.Header, time.Time) {
	return func(c oidctest.Claims, _ *oidctest.Header, _ time.Time) {
		for _, k := range keys {
			delete(c, k)
		}
	}
}

func at(k string, d time.Duration) func(oidctest.Claims, *oidctest.Header, time.Time) {
	return func(c oidctest.Claims, _ *oidctest.Header, now time.Time) { c[k] = now.Add(d).Unix() }
}

func typ(v string) func(oidctest.Claims, *oidctest.Header, time.Time) {
	return func(_ oidctest.Claims, h *oidctest.Header, _ time.Time) { h.Typ = v }
}

func header(h oidctest.Header) func(oidctest.Claims, *oidctest.Header, time.Time) {
	return func(_ oidctest.Claims, hp *oidctest.Header, _ time.Time) {
		if h.Typ == "" {
			h.Typ = "at+jwt"
		}
		*hp = h
	}
}

// both applies edits in order.
func both(edits ...func(oidctest.Claims, *oidctest.Header, time.Time)) func(oidctest.Claims, *oidctest.Header, time.Time) {
	return func(c oidctest.Claims, h *oidctest.Header, now time.Time) {
		for _, e := range edits {
			e(c, h, now)
		}
	}
}

// runAccessCases runs cases against one provider.
func runAccessCases(t *testing.T, cases []atCase) {
	t.Helper()
	p, op, clock := accessProvider(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := clock.now()
			c, h := accessClaims(op, now), oidctest.Header{Typ: "at+jwt"}
			if tc.edit != nil {
				tc.edit(c, &h, now)
			}
			raw := op.Sign(c, h)
			if tc.raw != nil {
				raw = tc.raw(op, raw)
			}
			rules := AccessTokenRules{Audience: testAPI}
			if tc.rules != nil {
				rules = *tc.rules
			}
			tok, err := p.VerifyAccessToken(context.Background(), raw, rules)
			checkAccessResult(t, raw, tok, err, tc.want)
		})
	}
}

// checkAccessResult checks an outcome against want ("" for accepted).
func checkAccessResult(t *testing.T, raw string, tok *AccessToken, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		if tok.Subject != oidctest.Subject {
			t.Errorf("Subject %q", tok.Subject)
		}
		return
	}
	if err == nil {
		t.Fatalf("accepted, want an error with %q", want)
	}
	if !errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrUnavailable) {
		t.Errorf("error %v does not wrap ErrInvalidToken (only)", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want one with %q", err, want)
	}
	noTokenData(t, err, raw)
}

// noTokenData fails if err quotes a part of raw or a marker claim.
func noTokenData(t *testing.T, err error, raw string) {
	t.Helper()
	msg := err.Error()
	if strings.Contains(msg, "marker") || strings.Contains(msg, "evil") {
		t.Errorf("error %q quotes a claim", msg)
	}
	for part := range strings.SplitSeq(raw, ".") {
		if len(part) >= 8 && strings.Contains(msg, part) {
			t.Errorf("error %q quotes the token", msg)
		}
	}
}

func TestAccessTokenValid(t *testing.T) {
	p, op, clock := accessProvider(t)
	now := clock.now()
	tok, err := p.VerifyAccessToken(context.Background(), op.Sign(accessClaims(op, now), oidctest.Header{Typ: "at+jwt"}), AccessTokenRules{Audience: testAPI})
	if err != nil {
		t.Fatal(err)
	}
	want := AccessToken{
		Subject: oidctest.Subject, ClientID: oidctest.ClientID,
		Scopes: []string{"api:read", "api:write"}, Audience: []string{testAPI},
		Expiry: time.Unix(now.Add(5*time.Minute).Unix(), 0), IssuedAt: time.Unix(now.Unix(), 0),
		AuthTime: time.Unix(now.Add(-time.Minute).Unix(), 0), ACR: "acr-marker", AMR: []string{"pwd", "otp"},
	}
	if tok.Subject != want.Subject || tok.ClientID != want.ClientID || !slices.Equal(tok.Scopes, want.Scopes) ||
		!slices.Equal(tok.Audience, want.Audience) || !tok.Expiry.Equal(want.Expiry) || !tok.IssuedAt.Equal(want.IssuedAt) ||
		!tok.AuthTime.Equal(want.AuthTime) || tok.ACR != want.ACR || !slices.Equal(tok.AMR, want.AMR) {
		t.Errorf("token %+v, want %+v", tok, want)
	}
	var extra struct {
		Groups []string `json:"groups"`
	}
	if err := tok.Claims(&extra); err != nil || !slices.Equal(extra.Groups, []string{"admins"}) {
		t.Errorf("Claims: %v, %v", extra, err)
	}
	if !slices.Equal(tok.Groups, []string{"admins"}) {
		t.Errorf("Groups %v, want the groups claim", tok.Groups)
	}
	// With a GroupsClaim path, Groups come from there (Keycloak's shape).
	p.groupsClaim = []string{"realm_access", "roles"}
	c := accessClaims(op, now)
	c["realm_access"] = map[string]any{"roles": []string{"dash-admin"}}
	if tok, err := p.VerifyAccessToken(context.Background(), op.Sign(c, oidctest.Header{Typ: "at+jwt"}), AccessTokenRules{Audience: testAPI}); err != nil || !slices.Equal(tok.Groups, []string{"dash-admin"}) {
		t.Errorf("Groups at realm_access.roles: %v, %v", tok, err)
	}
	p.groupsClaim = nil

	runAccessCases(t, []atCase{
		{"typ at+jwt", nil, nil, nil, ""},
		{"typ application/at+jwt", typ("application/at+jwt"), nil, nil, ""},
		{"typ AT+JWT", typ("AT+JWT"), nil, nil, ""},
		{"typ JWT with client_id", typ("JWT"), nil, nil, ""},
		{"typ application/jwt with client_id", typ("application/jwt"), nil, nil, ""},
		{"typ absent with client_id", header(oidctest.Header{Extra: map[string]any{"typ": nil}}), nil, nil, ""},
		{"at+jwt without client_id", del("client_id"), nil, nil, ""},
		{"ES256", header(oidctest.Header{Sign: oidctest.SignES256}), nil, nil, ""},
		{"aud array", set("aud", []string{"other", testAPI}), nil, nil, ""},
		{"scope as an array", set("scope", []string{"a", "b"}), nil, nil, ""},
		{"scope of the wrong type is no scope", set("scope", 7), nil, nil, ""},
		{"acr, amr, auth_time of the wrong type are absent", both(set("acr", 1), set("amr", map[string]any{}), set("auth_time", "x")), nil, nil, ""},
		{"no kid, one RSA key", header(oidctest.Header{Extra: map[string]any{"kid": nil}}), nil, nil, ""},
	})
}

func TestAccessTokenLifetime(t *testing.T) {
	runAccessCases(t, []atCase{
		{"expired", at("exp", -time.Second), nil, nil, "expired"},
		{"exp missing", del("exp"), nil, nil, "exp missing"},
		{"exp null", set("exp", nil), nil, nil, "exp missing"},
		{"exp a word", set("exp", "soon"), nil, nil, "malformed claims"},
		{"nbf in the future", at("nbf", 2*time.Minute), nil, nil, "not yet valid"},
		{"nbf within the skew", at("nbf", 30*time.Second), nil, nil, ""},
		{"iat in the future", at("iat", 2*time.Minute), nil, nil, "iat in the future"},
		{"iat within the skew", at("iat", 30*time.Second), nil, nil, ""},
		{"iat missing", del("iat"), nil, nil, "iat missing"},
		{"iat long ago", at("iat", -24*time.Hour), nil, nil, ""},
	})
}

func TestAccessTokenIssuerAudience(t *testing.T) {
	runAccessCases(t, []atCase{
		{"wrong issuer", set("iss", "https://evil.example"), nil, nil, "wrong issuer"},
		{"issuer with a trailing slash", func(c oidctest.Claims, _ *oidctest.Header, _ time.Time) { c["iss"] = c["iss"].(string) + "/" }, nil, nil, "wrong issuer"},
		{"issuer missing", del("iss"), nil, nil, "wrong issuer"},
		{"wrong audience", set("aud", "https://evil.example"), nil, nil, "wrong audience"},
		{"no audience", del("aud"), nil, nil, "wrong audience"},
		{"aud array without the API", set("aud", []string{oidctest.ClientID, "evil"}), nil, nil, "wrong audience"},
		{"aud a number", set("aud", 1), nil, nil, "malformed claims"},
		{"the client's audience is not the API's", set("aud", oidctest.ClientID), nil, nil, "wrong audience"},
	})
	p, op, clock := accessProvider(t)
	raw := op.Sign(accessClaims(op, clock.now()), oidctest.Header{Typ: "at+jwt"})
	if _, err := p.VerifyAccessToken(context.Background(), raw, AccessTokenRules{}); err == nil || errors.Is(err, ErrInvalidToken) {
		t.Errorf("empty Audience: %v, want a configuration error", err)
	}
}

func TestAccessTokenSignature(t *testing.T) {
	runAccessCases(t, []atCase{
		{"alg none", header(oidctest.Header{Sign: oidctest.SignNone}), nil, nil, "signing algorithm not allowed"},
		{"alg None", header(oidctest.Header{Sign: oidctest.SignNone, Alg: "None"}), nil, nil, "signing algorithm not allowed"},
		{"HS256 keyed with the public key's PEM", header(oidctest.Header{Sign: oidctest.SignHS256Confusion}), nil, nil, "signing algorithm not allowed"},
		{"HS256 keyed with the public key's DER", nil, hs256WithDER, nil, "signing algorithm not allowed"},
		{"RS512 not pinned", header(oidctest.Header{Alg: "RS512"}), nil, nil, "signing algorithm not allowed"},
		{"unknown kid", header(oidctest.Header{Kid: "nope"}), nil, nil, "unknown key"},
		{"unpublished key under a known kid", header(oidctest.Header{Sign: oidctest.SignRS256Unpublished}), nil, nil, "signature invalid"},
		{"corrupted signature", header(oidctest.Header{Sign: oidctest.SignCorrupted}), nil, nil, "signature invalid"},
		{"embedded jwk", header(oidctest.Header{Sign: oidctest.SignEmbeddedJWK}), nil, nil, "unknown key"},
		{"jku", header(oidctest.Header{Sign: oidctest.SignJKU}), nil, nil, "unknown key"},
		{"signature stripped", nil, func(_ *oidctest.Server, s string) string { return s[:strings.LastIndex(s, ".")+1] }, nil, "signature invalid"},
	})
}

// hs256WithDER re-signs a token's header and payload as HS256, keyed with
// the DER (PKIX) bytes of the provider's published RSA key.
func hs256WithDER(op *oidctest.Server, signed string) string {
	resp, err := op.Client().Get(op.URL + oidctest.PathJWKS)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		panic(err)
	}
	der, err := x509.MarshalPKIXPublicKey(set.Key("k1")[0].Key)
	if err != nil {
		panic(err)
	}
	parts := strings.Split(signed, ".")
	hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","kid":"k1","typ":"at+jwt"}`))
	m := hmac.New(sha256.New, der)
	m.Write([]byte(hdr + "." + parts[1]))
	return hdr + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func TestAccessTokenIDTokens(t *testing.T) {
	allow := &AccessTokenRules{Audience: testAPI, InsecureAllowIDTokens: true}
	jwt := typ("JWT")
	runAccessCases(t, []atCase{
		{"typ JWT with nonce", both(jwt, set("nonce", "n")), nil, nil, "an ID token (nonce)"},
		{"typ JWT with nonce null", both(jwt, set("nonce", nil)), nil, nil, "an ID token (nonce)"},
		{"typ JWT with at_hash", both(jwt, set("at_hash", "x")), nil, nil, "an ID token (at_hash)"},
		{"typ JWT without client_id", both(jwt, del("client_id")), nil, nil, "an ID token (no client_id)"},
		{"typ absent with nonce", both(header(oidctest.Header{Extra: map[string]any{"typ": nil}}), set("nonce", "n")), nil, nil, "an ID token (nonce)"},
		{"typ id_token+jwt", typ("id_token+jwt"), nil, nil, "typ is not at+jwt or JWT"},
		{"allowed: nonce", both(jwt, set("nonce", "n")), nil, allow, ""},
		{"allowed: at_hash", both(jwt, set("at_hash", "x")), nil, allow, ""},
		{"allowed: no client_id", both(jwt, del("client_id")), nil, allow, ""},
		{"at+jwt with nonce is typed", set("nonce", "n"), nil, nil, ""},
	})

	// The ID token of a real login, presented with the client as the
	// audience.
	p, op, _ := accessProvider(t)
	id, _, err := oidcLogin(t, p, op)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.VerifyAccessToken(context.Background(), id.Tokens.IDToken, AccessTokenRules{Audience: oidctest.ClientID})
	checkAccessResult(t, id.Tokens.IDToken, nil, err, "an ID token (nonce)")
}

func TestAccessTokenMalformed(t *testing.T) {
	replace := func(raw string) func(*oidctest.Server, string) string {
		return func(*oidctest.Server, string) string { return raw }
	}
	part := func(i int, v string) func(*oidctest.Server, string) string {
		return func(_ *oidctest.Server, s string) string {
			parts := strings.Split(s, ".")
			parts[i] = v
			return strings.Join(parts, ".")
		}
	}
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	signRaw := func(payload string) func(*oidctest.Server, string) string {
		return func(op *oidctest.Server, _ string) string {
			return op.SignRaw(oidctest.Header{Typ: "at+jwt"}, []byte(payload))
		}
	}
	runAccessCases(t, []atCase{
		{"empty", nil, replace(""), nil, "malformed"},
		{"2 parts", nil, func(_ *oidctest.Server, s string) string { return s[:strings.LastIndex(s, ".")] }, nil, "malformed"},
		{"4 parts", nil, func(_ *oidctest.Server, s string) string { return s + ".x" }, nil, "malformed"},
		{"bad base64 header", nil, part(0, "e30*"), nil, "malformed"},
		{"bad base64 payload", nil, part(1, "!!!!"), nil, "malformed"},
		{"padded header", nil, func(_ *oidctest.Server, s string) string { return "e30=" + s[strings.Index(s, "."):] }, nil, "malformed"},
		{"header not JSON", nil, part(0, b64("not json")), nil, "malformed header"},
		{"header a JSON array", nil, part(0, b64(`["typ"]`)), nil, "malformed header"},
		{"typ a number", nil, part(0, b64(`{"alg":"RS256","typ":1}`)), nil, "malformed header"},
		{"JSON serialization", nil, replace(`{"payload":"e30","signatures":[]}`), nil, "malformed"},
		{"whitespace inside", nil, func(_ *oidctest.Server, s string) string { return s[:10] + " " + s[10:] }, nil, "malformed"},
		{"payload not JSON", nil, signRaw("not json"), nil, "malformed claims"},
		{"payload a JSON array", nil, signRaw(`["sub"]`), nil, "malformed claims"},
		{"sub a number", set("sub", 1), nil, nil, "malformed claims"},
		{"client_id a number", set("client_id", 1), nil, nil, "malformed claims"},
		{"sub missing", del("sub"), nil, nil, "sub missing"},
		{"sub empty", set("sub", ""), nil, nil, "sub missing"},
		{"sub of 256 bytes", set("sub", strings.Repeat("s", 256)), nil, nil, "longer than 255"},
	})
	// The longest sub accepted (checkAccessResult wants Subject to be
	// oidctest.Subject, so it is checked here).
	p, op, clock := accessProvider(t)
	c := accessClaims(op, clock.now())
	c["sub"] = strings.Repeat("s", 255)
	if tok, err := p.VerifyAccessToken(context.Background(), op.Sign(c, oidctest.Header{Typ: "at+jwt"}), AccessTokenRules{Audience: testAPI}); err != nil || len(tok.Subject) != 255 {
		t.Errorf("sub of 255 bytes: %v", err)
	}
}

func TestAccessTokenSize(t *testing.T) {
	p, op, clock := accessProvider(t)
	pad := strings.Repeat("p", 4<<10)
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{"token over 16 KiB", op.Sign(oidctest.Claims{"pad": strings.Repeat(pad, 4)}, oidctest.Header{Typ: "at+jwt"}), "too large"},
		{"header over 4 KiB", op.Sign(accessClaims(op, clock.now()), oidctest.Header{Typ: "at+jwt", Extra: map[string]any{"pad": pad}}), "header too large"},
		{"16 KiB of dots", strings.Repeat(".", 16<<10+1), "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.VerifyAccessToken(context.Background(), tt.raw, AccessTokenRules{Audience: testAPI})
			checkAccessResult(t, tt.raw, nil, err, tt.want)
		})
	}
	if n := len(op.Requests(oidctest.PathJWKS)); n != 0 {
		t.Errorf("%d JWKS fetches for oversized tokens, want 0", n)
	}
	// Just under the limits is parsed (and verifies).
	c := accessClaims(op, clock.now())
	c["pad"] = strings.Repeat("p", 8<<10)
	raw := op.Sign(c, oidctest.Header{Typ: "at+jwt", Extra: map[string]any{"pad": strings.Repeat("p", 2900)}})
	if enc, _, _ := strings.Cut(raw, "."); len(raw) > maxAccessTokenSize || len(enc) > maxAccessTokenHeader || len(enc) < 3<<10 {
		t.Fatalf("test token of %d bytes", len(raw))
	}
	if _, err := p.VerifyAccessToken(context.Background(), raw, AccessTokenRules{Audience: testAPI}); err != nil {
		t.Errorf("token of %d bytes: %v", len(raw), err)
	}
}

func TestAccessTokenTyp(t *testing.T) {
	runAccessCases(t, []atCase{
		{"logout+jwt", typ("logout+jwt"), nil, nil, "typ is not at+jwt or JWT"},
		{"application/logout+jwt", typ("application/logout+jwt"), nil, nil, "typ is not at+jwt or JWT"},
		{"id_token+jwt", typ("id_token+jwt"), nil, nil, "typ is not at+jwt or JWT"},
		{"at+jwt+x", typ("at+jwt+x"), nil, nil, "typ is not at+jwt or JWT"},
		{"secevent+jwt", typ("secevent+jwt"), nil, nil, "typ is not at+jwt or JWT"},
		{"typ empty", header(oidctest.Header{Extra: map[string]any{"typ": ""}}), nil, nil, "typ is not at+jwt or JWT"},
	})
}

func TestAccessTokenKeysUnavailable(t *testing.T) {
	p, op, clock := accessProvider(t)
	raw := op.Sign(accessClaims(op, clock.now()), oidctest.Header{Typ: "at+jwt"})
	op.Close()
	_, err := p.VerifyAccessToken(context.Background(), raw, AccessTokenRules{Audience: testAPI})
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInvalidToken) {
		t.Errorf("keys unreachable: %v, want ErrUnavailable only", err)
	}

	plain, err := OAuth2(OAuth2Config{
		Name: "plain", ClientID: "id",
		Endpoint: oauth2.Endpoint{AuthURL: "https://lab.example/oauth/authorize", TokenURL: "https://lab.example/oauth/token"},
		Identify: identifyMe("https://lab.example"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.VerifyAccessToken(context.Background(), raw, AccessTokenRules{Audience: testAPI}); err == nil || errors.Is(err, ErrInvalidToken) {
		t.Errorf("plain OAuth 2.0 provider: %v, want a configuration error", err)
	}
}

// TestAccessTokenJWKSRateLimit: forged tokens with fresh kids, which
// anyone can send, cause at most one JWKS fetch per 30 s (SECURITY.md
// NET-05), unlike ID tokens' unknown kids (IDT-08).
func TestAccessTokenJWKSRateLimit(t *testing.T) {
	p, op, clock := accessProvider(t)
	for i := range 200 {
		raw := op.Sign(accessClaims(op, clock.now()), oidctest.Header{Typ: "at+jwt", Kid: fmt.Sprintf("forged-%d", i)})
		if _, err := p.VerifyAccessToken(context.Background(), raw, AccessTokenRules{Audience: testAPI}); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("forged kid %d: %v", i, err)
		}
	}
	if n := len(op.Requests(oidctest.PathJWKS)); n > 2 {
		t.Errorf("%d JWKS fetches for 200 unknown kids, want at most 2", n)
	}
	// A key rotated in is picked up once the 30 s have passed.
	op.Rotate(true)
	clock.advance(jwksMinRefresh)
	raw := op.Sign(accessClaims(op, clock.now()), oidctest.Header{Typ: "at+jwt"})
	if _, err := p.VerifyAccessToken(context.Background(), raw, AccessTokenRules{Audience: testAPI}); err != nil {
		t.Errorf("token signed with the rotated key: %v", err)
	}
}
