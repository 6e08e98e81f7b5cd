package devoidc

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEndSession(t *testing.T) {
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	forger, _ := newKeyring(otherKey)
	tests := []struct {
		name string
		// params builds the request from the session's ID token.
		params       func(idToken string) url.Values
		pre          func(o *testOP)
		wantRedirect string // empty: the signed-out page
	}{
		{
			name: "hint, registered URI, state",
			params: func(h string) url.Values {
				return url.Values{"id_token_hint": {h}, "post_logout_redirect_uri": {testPostLogout}, "state": {"bye"}}
			},
			wantRedirect: testPostLogout + "?state=bye",
		},
		{
			name: "client_id, registered URI, no state",
			params: func(string) url.Values {
				return url.Values{"client_id": {testClientID}, "post_logout_redirect_uri": {testPostLogout}}
			},
			wantRedirect: testPostLogout,
		},
		{
			name: "hint and matching client_id",
			params: func(h string) url.Values {
				return url.Values{"id_token_hint": {h}, "client_id": {testClientID}, "post_logout_redirect_uri": {testPostLogout}, "state": {"s"}}
			},
			wantRedirect: testPostLogout + "?state=s",
		},
		{
			name: "expired hint",
			params: func(h string) url.Values {
				return url.Values{"id_token_hint": {h}, "post_logout_redirect_uri": {testPostLogout}}
			},
			pre:          func(o *testOP) { o.clock.Advance(2 * time.Hour) },
			wantRedirect: testPostLogout,
		},
		{
			name: "unregistered URI",
			params: func(h string) url.Values {
				return url.Values{"id_token_hint": {h}, "post_logout_redirect_uri": {"https://evil.example/"}, "state": {"s"}}
			},
		},
		{
			name: "registered URI with a suffix",
			params: func(h string) url.Values {
				return url.Values{"id_token_hint": {h}, "post_logout_redirect_uri": {testPostLogout + "/x"}}
			},
		},
		{
			name: "no client named",
			params: func(string) url.Values {
				return url.Values{"post_logout_redirect_uri": {testPostLogout}}
			},
		},
		{
			name: "URI of another client",
			params: func(string) url.Values {
				return url.Values{"client_id": {otherClientID}, "post_logout_redirect_uri": {testPostLogout}}
			},
		},
		{
			name: "hint for another client_id",
			params: func(h string) url.Values {
				return url.Values{"id_token_hint": {h}, "client_id": {otherClientID}, "post_logout_redirect_uri": {testPostLogout}}
			},
		},
		{
			name: "forged hint",
			params: func(h string) url.Values {
				// The same claims, signed with a key that is not ours.
				payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(h, ".")[1])
				var c idTokenClaims
				json.Unmarshal(payload, &c)
				forged, _ := forger.sign(c)
				return url.Values{"id_token_hint": {forged}, "client_id": {testClientID}, "post_logout_redirect_uri": {testPostLogout}}
			},
		},
		{
			name:   "no parameters",
			params: func(string) url.Values { return url.Values{} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newTestOP(t, withClock)
			m := o.tokens()
			params := tt.params(str(m, "id_token"))
			if tt.pre != nil {
				tt.pre(o)
			}
			resp := o.get(o.url("/end_session") + "?" + params.Encode())
			if tt.wantRedirect != "" {
				if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != tt.wantRedirect {
					t.Fatalf("got %d Location %q, want a redirect to %q", resp.StatusCode, resp.Header.Get("Location"), tt.wantRedirect)
				}
			} else {
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" ||
					!strings.Contains(string(body), "You are signed out of the development provider") {
					t.Fatalf("got %d Location %q, want the signed-out page", resp.StatusCode, resp.Header.Get("Location"))
				}
			}
			cleared := false
			for _, c := range resp.Cookies() {
				cleared = cleared || (c.Name == o.op.sessionCookie && c.MaxAge < 0 && c.Value == "")
			}
			if !cleared {
				t.Error("session cookie not deleted")
			}
			o.wantSignedOut(m)
		})
	}
}

// wantSignedOut checks that the browser has no OP session and that the
// grant of m is revoked.
func (o *testOP) wantSignedOut(m map[string]any) {
	o.t.Helper()
	_, challenge := pkce()
	q := redirectParams(o.t, o.authorize(authorizeQuery(challenge, map[string]string{"prompt": "none"})), testRedirect)
	if q.Get("error") != "login_required" {
		o.t.Errorf("prompt=none after logout: %v, want login_required", q)
	}
	if resp, _ := o.userinfo(str(m, "access_token")); resp.StatusCode != http.StatusUnauthorized {
		o.t.Errorf("access token after logout: userinfo %d, want 401", resp.StatusCode)
	}
	if resp, _ := o.refresh(str(m, "refresh_token")); resp.StatusCode != http.StatusBadRequest {
		o.t.Errorf("refresh after logout: %d, want 400", resp.StatusCode)
	}
}

// TestEndSessionByHint checks that a logout request from a browser without
// the session cookie still ends the session named by the hint's sid.
func TestEndSessionByHint(t *testing.T) {
	o := newTestOP(t)
	m := o.tokens()
	other := *o
	other.t = t
	other.client = newBrowser(t, o.srv)
	req, _ := http.NewRequest(http.MethodPost, o.url("/end_session"),
		strings.NewReader(url.Values{"id_token_hint": {str(m, "id_token")}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp := other.do(req); resp.StatusCode != http.StatusOK {
		t.Fatalf("POST end_session: %d", resp.StatusCode)
	}
	o.wantSignedOut(m)
	if st := o.op.Stats(); st.GrantsRevoked != 1 {
		t.Errorf("GrantsRevoked = %d, want 1", st.GrantsRevoked)
	}
}

// TestEndSessionLeavesOtherSessions checks that logging out one browser
// does not touch another browser's session or grants.
func TestEndSessionLeavesOtherSessions(t *testing.T) {
	o := newTestOP(t)
	other := *o
	other.t = t
	other.client = newBrowser(t, o.srv)
	keep := other.tokens()
	o.tokens()
	o.get(o.url("/end_session"))
	if resp, _ := other.userinfo(str(keep, "access_token")); resp.StatusCode != http.StatusOK {
		t.Errorf("other browser's access token: %d", resp.StatusCode)
	}
	_, challenge := pkce()
	q := redirectParams(t, other.authorize(authorizeQuery(challenge, map[string]string{"prompt": "none"})), testRedirect)
	if q.Get("code") == "" {
		t.Errorf("other browser lost its session: %v", q)
	}
}

// TestEndSessionClients checks that endSession reports every client that
// held a grant under the session, once: the recipients of back-channel
// logout.
func TestEndSessionClients(t *testing.T) {
	o := newTestOP(t)
	o.tokens()
	o.tokens()
	verifier, _ := pkce()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {o.codeFor(specialClientID, verifier)},
		"code_verifier": {verifier}, "redirect_uri": {testRedirect}}
	if resp, m := o.postForm("/token", form, specialClientID, specialSecret); resp.StatusCode != http.StatusOK {
		t.Fatalf("exchange for %s: %d %v", specialClientID, resp.StatusCode, m)
	}
	u, _ := url.Parse(o.url("/"))
	var handle string
	for _, c := range o.client.Jar.Cookies(u) {
		if c.Name == o.op.sessionCookie {
			handle = c.Value
		}
	}
	sess, ok := o.op.store.session(o.op.now(), handle)
	if !ok {
		t.Fatal("the browser has no OP session")
	}
	got := o.op.endSession(sess)
	if want := []string{testClientID, specialClientID}; !slices.Equal(got, want) {
		t.Errorf("endSession = %q, want %q", got, want)
	}
	if st := o.op.Stats(); st.GrantsRevoked != 3 {
		t.Errorf("GrantsRevoked = %d, want 3", st.GrantsRevoked)
	}
}

// signInAs gives the browser an OP session for subject directly, for users
// other than AutoLogin.
func (o *testOP) signInAs(subject string) {
	o.t.Helper()
	handle, now := randomToken(), o.op.now()
	o.op.store.putSession(now, handle, opSession{sid: randomToken()[:22], subject: subject, authTime: now, expires: now.Add(time.Hour)})
	u, _ := url.Parse(o.url("/"))
	o.client.Jar.SetCookies(u, []*http.Cookie{{Name: o.op.sessionCookie, Value: handle, Path: "/"}})
}

// wantSignedIn checks that the browser still has its OP session and that
// the grant of m is alive.
func (o *testOP) wantSignedIn(m map[string]any) {
	o.t.Helper()
	_, challenge := pkce()
	q := redirectParams(o.t, o.authorize(authorizeQuery(challenge, map[string]string{"prompt": "none"})), testRedirect)
	if q.Get("code") == "" {
		o.t.Errorf("prompt=none: %v, want a code", q)
	}
	if resp, _ := o.userinfo(str(m, "access_token")); resp.StatusCode != http.StatusOK {
		o.t.Errorf("access token: userinfo %d, want 200", resp.StatusCode)
	}
}

// TestEndSessions checks that EndSessions ends every session of one user,
// in every browser, sends a logout token for each, and leaves other users
// alone.
func TestEndSessions(t *testing.T) {
	tests := []struct {
		subject string
		want    int
	}{
		{"ada", 2},
		{"grace", 1},
		{"nobody", 0},
	}
	for _, tt := range tests {
		t.Run(tt.subject, func(t *testing.T) {
			rp := newBCRP(t, http.StatusOK)
			o := newTestOP(t, withBackchannel(map[string]string{testClientID: rp.url("/bc")}))
			type signedIn struct {
				b        *testOP
				sub, sid string
				tokens   map[string]any
			}
			var browsers []signedIn
			for _, sub := range []string{"ada", "ada", "grace"} {
				b := o.browser(t)
				if sub != "ada" {
					b.signInAs(sub)
				}
				m := b.tokens()
				_, claims := jwtParts(t, str(m, "id_token"))
				if claims["sub"] != sub {
					t.Fatalf("signed in as %v, want %s", claims["sub"], sub)
				}
				browsers = append(browsers, signedIn{b, sub, claims["sid"].(string), m})
			}

			if got := o.op.EndSessions(tt.subject); got != tt.want {
				t.Errorf("EndSessions(%q) = %d, want %d", tt.subject, got, tt.want)
			}
			o.op.bcPending.Wait()
			var gotSIDs, wantSIDs []string
			for _, p := range rp.received("/bc") {
				_, claims := jwtParts(t, wantLogoutPost(t, p))
				if claims["sub"] != tt.subject {
					t.Errorf("logout token for sub %v, want %s", claims["sub"], tt.subject)
				}
				gotSIDs = append(gotSIDs, claims["sid"].(string))
			}
			for _, b := range browsers {
				if b.sub == tt.subject {
					wantSIDs = append(wantSIDs, b.sid)
					b.b.wantSignedOut(b.tokens)
				} else {
					b.b.wantSignedIn(b.tokens)
				}
			}
			slices.Sort(gotSIDs)
			slices.Sort(wantSIDs)
			if !slices.Equal(gotSIDs, wantSIDs) {
				t.Errorf("logout tokens for sids %q, want %q", gotSIDs, wantSIDs)
			}
			if st := o.op.Stats(); st.BackchannelSent != tt.want || st.BackchannelFailed != 0 {
				t.Errorf("BackchannelSent, BackchannelFailed = %d, %d, want %d, 0", st.BackchannelSent, st.BackchannelFailed, tt.want)
			}
			if got := o.op.EndSessions(tt.subject); got != 0 {
				t.Errorf("second EndSessions(%q) = %d, want 0", tt.subject, got)
			}
		})
	}
}

// TestEndSessionsReplacedSession checks that EndSessions also reaches the
// clients of a session that a newer sign-in in the same browser replaced:
// their grants outlive the session, and so do the RPs' sessions.
func TestEndSessionsReplacedSession(t *testing.T) {
	rp := newBCRP(t, http.StatusOK)
	o := newTestOP(t, withBackchannel(map[string]string{testClientID: rp.url("/bc")}))
	old := o.tokens()
	_, oldClaims := jwtParts(t, str(old, "id_token"))
	o.code(map[string]string{"prompt": "login"}) // a new session, without a grant yet
	if got := o.op.EndSessions("ada"); got != 2 {
		t.Errorf("EndSessions = %d, want 2 (the replaced session and the new one)", got)
	}
	o.op.bcPending.Wait()
	posts := rp.received("/bc")
	if len(posts) != 1 {
		t.Fatalf("the RP received %d logout tokens, want 1", len(posts))
	}
	if _, claims := jwtParts(t, wantLogoutPost(t, posts[0])); claims["sid"] != oldClaims["sid"] {
		t.Errorf("logout token sid %v, want the replaced session's %v", claims["sid"], oldClaims["sid"])
	}
	o.wantSignedOut(old)
}
