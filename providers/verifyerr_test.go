package providers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/portcullis-go/portcullis/internal/oidctest"
)

// TestVerifyErrorTyped: a refused ID token is named for the check it
// failed, whatever text its claims carry. go-oidc quotes the token's
// issuer and audiences in its errors, so matching that text let a token
// choose its own label (an issuer holding "signature algorithm" was
// reported as a refused algorithm). The label never quotes the token.
func TestVerifyErrorTyped(t *testing.T) {
	set := func(k string, v any) func(oidctest.Claims, *oidctest.Header) {
		return func(c oidctest.Claims, _ *oidctest.Header) { c[k] = v }
	}
	for _, tc := range []struct {
		name string
		edit func(oidctest.Claims, *oidctest.Header)
		want string
	}{
		{"iss quoting an algorithm error", set("iss", "https://evil.example/signature algorithm"), "id_token: wrong issuer"},
		{"iss quoting a key error", set("iss", "https://evil.example/"+errUnknownKey.Error()), "id_token: wrong issuer"},
		{"aud quoting an issuer error", set("aud", "evil issued by a different provider"), "id_token: wrong audience"},
		{"aud quoting a claims error", set("aud", []string{"evil unmarshal claims", "malformed jwt"}), "id_token: wrong audience"},
		{"wrong iss", set("iss", "https://evil.example"), "id_token: wrong issuer"},
		{"wrong aud", set("aud", "evil-client"), "id_token: wrong audience"},
		{"nbf in an hour", set("nbf", time.Now().Add(time.Hour).Unix()), "id_token: not yet valid"},
		{"expired", set("exp", time.Now().Add(-time.Hour).Unix()), "id_token: expired"},
		{"exp a string", set("exp", "evil"), "id_token: malformed claims"},
		{"dangling _claim_names", set("_claim_names", map[string]string{"groups": "evil"}), "id_token: malformed claims"},
		{"alg none", func(_ oidctest.Claims, h *oidctest.Header) { h.Sign = oidctest.SignNone }, "id_token: signing algorithm not allowed"},
		{"alg nOnE", func(_ oidctest.Claims, h *oidctest.Header) { h.Sign, h.Alg = oidctest.SignNone, "nOnE" }, "id_token: signing algorithm not allowed"},
		{"HS256 confusion", func(_ oidctest.Claims, h *oidctest.Header) { h.Sign = oidctest.SignHS256Confusion }, "id_token: signing algorithm not allowed"},
		{"bad signature", func(_ oidctest.Claims, h *oidctest.Header) { h.Sign = oidctest.SignCorrupted }, "id_token: signature invalid"},
		{"attacker's key", func(_ oidctest.Claims, h *oidctest.Header) { h.Sign = oidctest.SignEmbeddedJWK }, "id_token: signature invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, op := oidcProvider(t, false)
			op.IDToken = func(c oidctest.Claims, h oidctest.Header) (oidctest.Claims, oidctest.Header) {
				tc.edit(c, &h)
				return c, h
			}
			// A prefix: once the JWKS cache reports to the slot, a key
			// nobody publishes says so after "signature invalid".
			_, _, err := oidcLogin(t, p, op)
			if err == nil || !strings.HasPrefix(err.Error(), "providers: a: "+tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "evil") {
				t.Errorf("error %q quotes the token", err)
			}
		})
	}
}

// TestVerifyErrorTypedLogout is the same for logout tokens.
func TestVerifyErrorTypedLogout(t *testing.T) {
	p, op, clock := logoutProvider(t)
	for _, tc := range []struct {
		name string
		edit func(oidctest.Claims)
		want string
	}{
		{"iss quoting a key error", func(c oidctest.Claims) { c["iss"] = "https://evil.example/" + errUnknownKey.Error() }, "logout_token: wrong issuer"},
		{"iss quoting an events error", func(c oidctest.Claims) { c["iss"] = "https://evil.example/backchannel-logout event" }, "logout_token: wrong issuer"},
		{"aud quoting a jti error", func(c oidctest.Claims) { c["aud"] = "evil 'jti'" }, "logout_token: wrong audience"},
		{"aud quoting a nonce error", func(c oidctest.Claims) { c["aud"] = []string{"evil 'nonce'", "'sub' claim, a 'sid' claim"} }, "logout_token: wrong audience"},
		{"Google's bare issuer is not an exception", func(c oidctest.Claims) { c["iss"] = "accounts.google.com" }, "logout_token: wrong issuer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := logoutClaims(op, clock.now())
			tc.edit(c)
			_, err := p.VerifyLogoutToken(context.Background(), op.Sign(c, oidctest.Header{Typ: "logout+jwt"}))
			if err == nil || err.Error() != "providers: a: "+tc.want {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// keyErrSet is a key set that returns the payload unverified, or err,
// and reports what it returns as the JWKS cache does (reportKeyErr).
type keyErrSet struct{ err error }

func (k keyErrSet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	if k.err != nil {
		reportKeyErr(ctx, k.err)
		return nil, k.err
	}
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, err
	}
	reportKeyErr(ctx, nil)
	return jws.UnsafePayloadWithoutVerification(), nil
}

// silentKeySet fails without reporting, as a key set not wired to
// reportKeyErr does.
type silentKeySet struct{}

func (silentKeySet) VerifySignature(context.Context, string) ([]byte, error) {
	return nil, errors.New("oidc: expected audience, issued by a different provider, nbf")
}

// TestVerifyErrorKeyReport: a key set's failure is named by the type of
// the error it reports through the call's slot, never by its text; a key
// set that does not report leaves "signature invalid" for a token whose
// claims pass, and a token that passed the key set is named by its claims.
func TestVerifyErrorKeyReport(t *testing.T) {
	op := oidctest.New(t)
	now := time.Now()
	valid := oidctest.Claims{"iss": op.URL, "sub": "u", "aud": oidctest.ClientID, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
	wrongIss := oidctest.Claims{"iss": "https://evil.example", "sub": "u", "aud": oidctest.ClientID, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
	misleading := "oidc: malformed jwt: expected audience, signature algorithm, nbf"
	for _, tc := range []struct {
		name   string
		keys   oidc.KeySet
		claims oidctest.Claims
		want   string
	}{
		{"unknown key", keyErrSet{fmt.Errorf("%s: %w", misleading, errUnknownKey)}, valid, "id_token: signature invalid (no published key verifies it)"},
		{"keys unavailable", keyErrSet{fmt.Errorf("%s: %w", misleading, errKeysUnavailable)}, valid, "id_token: could not fetch the provider's keys"},
		{"network error", keyErrSet{fmt.Errorf("%s: %w", misleading, &net.OpError{Op: "dial", Err: errors.New("refused")})}, valid, "id_token: could not fetch the provider's keys"},
		{"deadline", keyErrSet{fmt.Errorf("%s: %w", misleading, context.DeadlineExceeded)}, valid, "id_token: could not fetch the provider's keys"},
		{"signature refused", keyErrSet{errors.New(misleading)}, valid, "id_token: signature invalid"},
		{"refused before the issuer is looked at", keyErrSet{errors.New(misleading)}, wrongIss, "id_token: signature invalid"},
		{"verified, then wrong issuer", keyErrSet{}, wrongIss, "id_token: wrong issuer"},
		{"no report", silentKeySet{}, valid, "id_token: signature invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := &idTokenVerifier{clientID: oidctest.ClientID, issuer: op.URL, algs: []string{oidc.RS256}, maxAge: time.Hour, now: time.Now}
			v.verifier = oidc.NewVerifier(op.URL, tc.keys, &oidc.Config{ClientID: oidctest.ClientID, SupportedSigningAlgs: v.algs, Now: v.now})
			_, _, _, err := v.verifyToken(context.Background(), op.Sign(tc.claims, oidctest.Header{}))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "evil") {
				t.Errorf("error %q quotes the token", err)
			}
		})
	}

	// reportKeyErr is a no-op without a slot, and the slot is per call.
	reportKeyErr(context.Background(), errUnknownKey)
	ctx, rep := withKeyReport(context.Background())
	if rep.called {
		t.Fatal("fresh slot already reported")
	}
	reportKeyErr(ctx, errUnknownKey)
	if _, other := withKeyReport(ctx); other.called || !rep.called || !errors.Is(rep.err, errUnknownKey) {
		t.Errorf("slot %+v, nested slot %+v", rep, other)
	}
}
