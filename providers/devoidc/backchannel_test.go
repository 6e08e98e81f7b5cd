package devoidc

import (
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

func TestBackchannelDelivery(t *testing.T) {
	const retry = 200 * time.Millisecond
	tests := []struct {
		name        string
		statuses    []int
		unreachable bool
		wantPosts   int
		wantSent    int
		wantLog     string
	}{
		{name: "200", statuses: []int{200}, wantPosts: 1, wantSent: 1, wantLog: "back-channel logout delivered"},
		{name: "204", statuses: []int{204}, wantPosts: 1, wantSent: 1, wantLog: "back-channel logout delivered"},
		{name: "500 then 200 is retried", statuses: []int{500, 200}, wantPosts: 2, wantSent: 1, wantLog: "back-channel logout delivered"},
		{name: "503 twice fails", statuses: []int{503}, wantPosts: 2, wantLog: "back-channel logout failed"},
		{name: "400 is not retried", statuses: []int{400}, wantPosts: 1, wantLog: "back-channel logout refused"},
		{name: "202 is not retried", statuses: []int{202}, wantPosts: 1, wantLog: "back-channel logout failed"},
		{name: "redirect is not followed", statuses: []int{303}, wantPosts: 2, wantLog: "back-channel logout failed"},
		{name: "unreachable", unreachable: true, wantPosts: 0, wantLog: "back-channel logout failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uri := ""
			var rp *bcRP
			if tt.unreachable {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				uri = "http://" + ln.Addr().String() + "/bc"
				ln.Close()
			} else {
				rp = newBCRP(t, tt.statuses...)
				uri = rp.url("/bc")
			}
			logs := &logBuffer{}
			o := newTestOP(t, withBackchannel(map[string]string{testClientID: uri}), withRetryDelay(retry), withLogs(logs))
			o.tokens()
			o.endSession()
			o.op.bcPending.Wait()

			wantFailed := 1 - tt.wantSent
			if st := o.op.Stats(); st.BackchannelSent != tt.wantSent || st.BackchannelFailed != wantFailed {
				t.Errorf("BackchannelSent, BackchannelFailed = %d, %d, want %d, %d", st.BackchannelSent, st.BackchannelFailed, tt.wantSent, wantFailed)
			}
			var posts []bcPost
			if rp != nil {
				posts = rp.received("")
			}
			if len(posts) != tt.wantPosts {
				t.Fatalf("the RP received %d requests, want %d", len(posts), tt.wantPosts)
			}
			var token string
			for i, p := range posts {
				if p.path != "/bc" {
					t.Errorf("request %d went to %s: a redirect was followed", i, p.path)
				}
				got := wantLogoutPost(t, p)
				if i == 0 {
					token = got
				} else if got != token {
					t.Error("the retry carried a different logout token")
				}
				if i > 0 && p.at.Sub(posts[i-1].at) < retry {
					t.Errorf("retry after %v, want at least %v", p.at.Sub(posts[i-1].at), retry)
				}
			}
			if token != "" {
				ctx, provider := o.goOIDC()
				if _, err := provider.Verifier(&oidc.Config{ClientID: testClientID}).VerifyLogout(ctx, token); err != nil {
					t.Errorf("VerifyLogout: %v", err)
				}
			}
			out := logs.String()
			if !strings.Contains(out, tt.wantLog) || !strings.Contains(out, "client_id="+testClientID) {
				t.Errorf("logs lack %q for the client:\n%s", tt.wantLog, out)
			}
			if token != "" && strings.Contains(out, strings.Split(token, ".")[2]) {
				t.Error("the logout token was logged")
			}
		})
	}
}

// TestLogoutToken checks the logout token against the ID token of the
// session, with go-oidc's VerifyLogout, and checks what go-oidc does not:
// typ, kid, exp and the absence of nonce even though the ID token has one.
func TestLogoutToken(t *testing.T) {
	for _, rotate := range []bool{false, true} {
		name := "current key"
		if rotate {
			name = "after key rotation"
		}
		t.Run(name, func(t *testing.T) {
			rp := newBCRP(t, http.StatusOK)
			o := newTestOP(t, withBackchannel(map[string]string{testClientID: rp.url("/bc")}))
			ctx, provider := o.goOIDC()
			idToken, err := provider.Verifier(&oidc.Config{ClientID: testClientID}).Verify(ctx, str(o.tokens(), "id_token"))
			if err != nil {
				t.Fatal(err)
			}
			var idClaims struct {
				SID   string `json:"sid"`
				Nonce string `json:"nonce"`
			}
			if err := idToken.Claims(&idClaims); err != nil || idClaims.SID == "" || idClaims.Nonce != testNonce {
				t.Fatalf("ID token claims %+v, %v: want a sid and the nonce", idClaims, err)
			}
			if rotate {
				if err := o.op.RotateKey(); err != nil {
					t.Fatal(err)
				}
			}
			o.endSession()
			o.op.bcPending.Wait()
			posts := rp.received("/bc")
			if len(posts) != 1 {
				t.Fatalf("the RP received %d requests, want 1", len(posts))
			}
			raw := wantLogoutPost(t, posts[0])

			lt, err := provider.Verifier(&oidc.Config{ClientID: testClientID}).VerifyLogout(ctx, raw)
			if err != nil {
				t.Fatalf("VerifyLogout: %v", err)
			}
			if lt.Subject != idToken.Subject || lt.SessionID != idClaims.SID {
				t.Errorf("sub, sid = %q, %q; want the ID token's %q, %q", lt.Subject, lt.SessionID, idToken.Subject, idClaims.SID)
			}
			if lt.Issuer != o.op.Issuer() || !slices.Equal(lt.Audience, []string{testClientID}) || lt.TokenID == "" {
				t.Errorf("iss, aud, jti = %q, %q, %q", lt.Issuer, lt.Audience, lt.TokenID)
			}
			if d := lt.Expiry.Sub(lt.IssuedAt); d != 2*time.Minute {
				t.Errorf("exp - iat = %v, want 2m", d)
			}
			if d := time.Since(lt.IssuedAt); d < -time.Minute || d > time.Minute {
				t.Errorf("iat is %v from now", d)
			}

			header, payload := jwtParts(t, raw)
			if header["typ"] != "logout+jwt" || header["alg"] != "RS256" || header["kid"] != o.op.keys.currentKID() {
				t.Errorf("header = %v, want typ logout+jwt, RS256 and the current kid", header)
			}
			if _, ok := payload["nonce"]; ok {
				t.Error("the logout token has a nonce")
			}
			events, _ := payload["events"].(map[string]any)
			if ev, ok := events["http://schemas.openid.net/event/backchannel-logout"].(map[string]any); !ok || len(ev) != 0 || len(events) != 1 {
				t.Errorf("events = %v, want exactly the back-channel logout event with an empty object", payload["events"])
			}
		})
	}
}

// TestBackchannelRecipients checks who is sent a logout token when a
// browser logs out: only clients with a BackchannelLogoutURI that obtained
// tokens in that browser's session, each once.
func TestBackchannelRecipients(t *testing.T) {
	tests := []struct {
		name     string
		uris     map[string]string // client ID → path on the RP
		grants   []string          // clients signed in to in the browser that logs out
		others   []string          // clients signed in to in another browser
		wantPath []string
	}{
		{
			name:     "client with a URI and a grant",
			uris:     map[string]string{testClientID: "/app"},
			grants:   []string{testClientID},
			wantPath: []string{"/app"},
		},
		{
			name:   "client without a URI",
			uris:   map[string]string{otherClientID: "/other"},
			grants: []string{testClientID},
		},
		{
			name:     "client with a grant only in another session",
			uris:     map[string]string{testClientID: "/app", otherClientID: "/other"},
			grants:   []string{testClientID},
			others:   []string{otherClientID, testClientID},
			wantPath: []string{"/app"},
		},
		{
			name:     "two clients",
			uris:     map[string]string{testClientID: "/app", specialClientID: "/special"},
			grants:   []string{specialClientID, testClientID, otherClientID},
			wantPath: []string{"/app", "/special"},
		},
		{
			name:     "two grants of one client",
			uris:     map[string]string{testClientID: "/app"},
			grants:   []string{testClientID, testClientID},
			wantPath: []string{"/app"},
		},
		{
			name: "no session",
			uris: map[string]string{testClientID: "/app"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rp := newBCRP(t, http.StatusOK)
			uris := map[string]string{}
			for id, p := range tt.uris {
				uris[id] = rp.url(p)
			}
			o := newTestOP(t, withBackchannel(uris))
			other := o.browser(t)
			for _, id := range tt.others {
				other.grantFor(id)
			}
			for _, id := range tt.grants {
				o.grantFor(id)
			}
			o.endSession()
			o.op.bcPending.Wait()

			var got []string
			for _, p := range rp.received("") {
				got = append(got, p.path)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.wantPath) {
				t.Errorf("logout tokens went to %q, want %q", got, tt.wantPath)
			}
			if st := o.op.Stats(); st.BackchannelSent != len(tt.wantPath) || st.BackchannelFailed != 0 {
				t.Errorf("BackchannelSent, BackchannelFailed = %d, %d, want %d, 0", st.BackchannelSent, st.BackchannelFailed, len(tt.wantPath))
			}
		})
	}
}

// TestBackchannelDoesNotDelayLogout checks that the browser's logout
// response does not wait for a relying party that never answers, and that
// the hung deliveries time out, are retried once and count as failed.
func TestBackchannelDoesNotDelayLogout(t *testing.T) {
	const timeout = time.Second
	release := make(chan struct{})
	var mu sync.Mutex
	attempts := 0
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		attempts++
		mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(rp.Close)
	o := newTestOP(t, withBackchannel(map[string]string{testClientID: rp.URL + "/bc"}),
		withRetryDelay(10*time.Millisecond),
		func(st *setup) { st.cfg.HTTPClient = &http.Client{Timeout: timeout} })
	t.Cleanup(func() { close(release) }) // before rp.Close, should a request still hang
	o.tokens()
	// end_session has returned while the RP still holds the delivery:
	// it did not wait for it (no timing threshold needed).
	o.endSession()
	if st := o.op.Stats(); st.BackchannelSent+st.BackchannelFailed != 0 {
		t.Errorf("delivery finished before the RP answered: %+v", st)
	}
	o.op.bcPending.Wait()
	if st := o.op.Stats(); st.BackchannelSent != 0 || st.BackchannelFailed != 1 {
		t.Errorf("BackchannelSent, BackchannelFailed = %d, %d, want 0, 1", st.BackchannelSent, st.BackchannelFailed)
	}
	mu.Lock()
	defer mu.Unlock()
	if attempts != 2 {
		t.Errorf("the RP saw %d attempts, want 2", attempts)
	}
}
