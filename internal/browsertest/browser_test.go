package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// The browser: one headless Chromium for the whole test binary, and a
// fresh browser context (its own cookies, like a private window) per
// test. PORTCULLIS_CHROMIUM names the executable (.ci/run exports it);
// without it /usr/bin/chromium is tried, and without either every test
// here skips, saying so.

var (
	browserOnce sync.Once
	browserCtx  context.Context
	browserErr  error
)

// chromiumPath returns the Chromium to drive, or "" when there is none.
func chromiumPath() string {
	if p := os.Getenv("PORTCULLIS_CHROMIUM"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	return ""
}

func startBrowser(path string) (context.Context, error) {
	// Flags from ../../shared/BROWSER.md: root needs no sandbox, and
	// without the background-networking flags Chromium keeps trying to
	// reach Google's hosts, which a closed network refuses.
	actx, _ := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
	)
	ctx, _ := chromedp.NewContext(actx)
	// The first Run starts the browser; it lives as long as ctx, that is
	// the test binary.
	if err := chromedp.Do(ctx); err != nil {
		return nil, fmt.Errorf("starting %s: %w", path, err)
	}
	return ctx, nil
}

// tab is one browser tab of a test.
type tab struct {
	t   *testing.T
	ctx context.Context
}

// testTimeout bounds each browser test.
const testTimeout = 90 * time.Second

// newTab opens a tab in a browser context of the test's own and returns
// it with a context bounded by testTimeout. When the test fails, a
// screenshot of each of its tabs is saved under artifactDir and named in
// the failure output.
func newTab(t *testing.T) *tab {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Skip("no Chromium: set PORTCULLIS_CHROMIUM or install /usr/bin/chromium (apt-get install chromium)")
	}
	browserOnce.Do(func() { browserCtx, browserErr = startBrowser(path) })
	if browserErr != nil {
		t.Fatal(browserErr)
	}
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	return finishTab(t, ctx, cancel)
}

// sibling opens another tab in the same browser context as tb (shared
// cookies, as two tabs of one window).
func (tb *tab) sibling() *tab {
	tb.t.Helper()
	ctx, cancel := chromedp.NewContext(tb.ctx)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		tb.t.Fatal(err)
	}
	return finishTab(tb.t, ctx, cancel)
}

var tabSeq struct {
	sync.Mutex
	n int
}

func finishTab(t *testing.T, ctx context.Context, cancel context.CancelFunc) *tab {
	tabSeq.Lock()
	tabSeq.n++
	n := tabSeq.n
	tabSeq.Unlock()
	tctx, tcancel := context.WithTimeout(ctx, testTimeout)
	tb := &tab{t: t, ctx: tctx}
	t.Cleanup(func() {
		if t.Failed() {
			tb.saveFailure(fmt.Sprintf("%s-tab%d", strings.ReplaceAll(t.Name(), "/", "_"), n))
		}
		tcancel()
		cancel()
	})
	return tb
}

// artifactDir is where screenshots of failures go: PORTCULLIS_ARTIFACTS,
// or a directory under the system's temp dir that outlives the test.
var artifactDir = sync.OnceValue(func() string {
	if d := os.Getenv("PORTCULLIS_ARTIFACTS"); d != "" {
		os.MkdirAll(d, 0o755)
		return d
	}
	d, err := os.MkdirTemp("", "portcullis-browser-")
	if err != nil {
		return os.TempDir()
	}
	return d
})

func (tb *tab) saveFailure(name string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(tb.ctx), 10*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Logf("no screenshot of the failure (%v); the tab was at %s", err, loc)
		return
	}
	file := filepath.Join(artifactDir(), name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		tb.t.Logf("screenshot not saved: %v", err)
		return
	}
	tb.t.Logf("screenshot of the failure (tab at %s): %s", loc, file)
}

// do runs actions, failing the test with what was being done.
func (tb *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, actions...); err != nil {
		loc, _ := chromedp.Run(tb.ctx, chromedp.Location())
		tb.t.Fatalf("%s: %v (tab at %s)", what, err, loc)
	}
}

// text returns the text of the first element matching css.
func (tb *tab) text(css string) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Text(chromedp.CSS(css), chromedp.NodeVisible))
	if err != nil {
		loc, _ := chromedp.Run(tb.ctx, chromedp.Location())
		tb.t.Fatalf("text of %s: %v (tab at %s)", css, err, loc)
	}
	return s
}

// eval evaluates a JavaScript expression.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// location returns the tab's URL.
func (tb *tab) location() string {
	tb.t.Helper()
	loc, err := chromedp.Run(tb.ctx, chromedp.Location())
	if err != nil {
		tb.t.Fatal(err)
	}
	return loc
}

// body returns the visible text of the page.
func (tb *tab) body() string {
	tb.t.Helper()
	return eval[string](tb, "document.body ? document.body.innerText : ''")
}

// waitText waits until the page's text contains want, across the
// navigations that lead there (an evaluation during one fails: it is
// retried).
func (tb *tab) waitText(want string) {
	tb.t.Helper()
	expr := fmt.Sprintf("document.readyState === 'complete' && document.body.innerText.includes(%q)", want)
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) || tb.ctx.Err() != nil {
			body, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
			tb.t.Fatalf("waiting for %q (last error: %v); the tab is at %s showing:\n%s", want, err, tb.location(), body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// viewport sets the tab's width (a phone's when mobile) and colour
// scheme.
func (tb *tab) viewport(width int64, mobile bool, scheme string) {
	tb.t.Helper()
	var opts []chromedp.EmulateViewportOption
	if mobile {
		opts = append(opts, chromedp.EmulateMobile)
	}
	tb.do("viewport", chromedp.EmulateViewport(width, 800, opts...))
	if _, err := chromedp.Call(tb.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	}); err != nil {
		tb.t.Fatal(err)
	}
}

// overflow reports how the page at the current viewport overflows
// horizontally: "" when it does not. On an emulated phone Chromium zooms
// a page that is too wide out, so innerWidth grows with the content.
func (tb *tab) overflow(width int) string {
	tb.t.Helper()
	got := eval[[]int](tb, "[window.innerWidth, document.scrollingElement.scrollWidth]")
	if got[0] != width || got[1] > width {
		return fmt.Sprintf("innerWidth %d, scrollWidth %d, want both ≤ %d", got[0], got[1], width)
	}
	return ""
}

// goBuild builds the main package pkg of the repository into dir.
func goBuild(t *testing.T, pkg, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}
