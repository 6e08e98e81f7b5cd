package middleware

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/bounded"
	"github.com/portcullis-go/portcullis/internal/oidctest"
	"github.com/portcullis-go/portcullis/session"
)

// SECURITY.md BCL-01..BCL-08 and NET-05, end to end: a real login through
// the mock provider, then the provider's logout token POSTed to
// /auth/backchannel-logout/a, then the old cookie at a protected route.

const logoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// bclTest is a loginTest whose provider also publishes an ES256 key (so
// that an ES256 token fails for its algorithm, not for an unknown key).
type bclTest struct {
	*loginTest
	idToken string // the ID token of the last login
}

func newBCLTest(t *testing.T) *bclTest {
	return &bclTest{loginTest: newLoginTest(t, loginOptions{op: []oidctest.Option{oidctest.WithECKey()}})}
}

// login signs a fresh browser in as sub, in provider session sid (none
// when sid is ""), and returns its cookies.
func (bt *bclTest) login(sub, sid string) []*http.Cookie {
	bt.t.Helper()
	bt.jar, _ = cookiejar.New(nil)
	bt.client.Jar = bt.jar
	bt.op.IDToken = func(c oidctest.Claims, h oidctest.Header) (oidctest.Claims, oidctest.Header) {
		c["sub"], c["sid"] = sub, sid
		if sid == "" {
			delete(c, "sid")
		}
		return c, h
	}
	if r := bt.get(bt.start("a").String()); r.StatusCode != http.StatusSeeOther {
		bt.t.Fatalf("login: status %d", r.StatusCode)
	}
	s, err := bt.auth.Session(bt.requestWithJar())
	if err != nil || s.SID != sid || s.User.Subject != sub {
		bt.t.Fatalf("login: session %v, %v", s, err)
	}
	bt.idToken = s.Tokens.IDToken
	return bt.jar.Cookies(bt.appURL)
}

// private returns the status of an API request to the protected route
// with cookies (401 when the session is refused).
func (bt *bclTest) private(cookies []*http.Cookie) int {
	bt.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, bt.app.URL+"/private", nil)
	req.Header.Set("Accept", "application/json")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		bt.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// token returns a valid logout token for (sub user-1, sid sid-1), edited.
func (bt *bclTest) token(edit func(c oidctest.Claims, h *oidctest.Header)) string {
	now := time.Now()
	c := oidctest.Claims{
		"iss": bt.op.URL, "sub": oidctest.Subject, "aud": oidctest.ClientID, "sid": "sid-1",
		"iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(), "jti": "jti-" + randHex(8),
		"events": map[string]any{logoutEvent: map[string]any{}},
	}
	h := oidctest.Header{Typ: "logout+jwt"}
	if edit != nil {
		edit(c, &h)
	}
	return bt.op.Sign(c, h)
}

// post sends a request to the back-channel endpoint of provider "a" (or
// the path given) the way a provider does: no cookies.
func (bt *bclTest) post(method, pathQuery, contentType, body string, hdr ...string) *response {
	bt.t.Helper()
	if !strings.HasPrefix(pathQuery, "/") {
		pathQuery = "/auth/backchannel-logout/a" + pathQuery
	}
	if form, err := url.ParseQuery(body); err == nil {
		recordParams(bt.t.Name(), form) // the logout tokens, for the leak scan
	}
	req, _ := http.NewRequest(method, bt.app.URL+pathQuery, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		bt.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &response{Response: resp, body: string(b)}
}

const formType = "application/x-www-form-urlencoded"

func (bt *bclTest) postToken(tok string) *response {
	return bt.post(http.MethodPost, "", formType, "logout_token="+url.QueryEscape(tok))
}

// revocations returns the number of keys (accounts and provider
// sessions) on the revocation list.
func (bt *bclTest) revocations() int {
	return bt.auth.s.Revocations.(*memoryRevocations).list.Len()
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// bclCase is one row: a token edit and/or a way to send it.
type bclCase struct {
	name string
	edit func(c oidctest.Claims, h *oidctest.Header)
	send func(bt *bclTest, tok string) *response // default postToken
	want int
	// why is part of VerifyLogoutToken's error for a refused token: the
	// case must fail for its own reason.
	why string
}

func bclCases() []bclCase {
	set := func(k string, v any) func(oidctest.Claims, *oidctest.Header) {
		return func(c oidctest.Claims, _ *oidctest.Header) { c[k] = v }
	}
	del := func(keys ...string) func(oidctest.Claims, *oidctest.Header) {
		return func(c oidctest.Claims, _ *oidctest.Header) {
			for _, k := range keys {
				delete(c, k)
			}
		}
	}
	sign := func(h oidctest.Header) func(oidctest.Claims, *oidctest.Header) {
		return func(_ oidctest.Claims, hp *oidctest.Header) { *hp = h }
	}
	at := func(k string, d time.Duration) func(oidctest.Claims, *oidctest.Header) {
		return func(c oidctest.Claims, _ *oidctest.Header) { c[k] = time.Now().Add(d).Unix() }
	}
	with := func(method, pathQuery, contentType, body string, hdr ...string) func(*bclTest, string) *response {
		return func(bt *bclTest, tok string) *response {
			r := strings.NewReplacer("TOK", url.QueryEscape(tok))
			return bt.post(method, r.Replace(pathQuery), contentType, r.Replace(body), hdr...)
		}
	}
	ok, bad := http.StatusOK, http.StatusBadRequest
	return []bclCase{
		// Accepted (BCL-01, BCL-07, BCL-08: no CSRF check).
		{name: "A/typ logout+jwt", want: ok},
		{name: "A/typ JWT", edit: sign(oidctest.Header{Typ: "JWT"}), want: ok},
		{name: "A/typ absent", edit: sign(oidctest.Header{Extra: map[string]any{"typ": nil}}), want: ok},
		{name: "A/aud array, extra claim", edit: func(c oidctest.Claims, _ *oidctest.Header) {
			c["aud"], c["trace"] = []string{oidctest.ClientID}, "x"
		}, want: ok},
		{name: "A/charset", send: with("POST", "", formType+"; charset=UTF-8", "logout_token=TOK"), want: ok},
		{name: "A/cross-site, no cookie CSRF check", send: with("POST", "", formType, "logout_token=TOK",
			"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"), want: ok},
		// BCL-02, BCL-03.
		{name: "R/alg none", edit: sign(oidctest.Header{Sign: oidctest.SignNone}), want: bad, why: "signing algorithm"},
		{name: "R/alg None", edit: sign(oidctest.Header{Sign: oidctest.SignNone, Alg: "None"}), want: bad, why: "signing algorithm"},
		{name: "R/alg NONE", edit: sign(oidctest.Header{Sign: oidctest.SignNone, Alg: "NONE"}), want: bad, why: "signing algorithm"},
		{name: "R/ES256 when RS256 is pinned", edit: sign(oidctest.Header{Sign: oidctest.SignES256}), want: bad, why: "signing algorithm"},
		{name: "R/HS256 alg confusion", edit: sign(oidctest.Header{Sign: oidctest.SignHS256Confusion}), want: bad, why: "signing algorithm"},
		{name: "R/bad signature", edit: sign(oidctest.Header{Sign: oidctest.SignCorrupted}), want: bad, why: "signature invalid"},
		{name: "R/jku to the attacker's keys", edit: sign(oidctest.Header{Sign: oidctest.SignJKU}), want: bad, why: "unknown key"},
		// BCL-04.
		{name: "R/wrong iss", edit: set("iss", "https://evil.example"), want: bad, why: "wrong issuer"},
		{name: "R/wrong aud", edit: set("aud", "other-client"), want: bad, why: "wrong audience"},
		// BCL-05.
		{name: "R/events missing", edit: del("events"), want: bad, why: "events missing"},
		{name: "R/events not an object", edit: set("events", logoutEvent), want: bad, why: "malformed claims"},
		{name: "R/wrong event URI", edit: set("events", map[string]any{"http://schemas.openid.net/event/foobar": map[string]any{}}), want: bad, why: "events missing"},
		{name: "R/event value not an object", edit: set("events", map[string]any{logoutEvent: "yes"}), want: bad, why: "not an object"},
		// BCL-06.
		{name: "R/with nonce", edit: set("nonce", "n-1"), want: bad, why: "nonce present"},
		{name: "R/an ID token", send: func(bt *bclTest, _ string) *response { return bt.postToken(bt.idToken) }, want: bad, why: "events missing"},
		// BCL-07 (replay: TestBackchannelReplay).
		{name: "R/neither sid nor sub", edit: del("sid", "sub"), want: bad, why: "neither sub nor sid"},
		{name: "R/jti missing", edit: del("jti"), want: bad, why: "jti missing"},
		{name: "R/iat missing", edit: del("iat"), want: bad, why: "iat missing"},
		{name: "R/iat in the future", edit: at("iat", 5*time.Minute), want: bad, why: "iat in the future"},
		{name: "R/iat too old", edit: at("iat", -20*time.Minute), want: bad, why: "iat too old"},
		{name: "R/exp past", edit: at("exp", -time.Second), want: bad, why: "exp in the past"},
		// BCL-08: the request.
		{name: "R/GET", send: with("GET", "?logout_token=TOK", "", ""), want: http.StatusMethodNotAllowed},
		{name: "R/PUT", send: with("PUT", "", formType, "logout_token=TOK"), want: http.StatusMethodNotAllowed},
		{name: "R/body over 64 KiB", send: with("POST", "", formType, "logout_token=TOK&pad="+strings.Repeat("a", 65<<10)), want: http.StatusRequestEntityTooLarge},
		{name: "R/token in the query only", send: with("POST", "?logout_token=TOK", formType, "x=1"), want: bad},
		{name: "R/token in the query and the body", send: with("POST", "?logout_token=TOK", formType, "logout_token=TOK"), want: bad},
		{name: "R/two logout_token values", send: with("POST", "", formType, "logout_token=TOK&logout_token=TOK"), want: bad},
		{name: "R/empty logout_token", send: with("POST", "", formType, "logout_token="), want: bad},
		{name: "R/JSON content type", send: with("POST", "", "application/json", `{"logout_token":"TOK"}`), want: bad},
		{name: "R/text/plain content type", send: with("POST", "", "text/plain", "logout_token=TOK"), want: bad},
		{name: "R/no content type", send: with("POST", "", "", "logout_token=TOK"), want: bad},
		{name: "R/unknown provider", send: with("POST", "/auth/backchannel-logout/zz", formType, "logout_token=TOK"), want: bad},
	}
}

func TestBackchannelLogout(t *testing.T) {
	cases := bclCases()
	refused := 0
	for _, tc := range cases {
		if tc.want != http.StatusOK {
			refused++
		}
	}
	t.Logf("%d cases: %d accepted, %d refused", len(cases), len(cases)-refused, refused)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bt := newBCLTest(t)
			victim := bt.login(oidctest.Subject, "sid-1")
			tok := bt.token(tc.edit)
			send := tc.send
			if send == nil {
				send = func(bt *bclTest, tok string) *response { return bt.postToken(tok) }
			}
			r := send(bt, tok)
			if r.StatusCode != tc.want {
				t.Fatalf("status %d, want %d; body %q\nlogs:\n%s", r.StatusCode, tc.want, r.body, bt.logs.String())
			}
			if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
			for where, text := range map[string]string{"body": r.body, "logs": bt.logs.String()} {
				for _, part := range strings.Split(tok, ".") {
					if len(part) >= 8 && strings.Contains(text, part) {
						t.Errorf("%s reveals the token", where)
					}
				}
			}
			if tc.want == http.StatusOK {
				if r.body != "" || bt.revocations() != 1 {
					t.Errorf("body %q, %d revocations", r.body, bt.revocations())
				}
				if code := bt.private(victim); code != http.StatusUnauthorized {
					t.Errorf("session after its back-channel logout: %d, want 401", code)
				}
				return
			}
			if r.body != `{"error":"invalid_request"}`+"\n" {
				t.Errorf("body %q", r.body)
			}
			if tc.want == http.StatusMethodNotAllowed && r.Header.Get("Allow") != http.MethodPost {
				t.Errorf("Allow %q", r.Header.Get("Allow"))
			}
			if n := bt.revocations(); n != 0 {
				t.Errorf("%d revocations recorded", n)
			}
			if code := bt.private(victim); code != http.StatusOK {
				t.Errorf("session after a refused logout: %d, want 200", code)
			}
			if !strings.Contains(bt.logs.String(), "back-channel logout refused") && tc.want != http.StatusMethodNotAllowed {
				t.Errorf("no refusal logged:\n%s", bt.logs.String())
			}
			if tc.why != "" {
				raw := tok
				if tc.name == "R/an ID token" {
					raw = bt.idToken
				}
				_, err := bt.auth.s.providers["a"].VerifyLogoutToken(context.Background(), raw)
				if err == nil || !strings.Contains(err.Error(), tc.why) {
					t.Errorf("VerifyLogoutToken: %v, want an error about %q", err, tc.why)
				}
			}
		})
	}
}

// TestBackchannelLogoutScope: a "sid" ends that provider session only; a
// "sub" alone ends every session of the user created before it arrived,
// and none of another user's or a later one.
func TestBackchannelLogoutScope(t *testing.T) {
	bt := newBCLTest(t)
	a1 := bt.login(oidctest.Subject, "sid-1")
	a2 := bt.login(oidctest.Subject, "sid-2") // same user, another provider session
	b := bt.login("user-2", "sid-b")

	if r := bt.postToken(bt.token(nil)); r.StatusCode != http.StatusOK {
		t.Fatalf("sid logout: %d %q", r.StatusCode, r.body)
	}
	for name, want := range map[string]int{"a1": 401, "a2": 200, "b": 200} {
		if code := bt.private(map[string][]*http.Cookie{"a1": a1, "a2": a2, "b": b}[name]); code != want {
			t.Errorf("after sid logout, session %s: %d, want %d", name, code, want)
		}
	}

	a3 := bt.login(oidctest.Subject, "sid-3")
	time.Sleep(time.Millisecond) // a3.Created < the token's arrival
	if r := bt.postToken(bt.token(func(c oidctest.Claims, _ *oidctest.Header) { delete(c, "sid") })); r.StatusCode != http.StatusOK {
		t.Fatalf("sub logout: %d %q", r.StatusCode, r.body)
	}
	a4 := bt.login(oidctest.Subject, "sid-4") // signs in again afterwards
	for name, want := range map[string]int{"a2": 401, "a3": 401, "b": 200, "a4": 200} {
		if code := bt.private(map[string][]*http.Cookie{"a2": a2, "a3": a3, "b": b, "a4": a4}[name]); code != want {
			t.Errorf("after sub logout, session %s: %d, want %d", name, code, want)
		}
	}
	if logs := bt.logs.String(); strings.Count(logs, "event=logout provider=a logout=backchannel") != 2 {
		t.Errorf("want two back-channel logout events:\n%s", logs)
	}
}

// TestBackchannelLogoutSIDAndSubject: a logout token with both "sid" and
// "sub" ends the user's sessions of that provider session and the user's
// sessions without a sid (their ID token had none), as one entry; not the
// user's other provider sessions, another user's, or sessions opened
// afterwards.
func TestBackchannelLogoutSIDAndSubject(t *testing.T) {
	bt := newBCLTest(t)
	sessions := map[string][]*http.Cookie{
		"sid-1":       bt.login(oidctest.Subject, "sid-1"),
		"sid-2":       bt.login(oidctest.Subject, "sid-2"),
		"no sid":      bt.login(oidctest.Subject, ""),
		"other user":  bt.login("user-2", ""),
		"other sid-1": bt.login("user-2", "sid-1"),
	}
	time.Sleep(time.Millisecond) // the sessions are created before the token arrives
	var ended []session.Revocation
	bt.auth.s.OnLogout = func(_ context.Context, r session.Revocation) { ended = append(ended, r) }
	if r := bt.postToken(bt.token(nil)); r.StatusCode != http.StatusOK {
		t.Fatalf("sid+sub logout: %d %q", r.StatusCode, r.body)
	}
	sessions["no sid, later"] = bt.login(oidctest.Subject, "")
	want := map[string]int{"sid-1": 401, "no sid": 401, "sid-2": 200, "other user": 200, "other sid-1": 200, "no sid, later": 200}
	for name, cookies := range sessions {
		if code := bt.private(cookies); code != want[name] {
			t.Errorf("session %s: %d, want %d", name, code, want[name])
		}
	}
	if n := bt.revocations(); n != 1 {
		t.Errorf("%d revocation keys, want 1", n)
	}
	if len(ended) != 1 || ended[0].Subject != oidctest.Subject || ended[0].SID != "sid-1" || ended[0].ID != "" || !ended[0].WellFormed() {
		t.Errorf("OnLogout saw %+v, want one sid+sub revocation", ended)
	}
}

// TestReplaySetBound: the in-memory replay set holds at most its bound of
// live tokens and never evicts one to make room (each stays refused as a
// replay); a token past the bound is reported, not silently forgotten;
// room returns as tokens expire.
func TestReplaySetBound(t *testing.T) {
	now := time.Now()
	ctx := context.Background()
	rs := newMemoryReplaySet(4, func() time.Time { return now })
	for i := range 4 {
		if fresh, err := rs.add(ctx, "a", fmt.Sprint("j", i), now.Add(time.Duration(i+1)*time.Minute)); !fresh || err != nil {
			t.Fatalf("token %d: fresh %v, %v", i, fresh, err)
		}
	}
	_, err := rs.add(ctx, "a", "j4", now.Add(time.Hour))
	if !errors.Is(err, bounded.ErrFull) || reasonOf(err) != "replay_set_full" {
		t.Fatalf("past the bound: %v, want replay_set_full", err)
	}
	for i := range 4 {
		if fresh, err := rs.add(ctx, "a", fmt.Sprint("j", i), now.Add(time.Hour)); fresh || err != nil {
			t.Fatalf("token %d, full set: fresh %v, %v; want a replay", i, fresh, err)
		}
	}
	now = now.Add(time.Minute) // j0 expires
	if fresh, err := rs.add(ctx, "a", "j4", now.Add(time.Hour)); !fresh || err != nil {
		t.Fatalf("after an expiry: fresh %v, %v", fresh, err)
	}
	rs.forget(ctx, "a", "j4")
	if fresh, _ := rs.add(ctx, "a", "j4", now.Add(time.Hour)); !fresh {
		t.Fatal("a forgotten token is still a replay")
	}
}

// TestBackchannelReplaySetFull: with the replay set full, a valid logout
// token still ends its sessions (the documented policy: a refused logout
// would leave them alive), and the failure is logged; that token is then
// not protected against replay.
func TestBackchannelReplaySetFull(t *testing.T) {
	bt := newBCLTest(t)
	victim := bt.login(oidctest.Subject, "sid-1")
	b := newBackchannel(bt.auth)
	b.replay = newMemoryReplaySet(1, time.Now)
	b.replay.add(context.Background(), "a", "filler", time.Now().Add(time.Hour))
	post := func(tok string) int {
		req := httptest.NewRequest(http.MethodPost, bt.app.URL+"/auth/backchannel-logout/a", strings.NewReader("logout_token="+url.QueryEscape(tok)))
		req.Header.Set("Content-Type", formType)
		req.SetPathValue("provider", "a")
		rec := httptest.NewRecorder()
		b.ServeHTTP(rec, req)
		return rec.Code
	}
	tok := bt.token(nil)
	if code := post(tok); code != http.StatusOK {
		t.Fatalf("logout with the replay set full: %d\n%s", code, bt.logs)
	}
	if code := bt.private(victim); code != http.StatusUnauthorized {
		t.Errorf("session after its logout: %d, want 401", code)
	}
	if logs := bt.logs.String(); !strings.Contains(logs, "reason=replay_set_full") || !strings.Contains(logs, "level=ERROR") {
		t.Errorf("the unremembered token was not logged as an error:\n%s", logs)
	}
	if code := post(tok); code != http.StatusOK {
		t.Errorf("replay of the unremembered token: %d (the documented cost is that it is accepted)", code)
	}
}

// TestBackchannelReplay: the same token posted again (same jti) is
// refused and has no second effect: with only a "sub", a replay would end
// the session the user opened since.
func TestBackchannelReplay(t *testing.T) {
	bt := newBCLTest(t)
	bt.login(oidctest.Subject, "sid-1")
	tok := bt.token(func(c oidctest.Claims, _ *oidctest.Header) { delete(c, "sid") })
	if r := bt.postToken(tok); r.StatusCode != http.StatusOK {
		t.Fatalf("first post: %d", r.StatusCode)
	}
	later := bt.login(oidctest.Subject, "sid-2")
	r := bt.postToken(tok)
	if r.StatusCode != http.StatusBadRequest || r.body != `{"error":"invalid_request"}`+"\n" {
		t.Errorf("replay: %d %q, want 400", r.StatusCode, r.body)
	}
	if code := bt.private(later); code != http.StatusOK {
		t.Errorf("session opened after the logout, after the replay: %d, want 200", code)
	}
	if !strings.Contains(bt.logs.String(), "reason=replayed_jti") {
		t.Errorf("replay not logged as such:\n%s", bt.logs.String())
	}
	// Another provider's token with the same jti is not a replay.
	now := time.Now()
	rs := newMemoryReplaySet(8, func() time.Time { return now })
	ctx := context.Background()
	if fresh, err := rs.add(ctx, "a", "j", now.Add(time.Minute)); !fresh || err != nil {
		t.Fatalf("first jti: fresh %v, %v", fresh, err)
	}
	if fresh, _ := rs.add(ctx, "a", "j", now.Add(time.Minute)); fresh {
		t.Error("same jti, same provider: fresh")
	}
	if fresh, _ := rs.add(ctx, "b", "j", now.Add(time.Minute)); !fresh {
		t.Error("same jti, other provider: not fresh")
	}
	now = now.Add(2 * time.Minute)
	if fresh, _ := rs.add(ctx, "a", "j", now.Add(time.Minute)); !fresh {
		t.Error("jti still remembered after the token expired")
	}
}

// TestBackchannelJWKSRateLimit is NET-05: 1000 logout posts with random
// kids make at most 2 JWKS fetches; valid tokens keep working.
func TestBackchannelJWKSRateLimit(t *testing.T) {
	bt := newBCLTest(t)
	before := len(bt.op.Requests(oidctest.PathJWKS))
	var wg sync.WaitGroup
	for g := range 20 {
		wg.Go(func() {
			for i := g; i < 1000; i += 20 {
				tok := bt.token(func(_ oidctest.Claims, h *oidctest.Header) {
					*h = oidctest.Header{Sign: oidctest.SignRS256Unpublished, Kid: randHex(8)}
				})
				if r := bt.postToken(tok); r.StatusCode != http.StatusBadRequest {
					t.Errorf("random kid: %d", r.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	fetches := len(bt.op.Requests(oidctest.PathJWKS)) - before
	t.Logf("1000 posts with random kids: %d JWKS fetch(es)", fetches)
	if fetches > 2 {
		t.Errorf("%d JWKS fetches, want at most 2", fetches)
	}
	if r := bt.postToken(bt.token(nil)); r.StatusCode != http.StatusOK {
		t.Errorf("valid token after the flood: %d", r.StatusCode)
	}
	if n := len(bt.op.Requests(oidctest.PathJWKS)) - before; n != fetches {
		t.Errorf("a valid token made %d more JWKS fetches", n-fetches)
	}
}
