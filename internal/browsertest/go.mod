module github.com/portcullis-go/portcullis/internal/browsertest

go 1.25.0

toolchain go1.26.10

replace github.com/portcullis-go/portcullis => ../..

require (
	github.com/chromedp/cdproto v0.160.3
	github.com/chromedp/chromedp v0.23.1
)

require (
	github.com/coreos/go-oidc/v3 v3.21.0 // indirect
	github.com/go-jose/go-jose/v4 v4.1.4 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/gorilla/securecookie v1.1.2 // indirect
	github.com/gorilla/sessions v1.4.0 // indirect
	golang.org/x/oauth2 v0.36.0 // indirect
)

require github.com/portcullis-go/portcullis v0.0.0
