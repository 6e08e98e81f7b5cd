package providers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/oidctest"
)

// Tests of VerifyLogoutToken against the adversarial mock provider
// (SECURITY.md BCL-02..BCL-07 and NET-05; the HTTP endpoint's tests are
// in middleware/backchannel_test.go).

// fakeClock is a settable clock for Provider.now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// logoutProvider returns provider "a" for a fresh mock provider that also
// publishes an ES256 key, with "api" as a trusted extra audience, and
// the fake clock it runs on.
func logoutProvider(t *testing.T) (*Provider, *oidctest.Server, *fakeClock) {
	t.Helper()
	op := oidctest.New(t, oidctest.WithECKey())
	p, err := OIDC(context.Background(), OIDCConfig{
		Name:           "a",
		Issuer:         op.URL,
		ClientID:       oidctest.ClientID,
		ClientSecret:   oidctest.ClientSecret,
		ExtraAudiences: []string{"api"},
		HTTPClient:     op.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Now()}
	p.now = clock.now
	return p, op, clock
}

// logoutClaims are the claims of a valid logout token issued at now, as
// the conformance suite's rp-backchannel-rpinitlogout sends them.
func logoutClaims(op *oidctest.Server, now time.Time) oidctest.Claims {
	return oidctest.Claims{
		"iss":    op.URL,
		"sub":    oidctest.Subject,
		"aud":    oidctest.ClientID,
		"iat":    now.Unix(),
		"exp":    now.Add(2 * time.Minute).Unix(),
		"jti":    "jti-" + randomHex(8),
		"sid":    "sid-1",
		"events": map[string]any{backchannelLogoutEvent: map[string]any{}},
		"extra":  "ignored",
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// logoutCase edits a valid token; want is "" for accepted, else a part
// of the error.
type logoutCase struct {
	name string
	edit func(c oidctest.Claims, h *oidctest.Header, now time.Time)
	want string
}

func logoutCases() []logoutCase {
	set := func(k string, v any) func(oidctest.Claims, *oidctest.Header, time.Time) {
		return func(c oidctest.Claims, _ *oidctest.Header, _ time.Time) { c[k] = v }
	}
	del := func(keys ...string) func(oidctest.Claims, *oidctest.Header, time.Time) {
		return func(c oidctest.Claims, _ *oidctest.Header, _ time.Time) {
			for _, k := range keys {
				delete(c, k)
			}
		}
	}
	hdr := func(h oidctest.Header) func(oidctest.Claims, *oidctest.Header, time.Time) {
		return func(_ oidctest.Claims, hp *oidctest.Header, _ time.Time) {
			h.Typ = "logout+jwt"
			*hp = h
		}
	}
	at := func(k string, d time.Duration) func(oidctest.Claims, *oidctest.Header, time.Time) {
		return func(c oidctest.Claims, _ *oidctest.Header, now time.Time) { c[k] = now.Add(d).Unix() }
	}
	ev := func(v any) func(oidctest.Claims, *oidctest.Header, time.Time) { return set("events", v) }
	return []logoutCase{
		// Accepted (BCL-01, BCL-07).
		{"valid, typ logout+jwt", nil, ""},
		{"typ JWT", func(_ oidctest.Claims, h *oidctest.Header, _ time.Time) { h.Typ = "JWT" }, ""},
		{"typ absent", func(_ oidctest.Claims, h *oidctest.Header, _ time.Time) { h.Extra = map[string]any{"typ": nil} }, ""},
		{"typ application/logout+jwt", func(_ oidctest.Claims, h *oidctest.Header, _ time.Time) { h.Typ = "application/logout+jwt" }, ""},
		{"sub only", del("sid"), ""},
		{"sid only", del("sub"), ""},
		{"aud array with a trusted extra", set("aud", []string{oidctest.ClientID, "api"}), ""},
		{"event value a non-empty object", ev(map[string]any{backchannelLogoutEvent: map[string]any{"x": 1}}), ""},
		{"iat 30 s ahead (skew)", at("iat", 30*time.Second), ""},
		{"iat 9 minutes ago", at("iat", -9*time.Minute), ""},
		// BCL-02, BCL-03: algorithms and keys.
		{"alg none", hdr(oidctest.Header{Sign: oidctest.SignNone}), "signing algorithm not allowed"},
		{"alg None", hdr(oidctest.Header{Sign: oidctest.SignNone, Alg: "None"}), "signing algorithm not allowed"},
		{"alg NONE", hdr(oidctest.Header{Sign: oidctest.SignNone, Alg: "NONE"}), "signing algorithm not allowed"},
		{"ES256 when RS256 is pinned", hdr(oidctest.Header{Sign: oidctest.SignES256}), "signing algorithm not allowed"},
		{"HS256 keyed with the RSA public key", hdr(oidctest.Header{Sign: oidctest.SignHS256Confusion}), "signing algorithm not allowed"},
		{"bad signature", hdr(oidctest.Header{Sign: oidctest.SignCorrupted}), "signature invalid"},
		{"unpublished key, known kid", hdr(oidctest.Header{Sign: oidctest.SignRS256Unpublished}), "signature invalid"},
		{"embedded jwk", hdr(oidctest.Header{Sign: oidctest.SignEmbeddedJWK}), "unknown key"},
		{"jku to the attacker's keys", hdr(oidctest.Header{Sign: oidctest.SignJKU}), "unknown key"},
		{"typ at+jwt", func(_ oidctest.Claims, h *oidctest.Header, _ time.Time) { h.Typ = "at+jwt" }, "typ"},
		// BCL-04.
		{"wrong iss", set("iss", "https://evil.example"), "wrong issuer"},
		{"wrong aud", set("aud", "other-client"), "wrong audience"},
		{"untrusted extra aud", set("aud", []string{oidctest.ClientID, "evil-aud"}), "untrusted audience"},
		// BCL-05.
		{"events missing", del("events"), "events missing"},
		{"events a string", ev("logout"), "malformed claims"},
		{"events an array", ev([]string{backchannelLogoutEvent}), "malformed claims"},
		{"events null", ev(nil), "events missing"},
		{"wrong event URI", ev(map[string]any{"http://schemas.openid.net/event/foobar": map[string]any{}}), "events missing"},
		{"extra event", ev(map[string]any{backchannelLogoutEvent: map[string]any{}, "urn:x": map[string]any{}}), "exactly the back-channel logout event"},
		{"revoke_offline_access not a boolean", ev(map[string]any{backchannelLogoutEvent: map[string]any{}, "revoke_offline_access": "true"}), "exactly the back-channel logout event"},
		{"revoke_offline_access alone", ev(map[string]any{"revoke_offline_access": true}), "events missing"},
		{"event value a string", ev(map[string]any{backchannelLogoutEvent: ""}), "not an object"},
		{"event value null", ev(map[string]any{backchannelLogoutEvent: nil}), "not an object"},
		// BCL-06.
		{"nonce", set("nonce", "n-1"), "nonce present"},
		{"nonce null", set("nonce", nil), "nonce present"},
		{"an ID token", func(c oidctest.Claims, _ *oidctest.Header, _ time.Time) {
			delete(c, "events")
			c["nonce"], c["email"] = "n-1", "ada@example.com"
		}, "events missing"},
		// BCL-07.
		{"neither sub nor sid", del("sub", "sid"), "neither sub nor sid"},
		{"jti missing", del("jti"), "jti missing"},
		{"iat missing", del("iat"), "iat missing"},
		{"iat a string", set("iat", "yesterday"), "malformed claims"},
		{"iat in the future", at("iat", 5*time.Minute), "iat in the future"},
		{"iat too old", at("iat", -20*time.Minute), "iat too old"},
		{"exp past", at("exp", -time.Second), "exp in the past"},
		{"exp missing", del("exp"), "exp missing"},
		{"sub of 256 bytes", set("sub", strings.Repeat("s", 256)), "longer than 255"},
	}
}

func TestVerifyLogoutToken(t *testing.T) {
	p, op, clock := logoutProvider(t)
	cases := logoutCases()
	refused := 0
	for _, tc := range cases {
		if tc.want != "" {
			refused++
		}
	}
	t.Logf("%d cases: %d accepted, %d refused", len(cases), len(cases)-refused, refused)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := clock.now()
			c, h := logoutClaims(op, now), oidctest.Header{Typ: "logout+jwt"}
			if tc.edit != nil {
				tc.edit(c, &h, now)
			}
			raw := op.Sign(c, h)
			lt, err := p.VerifyLogoutToken(context.Background(), raw)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				sub, _ := c["sub"].(string)
				sid, _ := c["sid"].(string)
				if lt.Subject != sub || lt.SID != sid || lt.JTI != c["jti"] || lt.IssuedAt.Unix() != c["iat"] {
					t.Errorf("token %+v, claims %v", lt, c)
				}
				if max := lt.IssuedAt.Add(maxLogoutTokenAge + clockSkew); lt.Expiry.After(max) || lt.Expiry.Unix() > c["exp"].(int64) {
					t.Errorf("Expiry %v after exp or iat+max age", lt.Expiry)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want one about %q", err, tc.want)
			}
			// The error names the check, never a value from the token.
			jti, _ := c["jti"].(string)
			for _, v := range []string{"evil", "other-client", "n-1", "yesterday", jti} {
				if v != "" && strings.Contains(err.Error(), v) {
					t.Errorf("error %q quotes %q", err, v)
				}
			}
		})
	}
	if n := len(op.Requests(oidctest.PathAttackerJWKS)); n != 0 {
		t.Errorf("the attacker's jku was fetched %d times", n)
	}
}

func TestVerifyLogoutTokenRefusesMalformed(t *testing.T) {
	p, _, _ := logoutProvider(t)
	for name, raw := range map[string]string{
		"empty":     "",
		"not a JWT": "not-a-jwt",
		"garbage":   "a.b.c",
		"too large": strings.Repeat("a", maxLogoutTokenSize+1),
	} {
		if _, err := p.VerifyLogoutToken(context.Background(), raw); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	plain := &Provider{name: "gh"} // a plain OAuth 2.0 provider has no verifier
	if _, err := plain.VerifyLogoutToken(context.Background(), "x.y.z"); err == nil || !strings.Contains(err.Error(), "not an OpenID Connect provider") {
		t.Errorf("provider without ID tokens: %v", err)
	}
}

// TestLogoutJWKSRateLimit is NET-05: a flood of tokens with random kids
// (signed by a key nobody publishes) makes at most one JWKS fetch per
// jwksMinRefresh, however many arrive at once; a real rotation is picked
// up after it; and a provider whose JWKS is down keeps its cached keys.
func TestLogoutJWKSRateLimit(t *testing.T) {
	p, op, clock := logoutProvider(t)
	jwks := func() int { return len(op.Requests(oidctest.PathJWKS)) }
	flood := func(n int) {
		var wg sync.WaitGroup
		for g := range 20 {
			wg.Go(func() {
				for i := g; i < n; i += 20 {
					c := logoutClaims(op, clock.now())
					raw := op.Sign(c, oidctest.Header{Sign: oidctest.SignRS256Unpublished, Kid: randomHex(8)})
					if _, err := p.VerifyLogoutToken(context.Background(), raw); err == nil {
						t.Error("token with a random kid accepted")
					}
				}
			})
		}
		wg.Wait()
	}

	flood(1000)
	if n := jwks(); n < 1 || n > 2 {
		t.Fatalf("1000 random kids: %d JWKS fetches, want 1 (at most 2)", n)
	}
	t.Logf("1000 tokens with random kids: %d JWKS fetch(es)", jwks())
	clock.advance(jwksMinRefresh - time.Second)
	flood(100)
	if n := jwks(); n != 1 {
		t.Errorf("%d JWKS fetches before jwksMinRefresh passed, want 1", n)
	}

	// Rotation: the provider signs with a new key "r1" and drops "k1".
	op.Rotate(false)
	valid := func() error {
		_, err := p.VerifyLogoutToken(context.Background(), op.Sign(logoutClaims(op, clock.now()), oidctest.Header{Typ: "logout+jwt"}))
		return err
	}
	if err := valid(); err == nil || !strings.Contains(err.Error(), "unknown key") {
		t.Errorf("new key within jwksMinRefresh: %v, want an unknown-key refusal", err)
	}
	clock.advance(2 * time.Second)
	if err := valid(); err != nil {
		t.Fatalf("new key after jwksMinRefresh: %v", err)
	}
	if n := jwks(); n != 2 {
		t.Errorf("%d JWKS fetches after the rotation, want 2", n)
	}

	// NET-06: the provider is down; the cached keys still verify.
	op.Close()
	clock.advance(time.Minute)
	if err := valid(); err != nil {
		t.Errorf("cached key with the JWKS down: %v", err)
	}
}
