package middleware

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/session"
)

// TestBackchannelLogoutFromDevoidc: the user's session ends at the
// provider (devoidc), which POSTs a logout token to the app; the app's
// session, cookie still in the browser, stops working.
func TestBackchannelLogoutFromDevoidc(t *testing.T) {
	for _, tls := range []bool{true, false} {
		var ended []session.Revocation
		e := newE2E(t, tls, func(c *Config) {
			c.OnLogout = func(ctx context.Context, r session.Revocation) { ended = append(ended, r) }
		})
		refreshApp(e)
		e.login()
		api := map[string]string{"Accept": "application/json", "Sec-Fetch-Mode": "cors"}
		if resp, _ := e.do("GET", "/token", api); resp.StatusCode != 200 {
			t.Fatalf("before: %d", resp.StatusCode)
		}
		if n := e.op.EndSessions("ada"); n != 1 {
			t.Fatalf("devoidc ended %d sessions, want 1", n)
		}
		deadline := time.Now().Add(10 * time.Second)
		for e.op.Stats().BackchannelSent == 0 {
			if time.Now().After(deadline) || e.op.Stats().BackchannelFailed > 0 {
				t.Fatalf("no logout token delivered: %+v", e.op.Stats())
			}
			time.Sleep(20 * time.Millisecond)
		}
		if resp, _ := e.do("GET", "/token", api); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("tls %v: session after the back-channel logout: %d, want 401", tls, resp.StatusCode)
		}
		if len(ended) != 1 || ended[0].Provider != "dev" || ended[0].SID == "" {
			t.Fatalf("OnLogout saw %+v", ended)
		}
	}
}

// TestLogoutNeedsSameOriginPost: a cross-site GET (an <img> on another
// site) and a cross-origin POST do not sign out; the GET shows the
// confirmation page.
func TestLogoutNeedsSameOriginPost(t *testing.T) {
	e := newE2E(t, false)
	refreshApp(e)
	cookies := e.login()
	for _, tc := range []struct {
		method string
		hdr    map[string]string
		status int
	}{
		{"GET", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "image"}, 200},
		{"POST", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403},
		{"POST", map[string]string{"Origin": "https://evil.example"}, 403},
		{"POST", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://sub.127.0.0.1"}, 403},
	} {
		rec := serve(e.auth.Handler(), tc.method, e.app.URL+"/auth/logout", tc.hdr, cookies...)
		if rec.Code != tc.status || len(rec.Result().Cookies()) != 0 {
			t.Fatalf("%s %v: status %d, %d cookies set", tc.method, tc.hdr, rec.Code, len(rec.Result().Cookies()))
		}
		if code, _, _ := get(t, e.app.URL+"/token", cookies); code != 200 {
			t.Fatalf("%s %v signed the user out", tc.method, tc.hdr)
		}
	}
}

// TestLogoutWhenProviderDown: the provider's revocation and end_session
// endpoints are unreachable; the local logout still completes at once and
// the copied cookie is refused.
func TestLogoutWhenProviderDown(t *testing.T) {
	lt, cookies, h := refreshFixture(t, loginOptions{})
	lt.op.Close()
	rec := serve(lt.auth.Handler(), "POST", lt.app.URL+"/auth/logout", map[string]string{"Origin": lt.app.URL}, cookies...)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("logout with the provider down: %d", rec.Code)
	}
	if rec := call(h, cookies, nil); rec.Code != http.StatusUnauthorized {
		t.Fatalf("copied cookie after logout: %d", rec.Code)
	}
	lt.auth.background.Wait()
	if !strings.Contains(lt.logs.String(), "event=logout provider=a logout=local") {
		t.Fatalf("logs: %s", lt.logs)
	}
}

// TestLogoutReturnPaths: the post-logout destination obeys the login's
// return-path rule, and a return from the provider without this browser's
// state (missing, wrong, repeated) triggers nothing but the signed-out page.
func TestLogoutReturnPaths(t *testing.T) {
	e := newE2E(t, false)
	refreshApp(e)
	same := map[string]string{"Origin": e.app.URL}
	for _, tc := range []struct{ returnTo, want, action string }{
		{"/reports?x=1", "/reports?x=1", "/auth/logout?return_to=%2Freports%3Fx%3D1"},
		{"//evil.example", "/", "/auth/logout"},
		{"https://evil.example/", "/", "/auth/logout"},
		{"/%5Cevil.example", "/", "/auth/logout"},
	} {
		cookies := e.login()
		// The sign-out page's form carries the validated return path.
		page := serve(e.auth.Handler(), "GET", e.app.URL+"/auth/logout?return_to="+url.QueryEscape(tc.returnTo), nil, cookies...).Body.String()
		if !strings.Contains(page, `action="`+tc.action+`"`) {
			t.Errorf("return_to %q: the sign-out form's action is not %q:\n%s", tc.returnTo, tc.action, page)
		}
		rec := serve(e.auth.Handler(), "POST", e.app.URL+"/auth/logout?return_to="+url.QueryEscape(tc.returnTo), same, cookies...)
		end, _ := url.Parse(rec.Header().Get("Location"))
		if rec.Code != http.StatusSeeOther || end.Query().Get("state") == "" {
			t.Fatalf("logout: %d %s", rec.Code, rec.Header().Get("Location"))
		}
		var flow []*http.Cookie
		for _, c := range rec.Result().Cookies() {
			if strings.Contains(c.Name, "logout.") {
				flow = append(flow, c)
			}
		}
		for _, q := range []string{"", "state=", "state=wrong", "state=" + end.Query().Get("state") + "&state=x"} {
			rec := serve(e.auth.Handler(), "GET", e.app.URL+"/auth/logout/callback?"+q, nil, flow...)
			if rec.Code != 200 || rec.Header().Get("Location") != "" || !strings.Contains(rec.Body.String(), "You are signed out") {
				t.Fatalf("logout callback %q: %d %q", q, rec.Code, rec.Header().Get("Location"))
			}
		}
		rec = serve(e.auth.Handler(), "GET", e.app.URL+"/auth/logout/callback?state="+end.Query().Get("state"), nil, flow...)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != tc.want {
			t.Fatalf("return_to %q: %d Location %q, want %q", tc.returnTo, rec.Code, rec.Header().Get("Location"), tc.want)
		}
	}
}

// addFailingRevocations is a RevocationStore that answers Revoked (from an
// empty list) but cannot record anything.
type addFailingRevocations struct{}

func (addFailingRevocations) Add(context.Context, session.Revocation) error {
	return errors.New("disk full")
}
func (addFailingRevocations) Revoked(context.Context, *session.Session) (bool, error) {
	return false, nil
}

// TestLogoutRevocationNotRecorded: when the revocation list cannot record
// the logout, the browser's cookies are still cleared, but the logout
// answers through the ErrorHandler with ErrStoreUnavailable (503, reason
// revocation_store) instead of redirecting as if the copied cookie had
// stopped working; EndSessions returns an error wrapping it.
func TestLogoutRevocationNotRecorded(t *testing.T) {
	lt, cookies, h := refreshFixture(t, loginOptions{})
	lt.auth.s.Revocations = addFailingRevocations{}
	rec := serve(lt.auth.Handler(), "POST", lt.app.URL+"/auth/logout", map[string]string{"Origin": lt.app.URL}, cookies...)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Location") != "" {
		t.Fatalf("logout not recorded: %d Location %q, want 503 and no redirect", rec.Code, rec.Header().Get("Location"))
	}
	if !sessionCleared(rec) {
		t.Errorf("the session cookie was not cleared: %v", rec.Result().Cookies())
	}
	err := lt.lastErr()
	if !errors.Is(err, ErrStoreUnavailable) || reasonOf(err) != "revocation_store" {
		t.Fatalf("ErrorHandler got %v (reason %q), want ErrStoreUnavailable, revocation_store", err, reasonOf(err))
	}
	if rec := call(h, cookies, nil); rec.Code != http.StatusOK {
		t.Fatalf("the copied cookie (nothing recorded): %d", rec.Code)
	}
	if !strings.Contains(lt.logs.String(), "event=store_error provider=a reason=revocation_store logout=local status=503") {
		t.Errorf("not logged:\n%s", lt.logs)
	}
	if err := lt.auth.EndSessions(context.Background(), "a", "ada"); !errors.Is(err, ErrStoreUnavailable) {
		t.Fatalf("EndSessions = %v, want ErrStoreUnavailable", err)
	}
	lt.auth.background.Wait()
}
