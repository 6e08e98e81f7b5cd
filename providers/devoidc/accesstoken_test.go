package devoidc

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

const testAudience = "https://api.example.com"

func withAudience(st *setup) { st.cfg.AccessTokenAudience = testAudience }

// accessClaims verifies a JWT access token and returns its claims.
func (o *testOP) accessClaims(token string) accessTokenClaims {
	o.t.Helper()
	var c accessTokenClaims
	if err := o.op.keys.verifyTyped(token, atJWTType, &c); err != nil {
		o.t.Fatalf("access token %q: %v", token, err)
	}
	return c
}

// TestJWTAccessToken checks the RFC 9068 profile: header and claims of the
// access tokens of the code flow, and that the provider's own endpoints
// take them as they take opaque ones.
func TestJWTAccessToken(t *testing.T) {
	o := newTestOP(t, withClock, withAudience)
	m := o.tokens()
	at := str(m, "access_token")
	if h := jwtHeaderOf(t, at); h.Typ != "at+jwt" || h.Alg != "RS256" || h.Kid != o.op.keys.currentKID() {
		t.Errorf("header = %+v, want typ at+jwt, RS256 and the current kid", h)
	}
	c := o.accessClaims(at)
	now := o.clock.Now().Unix()
	want := accessTokenClaims{
		Issuer: o.op.Issuer(), Subject: "ada", Audience: testAudience, Expiry: now + 300, IssuedAt: now,
		JTI: c.JTI, ClientID: testClientID, Scope: testScope, AuthTime: now, ACR: ACRPassword, AMR: []string{"pwd"},
		// The user's claims released by the scope, as in the ID token.
		userClaims: claimsFor(User{Name: "Ada Lovelace", PreferredUsername: "ada", Email: "ada@example.com", EmailVerified: true,
			Groups: []string{"admins", "engineers"}}, strings.Fields(testScope)),
	}
	if len(c.JTI) != 43 || !reflect.DeepEqual(c, want) {
		t.Errorf("claims = %+v\nwant     %+v", c, want)
	}
	if id := o.idClaims(m); id.AtHash != opkit.AtHash(at) {
		t.Errorf("at_hash %q does not bind the JWT access token", id.AtHash)
	}
	if resp, info := o.userinfo(at); resp.StatusCode != http.StatusOK || info["sub"] != "ada" {
		t.Errorf("userinfo: %d %v", resp.StatusCode, info)
	}

	o.clock.Advance(time.Minute)
	resp, fresh := o.refresh(str(m, "refresh_token"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh: %d %v", resp.StatusCode, fresh)
	}
	fc := o.accessClaims(str(fresh, "access_token"))
	if fc.JTI == c.JTI || fc.IssuedAt != now+60 || fc.AuthTime != now || fc.ACR != ACRPassword {
		t.Errorf("refreshed claims = %+v: want a new jti, a new iat and the old auth_time", fc)
	}

	if err := o.op.RotateKey(); err != nil {
		t.Fatal(err)
	}
	if resp, _ := o.userinfo(at); resp.StatusCode != http.StatusOK {
		t.Errorf("token signed before a key rotation: userinfo %d", resp.StatusCode)
	}
	if resp, _ := o.postForm("/revoke", url.Values{"token": {at}}, testClientID, testSecret); resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if resp, _ := o.userinfo(at); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("revoked JWT access token: userinfo %d, want 401", resp.StatusCode)
	}
	if resp, _ := o.userinfo(str(fresh, "access_token")); resp.StatusCode != http.StatusOK {
		t.Errorf("revoking one access token revoked another: userinfo %d", resp.StatusCode)
	}
}

// TestJWTAccessTokenLookalikes checks that only the JWT itself is the
// credential: not its jti, not an ID token signed by the same key, not a
// JWT with its payload or typ changed.
func TestJWTAccessTokenLookalikes(t *testing.T) {
	o := newTestOP(t, withAudience)
	m := o.tokens()
	at := str(m, "access_token")
	parts := strings.Split(at, ".")
	var payload map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	json.Unmarshal(raw, &payload)
	payload["sub"] = "grace"
	forged, _ := json.Marshal(payload)
	retyped, err := o.op.keys.sign(o.accessClaims(at)) // typ "JWT"
	if err != nil {
		t.Fatal(err)
	}
	for name, token := range map[string]string{
		"jti alone":        o.accessClaims(at).JTI,
		"ID token":         str(m, "id_token"),
		"changed payload":  parts[0] + "." + base64.RawURLEncoding.EncodeToString(forged) + "." + parts[2],
		"typ JWT":          retyped,
		"no signature":     parts[0] + "." + parts[1] + ".",
		"refresh token":    str(m, "refresh_token"),
		"two dots garbage": "a.b.c",
	} {
		t.Run(name, func(t *testing.T) {
			if resp, _ := o.userinfo(token); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("userinfo: %d, want 401", resp.StatusCode)
			}
		})
	}
}

// TestOpaqueAccessTokenByDefault checks that without AccessTokenAudience
// the access token is not a JWT, and a JWT presented is just unknown.
func TestOpaqueAccessTokenByDefault(t *testing.T) {
	o := newTestOP(t)
	m := o.tokens()
	if at := str(m, "access_token"); len(at) != 43 || strings.Contains(at, ".") {
		t.Errorf("access token %q, want 43 opaque characters", at)
	}
	if resp, _ := o.userinfo(str(m, "id_token")); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("ID token as access token: userinfo %d, want 401", resp.StatusCode)
	}
}

func FuzzTokenKey(f *testing.F) {
	s, err := New(Config{Issuer: "http://127.0.0.1:9000", Clients: testClients(), Key: testKey(f), AccessTokenAudience: testAudience})
	if err != nil {
		f.Fatal(err)
	}
	value, key := s.newAccessValue()
	good, err := s.encodeAccess(value, accessToken{clientID: testClientID, subject: testClientID, issued: time.Unix(1, 0), expires: time.Unix(2, 0)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(value)
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, token string) {
		if s.tokenKey(token) == key && token != good {
			t.Errorf("tokenKey(%q) is the key of another token", token)
		}
	})
}
