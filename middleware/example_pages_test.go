package middleware_test

import (
	"fmt"
	"html/template"
	"log"
	"net/http"
	"regexp"
	"strings"

	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/providers"
)

// The application's name, logo and accent colour on every built-in page.
// New refuses an accent too light to read on the light background, and
// says which darker shade would do.
func ExampleBrand() {
	brand := middleware.Brand{
		Name:   "Acme Notes",
		Logo:   `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#0b7a53"/><path d="M8 24 16 6l8 18z" fill="#fff"/></svg>`,
		Accent: "#0b7a53",
	}
	env := startExample("ada", middleware.Config{Brand: brand}, func(*http.ServeMux, *middleware.Auth) {})
	defer env.stop()
	_, status, body := env.visit("GET", "/auth/logout", nil) // nobody is signed in
	for _, re := range []string{`<title>.*</title>`, `<header class="brand">.*</header>`, `<h1>.*</h1>`, `--accent:#[0-9a-f]{6}`, `<a class="button primary"[^>]*>.*?</a>`} {
		fmt.Println(regexp.MustCompile(re).FindString(body))
	}
	fmt.Println(status)

	brand.Accent = "#ffcc00"
	_, err := middleware.New(middleware.Config{Brand: brand})
	for _, line := range strings.Split(err.Error(), "\n") {
		if strings.Contains(line, "Brand") {
			fmt.Println(line)
		}
	}
	// Output:
	// <title>Not signed in – Acme Notes</title>
	// <header class="brand"><span class="logo"><svg viewBox="0 0 32 32" xmlns="http://www.w3.org/2000/svg" aria-hidden="true" focusable="false"><rect width="32" height="32" rx="6" fill="#0b7a53"></rect><path d="M8 24 16 6l8 18z" fill="#fff"></path></svg></span><span class="name">Acme Notes</span></header>
	// <h1>You are not signed in</h1>
	// --accent:#0b7a53
	// <a class="button primary" href="/auth/login">Sign in</a>
	// 200
	// middleware: Config.Brand: Accent #ffcc00 has a contrast of 1.41:1 with the light page background #f6f7f9; links and buttons need 4.5:1 (WCAG 2.2 SC 1.4.3): use a darker shade such as #8a6e00
}

// Replacing pages with the application's own templates: each template
// named after a page replaces it and is executed with a [middleware.Page];
// the others stay built-in. New runs each once with sample data, so a
// broken template stops the application at startup.
func ExampleConfig_pages() {
	pages := template.Must(template.New("pages").Parse(`
{{define "layout"}}<!doctype html><title>{{.Title}}</title><main><h1>{{.Heading}}</h1><p>{{.Message}}</p>{{block "actions" .}}{{end}}</main>{{end}}
{{define "signed-out"}}{{template "layout" .}}<a href="{{.Action}}">{{.ActionLabel}}</a>{{end}}
{{define "forbidden"}}{{template "layout" .}}{{if .Action}}<a href="{{.Action}}">{{.ActionLabel}}</a>{{end}}{{end}}`))
	env := startExample("ada", middleware.Config{Pages: pages, Brand: middleware.Brand{Name: "Acme Notes"}}, func(*http.ServeMux, *middleware.Auth) {})
	defer env.stop()
	_, status, body := env.visit("GET", "/auth/logout/callback", nil)
	fmt.Println(status, body)

	github, err := providers.GitHub(providers.GitHubConfig{ClientID: "id", ClientSecret: "secret"})
	if err != nil {
		log.Fatal(err)
	}
	_, err = middleware.New(middleware.Config{
		BaseURL: "https://app.example.com", Providers: []*providers.Provider{github}, Keys: [][]byte{[]byte("use 32 random bytes, not this!!!")},
		Pages: template.Must(template.New("x").Parse(`{{define "error"}}{{.Secret}}{{end}}`)),
	})
	for _, line := range strings.Split(err.Error(), "\n") {
		if strings.Contains(line, "Pages") {
			fmt.Println(line)
		}
	}
	// Output:
	// 200 <!doctype html><title>Signed out – Acme Notes</title><main><h1>You are signed out</h1><p>You have been signed out of Acme Notes in this browser.</p></main><a href="/auth/login">Sign in again</a>
	// middleware: Config.Pages: the "error" page fails on sample data: template: x:1:20: executing "error" at <.Secret>: can't evaluate field Secret in type middleware.Page
}
