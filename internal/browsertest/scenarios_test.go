package browsertest

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/portcullis-go/portcullis/providers/devoidc"
)

// signInRealIDP goes from the protected page through the sign-in page
// and node-oidc-provider's own login and consent pages, typing the
// login and a password, back to the page with the user.
func signInRealIDP(tb *tab, app *testApp) {
	tb.t.Helper()
	tb.do("private", navigate(app.url+"/private"))
	tb.waitText("Sign in with Real provider")
	tb.do("choose the real provider", clickProvider("realidp"))
	tb.waitText("Sign-in")
	tb.do("type the login", typeInto(`input[name="login"]`, "realidp-user-1"))
	tb.do("type the password", typeInto(`input[name="password"]`, "any password"))
	tb.do("submit the login", clickCSS(`form button[type="submit"]`))
	tb.waitText("Authorize")
	tb.do("consent", clickCSS(`form button[type="submit"]`))
	tb.waitText("Hello, Real Provider User")
	if loc := tb.location(); loc != app.url+"/private" {
		tb.t.Fatalf("signed in at %s, want %s/private", loc, app.url)
	}
}

// TestRealIDPLoginForm: protected page → sign-in page → the real
// provider's login form, typed into → its consent page → back on the
// page with the user.
func TestRealIDPLoginForm(t *testing.T) {
	app := startRealIDPApp(t)
	tb := newTab(t)
	signInRealIDP(tb, app)
	if g := tb.text("#groups"); g != "1 groups staff" {
		t.Errorf("groups %q", g)
	}
}

// TestRealIDPLogoutConfirmation: "Sign out" goes through the real
// provider's logout confirmation page (RP-Initiated Logout); confirming
// comes back to the application signed out, and the next sign-in asks
// for the login again.
func TestRealIDPLogoutConfirmation(t *testing.T) {
	app := startRealIDPApp(t)
	tb := newTab(t)
	signInRealIDP(tb, app)
	tb.do("sign out", clickCSS("#signout"))
	tb.waitText("Do you want to sign-out")
	tb.do("confirm", clickCSS("#logout-yes"))
	tb.waitText("Home")
	if loc := tb.location(); loc != app.url+"/" {
		t.Errorf("after the provider's logout: %s", loc)
	}
	tb.do("private", navigate(app.url+"/private"))
	tb.waitText("Sign in with Real provider")
	tb.do("choose the real provider", clickProvider("realidp"))
	tb.waitText("Sign-in")
	if n := eval[int](tb, `document.querySelectorAll('input[name="login"]').length`); n != 1 {
		t.Errorf("the provider did not ask for the login again: %s", tb.body())
	}
}

// TestDevoidcPickUser: protected page → sign-in page → devoidc's page,
// a test user picked → back on the page with the user.
func TestDevoidcPickUser(t *testing.T) {
	app := startRealIDPApp(t) // two providers, so a sign-in page
	tb := newTab(t)
	tb.do("private", navigate(app.url+"/private"))
	tb.waitText("Sign in with Development provider")
	tb.do("choose devoidc", clickProvider("devoidc"))
	tb.waitText("Choose a test user")
	tb.do("pick Grace", clickButton("Grace Hopper"))
	tb.waitText("Hello, Grace Hopper")
}

// TestChunkedSession: a user whose tokens are too large for one cookie
// (60 groups with long names, in the ID token and the access token) gets a session in several cookies, and
// the browser sends them all back: the page shows every group.
func TestChunkedSession(t *testing.T) {
	groups := make([]string, 60)
	for i := range groups {
		groups[i] = fmt.Sprintf("group-with-a-rather-long-name-%03d", i)
	}
	app := startDevoidcApp(t, []devoidc.User{{Subject: "big", Name: "Big Tokens", Email: "big@example.com", EmailVerified: true, Groups: groups}})
	tb := newTab(t)
	tb.do("private", navigate(app.url+"/private"))
	tb.waitText("Choose a test user")
	tb.do("pick", clickButton("Big Tokens"))
	tb.waitText("Hello, Big Tokens")
	if g := tb.text("#groups"); !strings.HasPrefix(g, "60 groups") || !strings.HasSuffix(g, "group-with-a-rather-long-name-059") {
		t.Errorf("groups %q", g)
	}
	res, err := chromedp.Call(tb.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{app.url + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	size := 0
	for _, c := range res.Cookies {
		if !strings.HasPrefix(c.Name, "devoidc_") {
			names = append(names, c.Name)
			size += len(c.Value)
		}
	}
	if len(names) < 2 {
		t.Errorf("session in %d cookie(s) %v (%d bytes): not chunked", len(names), names, size)
	}
	t.Logf("session: %d cookies, %d bytes of values", len(names), size)
	// A reload sends them all again.
	tb.do("reload", chromedp.Reload())
	tb.waitText("Hello, Big Tokens")
}

// TestTwoTabs: two tabs of one browser sign in at once, each with its
// own flow; both end on the private page signed in, and stay so on
// reload (the session cookie of the later sign-in is the one both
// send).
func TestTwoTabs(t *testing.T) {
	app := startDevoidcApp(t, nil)
	a := newTab(t)
	b := a.sibling()
	tabs := []*tab{a, b}
	for _, tb := range tabs {
		tb.do("private", navigate(app.url+"/private"))
		tb.waitText("Choose a test user")
	}
	// Both sign-in pages are open: pick in both at the same moment.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, tb := range tabs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = chromedp.Do(tb.ctx, clickButton("Ada Lovelace"))
		}()
	}
	wg.Wait()
	for i, tb := range tabs {
		if errs[i] != nil {
			t.Fatalf("tab %d: %v", i+1, errs[i])
		}
		tb.waitText("Hello, Ada Lovelace")
	}
	for _, tb := range tabs {
		tb.do("reload", chromedp.Reload())
		tb.waitText("Hello, Ada Lovelace")
	}
}
