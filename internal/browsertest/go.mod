module github.com/portcullis-go/portcullis/internal/browsertest

go 1.25.0

toolchain go1.26.10

replace github.com/portcullis-go/portcullis => ../..

require (
	github.com/chromedp/cdproto v0.160.3
	github.com/chromedp/chromedp v0.23.1
)

require github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
