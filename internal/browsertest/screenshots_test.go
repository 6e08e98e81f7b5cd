package browsertest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestScreenshots visits every built-in page of portcullis and the
// demo's pages, signed out and signed in, at 390 px (an emulated phone)
// and 1280 px, light and dark, and fails when one overflows
// horizontally at 390 px (the demo's own pages at 360 px too). It saves a
// full-page screenshot of each into PORTCULLIS_SCREENSHOTS (created if
// need be), or into the test's temp dir, to look at.
func TestScreenshots(t *testing.T) {
	d := startDemo(t)
	tb := newTab(t)
	dir := os.Getenv("PORTCULLIS_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	n := 0
	shoot := func(name, url string, demoPage bool) {
		t.Helper()
		widths := []int{390, 1280}
		if demoPage {
			widths = []int{360, 390, 1280}
		}
		for _, scheme := range []string{"light", "dark"} {
			for _, w := range widths {
				tb.viewport(int64(w), w < 1000, scheme)
				tb.do(name, navigate(url))
				if w < 1000 {
					if o := tb.overflow(w); o != "" {
						t.Errorf("%s (%s) at %d px overflows: %s", name, url, w, o)
					}
				}
				if w == 360 {
					continue // checked, not kept: 390 shows the phone
				}
				png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
				if err != nil {
					t.Fatalf("screenshot of %s: %v", name, err)
				}
				file := filepath.Join(dir, fmt.Sprintf("%s-%d-%s.png", name, w, scheme))
				if err := os.WriteFile(file, png, 0o644); err != nil {
					t.Fatal(err)
				}
				n++
			}
		}
	}
	// Signed out.
	shoot("demo-home", d.url+"/", true)
	shoot("demo-home-signed-out-everywhere", d.url+"/?signed_out=everywhere", true)
	shoot("chooser", d.url+"/auth/login?return_to=%2Fprivate", false)
	shoot("devoidc-sign-in", d.url+"/auth/login/devoidc?return_to=%2Fprivate", false)
	shoot("logout-signed-out", d.url+"/auth/logout", false)
	shoot("signed-out", d.url+"/auth/logout/callback", false)
	shoot("error-400-state", d.url+"/auth/callback/devoidc?state=unknown&code=x", false)
	shoot("error-404", d.url+"/auth/nothing-here", false)
	shoot("unavailable", startUnavailableApp(t)+"/private", false)
	// Signed in as Grace (not an admin), then as Ada.
	tb.viewport(1280, false, "light")
	signInDemo(tb, d, "Development provider", "Grace Hopper")
	shoot("demo-home-signed-in", d.url+"/", true)
	shoot("demo-private", d.url+"/private", true)
	shoot("error-403-admin", d.url+"/admin", false)
	shoot("logout-confirm", d.url+"/auth/logout", false)
	tb.do("sign out", navigate(d.url+"/private"), clickCSS("#signout"))
	tb.waitText("You are signed out")
	signInDemo(tb, d, "Google (stand-in)", "Ada Lovelace")
	shoot("demo-admin", d.url+"/admin", true)
	t.Logf("%d screenshots in %s", n, dir)
}
