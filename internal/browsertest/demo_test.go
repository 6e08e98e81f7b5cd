package browsertest

import (
	"bufio"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// demoApp is `go run ./examples/demo`, built and started once per test
// that needs it, with the URL it printed.
type demoApp struct{ url, opURL string }

func startDemo(t *testing.T) *demoApp {
	t.Helper()
	if chromiumPath() == "" {
		t.Skip("no Chromium: set PORTCULLIS_CHROMIUM or install /usr/bin/chromium (apt-get install chromium)")
	}
	bin := demoBinary(t)
	cmd := exec.Command(bin)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	urls := make(chan [2]string, 1)
	go func() {
		var app string
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := regexp.MustCompile(`open (http://\S+)`).FindStringSubmatch(sc.Text()); m != nil {
				app = m[1]
			}
			if m := regexp.MustCompile(`development provider at (http://[^)\s]+)`).FindStringSubmatch(sc.Text()); m != nil {
				urls <- [2]string{app, m[1]}
			}
		}
	}()
	select {
	case u := <-urls:
		return &demoApp{url: u[0], opURL: u[1]}
	case <-time.After(30 * time.Second):
		t.Fatal("the demo printed no URL within 30 s")
	}
	return nil
}

var demoBin struct {
	path string
	err  string
}

// demoBinary builds examples/demo once per test binary.
func demoBinary(t *testing.T) string {
	t.Helper()
	if demoBin.path == "" && demoBin.err == "" {
		d, err := mkdirKeep("portcullis-demo-bin-")
		if err != nil {
			t.Fatal(err)
		}
		demoBin.path = goBuild(t, "./examples/demo", d)
	}
	return demoBin.path
}

// signInDemo goes from the demo's home page through the sign-in page's
// button named button and the stand-in's page, as the test user name,
// to the private page.
func signInDemo(tb *tab, d *demoApp, button, name string) {
	tb.t.Helper()
	tb.do("home", navigate(d.url+"/"))
	tb.waitText("Not signed in")
	tb.do("sign in", clickLink("Sign in"))
	tb.waitText("Sign in with " + button)
	tb.do("choose "+button, clickLink("Sign in with "+button))
	tb.waitText("Choose a test user")
	tb.do("pick "+name, clickButton(name))
	tb.waitText("Hello, " + name)
	if loc := tb.location(); loc != d.url+"/private" {
		tb.t.Fatalf("signed in at %s, want %s/private", loc, d.url)
	}
}

// TestDemoBrowser: the demo in Chromium, as a person uses it, in the
// time zone of Tokyo: the stand-in for Google, the private page (the
// script formats times in the browser's zone and counts down), Refresh
// now, Sign out with feedback, the back button showing nothing private,
// a fetch to the API signed out (401 JSON), the development provider,
// Sign out everywhere, after which the provider asks again.
func TestDemoBrowser(t *testing.T) {
	d := startDemo(t)
	tb := newTab(t)
	tb.timezone("Asia/Tokyo")
	signInDemo(tb, d, "Google (stand-in)", "Ada Lovelace")
	if got := tb.text("#provider"); got != "Google (stand-in)" {
		t.Errorf("provider shown as %q", got)
	}
	if zone := tb.text("[data-zone]"); zone != "Asia/Tokyo" {
		t.Errorf("time zone shown as %q, want Asia/Tokyo", zone)
	}
	if exp := tb.text("#expiry"); strings.Contains(exp, "UTC") || exp == "" {
		t.Errorf("expiry %q: not formatted by the browser", exp)
	}
	first := tb.text("#countdown")
	if !regexp.MustCompile(`^\d+:\d\d$`).MatchString(first) {
		t.Errorf("countdown %q", first)
	}
	time.Sleep(1100 * time.Millisecond)
	if again := tb.text("#countdown"); again == first {
		t.Errorf("countdown stays at %q", again)
	}
	if ui := tb.text("#userinfo"); !strings.Contains(ui, `"email": "ada@example.com"`) {
		t.Errorf("userinfo %q", ui)
	}
	tb.do("refresh now", clickCSS("#refresh"))
	tb.waitText("Not refreshed yet")

	tb.do("sign out", clickCSS("#signout"))
	tb.waitText("You are signed out, here and at the provider.")
	if loc := tb.location(); !strings.HasPrefix(loc, d.url+"/") {
		t.Errorf("signed out at %s", loc)
	}
	// Back: the private page is not shown from a cache.
	tb.do("back", backAndWait())
	if body := tb.body(); strings.Contains(body, "Hello, Ada") || strings.Contains(body, "ada@example.com") {
		t.Errorf("back after signing out shows private content at %s:\n%s", tb.location(), body)
	}
	// An API call from the page while signed out: 401 JSON, not a
	// redirect to a sign-in page.
	tb.do("home", navigate(d.url+"/"))
	got := eval[[]string](tb, `fetch("/api/whoami").then(async r => [String(r.status), r.headers.get("content-type") || "", r.redirected ? "redirected" : "", await r.text()])`)
	if got[0] != "401" || !strings.HasPrefix(got[1], "application/json") || got[2] != "" || !strings.HasPrefix(strings.TrimSpace(got[3]), "{") {
		t.Errorf("fetch signed out: %q", got)
	}

	// Sign out everywhere ends the provider's session too.
	signInDemo(tb, d, "Development provider", "Ada Lovelace")
	tb.do("sign out everywhere", clickCSS("#signout-everywhere"))
	tb.waitText("You are signed out everywhere")
	tb.do("private", navigate(d.url+"/private"))
	tb.waitText("Sign in with Development provider")
	tb.do("development provider", clickLink("Sign in with Development provider"))
	tb.waitText("Choose a test user")
	if loc := tb.location(); !strings.HasPrefix(loc, d.opURL) {
		t.Errorf("after signing out everywhere the provider did not ask: at %s", loc)
	}
}

// TestDemoAdminBrowser: Grace signs in with the stand-in for GitHub and
// is refused the admin page with the 403 page, not sent to sign in.
func TestDemoAdminBrowser(t *testing.T) {
	d := startDemo(t)
	tb := newTab(t)
	signInDemo(tb, d, "GitHub (stand-in)", "Grace Hopper")
	tb.do("admin", navigate(d.url+"/admin"))
	if loc := tb.location(); loc != d.url+"/admin" {
		t.Errorf("admin refused at %s", loc)
	}
	if body := tb.body(); strings.Contains(body, "Only members of the group") {
		t.Errorf("grace sees the admin page:\n%s", body)
	}
}
