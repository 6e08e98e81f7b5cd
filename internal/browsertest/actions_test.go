package browsertest

import (
	"fmt"
	"os"
	"strings"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// The actions the tests take, as a person would: follow a link, press a
// button, type, go back.

func navigate(url string) chromedp.Action[chromedp.Void] { return chromedp.Navigate(url) }

// xpathText is an XPath literal for s (which holds no quote).
func xpathText(s string) string { return "'" + strings.ReplaceAll(s, "'", "") + "'" }

// clickLink clicks the first visible link whose text contains text.
func clickLink(text string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(fmt.Sprintf("//a[contains(normalize-space(.), %s)]", xpathText(text)), chromedp.NodeVisible)
}

// clickProvider clicks the sign-in page's button for the provider name.
func clickProvider(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(`a[href^="/auth/login/`+name+`?"]`), chromedp.NodeVisible)
}

// clickButton clicks the first visible button whose text contains text.
func clickButton(text string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(fmt.Sprintf("//button[contains(normalize-space(.), %s)]", xpathText(text)), chromedp.NodeVisible)
}

func clickCSS(css string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible)
}

// typeInto types s into the field css.
func typeInto(css, s string) chromedp.Action[chromedp.Void] {
	return chromedp.SendKeys(chromedp.CSS(css), s, chromedp.NodeVisible)
}

// backAndWait goes back one history entry and waits for the page.
func backAndWait() chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.NavigateBack(), chromedp.WaitReady(chromedp.CSS("body")))
}

// timezone makes the tab's browser run in the IANA zone tz.
func (tb *tab) timezone(tz string) {
	tb.t.Helper()
	if _, err := chromedp.Call(tb.ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: tz}); err != nil {
		tb.t.Fatal(err)
	}
}

// mkdirKeep makes a directory under the temp dir that outlives the test
// (a build shared by the tests of one binary).
func mkdirKeep(prefix string) (string, error) { return os.MkdirTemp("", prefix) }
