// Package browsertest holds the real-browser tests: headless Chromium driven
// with chromedp.
package browsertest
