package benchcmp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/session"
)

// The callback's cost, without the provider's token endpoint: an Auth with
// one OpenID provider whose every HTTP request (discovery, keys, token) is
// answered in process by CallbackSetup's transport, the token response a
// precomputed JSON body. Each callback needs a flow of its own (a state
// works once, and the ID token carries the flow's nonce), so flows are
// prepared ahead, outside the measured time: a login, whose flow cookie
// and state make the callback request, and an ID token for its nonce,
// signed then.
//
// The baseline is what any callback must do at least: go-oidc's
// IDTokenVerifier.Verify of the same kind of ID token (a static key set,
// so no key fetch either) and CookieStore.Save of the same session.

// OP is the in-process provider's issuer; ClientID its one client.
const (
	OP       = "https://op.example"
	ClientID = "app"
	kid      = "bench-key"
)

// CallbackSetup is the Auth, its handler, and the canned provider.
type CallbackSetup struct {
	Key      *rsa.PrivateKey
	Auth     *middleware.Auth
	Handler  http.Handler
	Store    *session.CookieStore
	Verifier *oidc.IDTokenVerifier
	Payload  Payload
	// next is the token response the transport answers with.
	next []byte
}

// Flow is one prepared callback: its request (flow cookie, state, code)
// and the token response the token endpoint answers it with.
type Flow struct {
	Request  *http.Request
	Response []byte
	IDToken  string
}

// NewCallbackSetup builds the Auth (login rate limit off: every flow is
// started from the same address) over the canned provider.
func NewCallbackSetup(key *rsa.PrivateKey, pl Payload) (*CallbackSetup, error) {
	c := &CallbackSetup{Key: key, Payload: pl}
	hc := &http.Client{Transport: c}
	p, err := providers.OIDC(context.Background(), providers.OIDCConfig{Name: "op", Issuer: OP, ClientID: ClientID, ClientSecret: "s", HTTPClient: hc})
	if err != nil {
		return nil, err
	}
	store, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{sessionKey}})
	if err != nil {
		return nil, err
	}
	a, err := middleware.New(middleware.Config{
		BaseURL:        "https://app.example",
		Providers:      []*providers.Provider{p},
		Keys:           [][]byte{sessionKey},
		Sessions:       store,
		LoginRateLimit: middleware.RateLimit{Off: true},
	})
	if err != nil {
		return nil, err
	}
	c.Auth, c.Handler, c.Store = a, a.Handler(), store
	c.Verifier = oidc.NewVerifier(OP, &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{&key.PublicKey}}, &oidc.Config{ClientID: ClientID})
	return c, nil
}

// RoundTrip answers the provider's requests: discovery, keys, and the
// token endpoint with the response set for the callback in progress.
func (c *CallbackSetup) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body.Close()
	}
	var body []byte
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		body, _ = json.Marshal(map[string]any{
			"issuer": OP, "authorization_endpoint": OP + "/authorize", "token_endpoint": OP + "/token",
			"jwks_uri": OP + "/jwks", "response_types_supported": []string{"code"},
			"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"RS256"},
			"code_challenge_methods_supported": []string{"S256"},
		})
	case "/jwks":
		e := big.NewInt(int64(c.Key.E)).Bytes()
		body, _ = json.Marshal(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
			"n": base64.RawURLEncoding.EncodeToString(c.Key.N.Bytes()), "e": base64.RawURLEncoding.EncodeToString(e),
		}}})
	case "/token":
		body = c.next
	default:
		return &http.Response{StatusCode: http.StatusNotFound, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
	}
	return &http.Response{
		StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: r,
	}, nil
}

// SignIDToken returns an RS256 ID token of the payload's claims for the
// canned provider and nonce, with the at_hash of the payload's access
// token (OpenID Connect Core §3.1.3.6).
func (c *CallbackSetup) SignIDToken(nonce string, now time.Time) string {
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": kid, "typ": "JWT"})
	ah := sha256.Sum256([]byte(c.Payload.AccessToken))
	claims := map[string]any{
		"iss": OP, "azp": ClientID, "aud": ClientID, "sub": c.Payload.Subject,
		"email": c.Payload.Email, "email_verified": true, "at_hash": base64.RawURLEncoding.EncodeToString(ah[:16]),
		"name": c.Payload.Name, "picture": "https://lh3.googleusercontent.com/a/ACg8ocJ9s0mExAmPlEpIcTuReUrL=s96-c",
		"nonce": nonce, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
	body, _ := json.Marshal(claims)
	signing := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(body)
	h := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, c.Key, crypto.SHA256, h[:])
	if err != nil {
		panic(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// NewFlow starts a login and returns its callback, ready to serve.
func (c *CallbackSetup) NewFlow(i int) (Flow, error) {
	rec := httptest.NewRecorder()
	c.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://app.example/auth/login/op", nil))
	loc, err := url.Parse(rec.Header().Get("Location"))
	if rec.Code != http.StatusSeeOther && rec.Code != http.StatusFound || err != nil {
		return Flow{}, fmt.Errorf("login: status %d, Location %q", rec.Code, rec.Header().Get("Location"))
	}
	q := loc.Query()
	state, nonce := q.Get("state"), q.Get("nonce")
	if state == "" || nonce == "" {
		return Flow{}, fmt.Errorf("login: no state or nonce in %q", loc.Redacted())
	}
	code := fmt.Sprintf("code-%d", i)
	r := httptest.NewRequest(http.MethodGet, "https://app.example/auth/callback/op?"+url.Values{"state": {state}, "code": {code}}.Encode(), nil)
	for _, ck := range rec.Result().Cookies() {
		r.AddCookie(ck)
	}
	id := c.SignIDToken(nonce, time.Now())
	resp, _ := json.Marshal(map[string]any{
		"access_token": c.Payload.AccessToken, "token_type": "Bearer", "expires_in": 3600,
		"refresh_token": c.Payload.RefreshToken, "id_token": id,
	})
	return Flow{Request: r, Response: resp, IDToken: id}, nil
}

// Callback serves f's callback and reports whether it signed the user in
// (303 with a session cookie).
func (c *CallbackSetup) Callback(f Flow) error {
	c.next = f.Response
	rec := httptest.NewRecorder()
	c.Handler.ServeHTTP(rec, f.Request)
	if rec.Code != http.StatusSeeOther {
		return fmt.Errorf("callback: status %d", rec.Code)
	}
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == c.Store.Name() && ck.MaxAge > 0 {
			return nil
		}
	}
	return fmt.Errorf("callback: no session cookie")
}

// Baseline is go-oidc's Verify of f's ID token and the CookieStore.Save
// of a session of the payload.
func (c *CallbackSetup) Baseline(f Flow) error {
	tok, err := c.Verifier.Verify(context.Background(), f.IDToken)
	if err != nil {
		return err
	}
	var claims struct {
		Email string `json:"email"`
		Name  string `json:"name"`
	}
	if err := tok.Claims(&claims); err != nil {
		return err
	}
	s := session.New(session.User{Provider: "op", Issuer: OP, Subject: tok.Subject, Email: claims.Email, Name: claims.Name},
		session.Tokens{AccessToken: c.Payload.AccessToken, TokenType: "Bearer", RefreshToken: c.Payload.RefreshToken, Expiry: time.Now().Add(time.Hour), IDToken: f.IDToken},
		time.Now(), 12*time.Hour)
	return c.Store.Save(httptest.NewRecorder(), f.Request, s)
}

// Flows prepares n flows, numbered from i.
func (c *CallbackSetup) Flows(i, n int) ([]Flow, error) {
	flows := make([]Flow, n)
	for k := range flows {
		f, err := c.NewFlow(i + k)
		if err != nil {
			return nil, err
		}
		flows[k] = f
	}
	return flows, nil
}

// CallbackResult is the median ns/op over rounds of the callback and of
// its baseline, and their allocations.
type CallbackResult struct {
	Callback, Baseline             float64
	CallbackAllocs, BaselineAllocs float64
	Rounds                         int
}

// RunCallback measures the callback and the baseline in rounds, in
// alternating order, n prepared flows each per round (prepared outside
// the measured time).
func RunCallback(c *CallbackSetup, rounds, n int) (CallbackResult, error) {
	var cb, bl, cba, bla []float64
	next := 0
	for round := range rounds {
		flows, err := c.Flows(next, 2*n)
		if err != nil {
			return CallbackResult{}, err
		}
		next += 2 * n
		one := func(op func(Flow) error, fs []Flow) (float64, float64, error) {
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			start := time.Now()
			for _, f := range fs {
				if err := op(f); err != nil {
					return 0, 0, err
				}
			}
			d := time.Since(start)
			runtime.ReadMemStats(&m1)
			return float64(d.Nanoseconds()) / float64(len(fs)), float64(m1.Mallocs-m0.Mallocs) / float64(len(fs)), nil
		}
		order := []int{0, 1}
		if round%2 == 1 {
			order = []int{1, 0}
		}
		for _, o := range order {
			if o == 0 {
				ns, al, err := one(c.Callback, flows[:n])
				if err != nil {
					return CallbackResult{}, err
				}
				cb, cba = append(cb, ns), append(cba, al)
			} else {
				ns, al, err := one(c.Baseline, flows[n:])
				if err != nil {
					return CallbackResult{}, err
				}
				bl, bla = append(bl, ns), append(bla, al)
			}
		}
	}
	return CallbackResult{Callback: median(cb), Baseline: median(bl), CallbackAllocs: median(cba), BaselineAllocs: median(bla), Rounds: rounds}, nil
}
