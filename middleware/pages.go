package middleware

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

//go:embed pages/*.html pages/*.css
var pageFiles embed.FS

// Page is the data of every page portcullis shows a person, built-in or
// replaced through [Config.Pages]. Each page fills the fields its Name
// lists; the others are empty. Nothing in it is secret: no token, code,
// cookie, error text or claim but the signed-in user's display name on
// the sign-out page, which shows it to that user.
//
//   - "chooser": the sign-in page (GET /auth/login with several
//     providers): Providers and ReturnTo (the embedded [ChooserPage]).
//   - "error": a refused or failed request. Status, Heading and Message
//     say what happened in plain words; Action and ActionLabel try again
//     (the same sign-in: provider, return path and step-up kept), or are
//     empty when trying again cannot help. Provider is the display name
//     of the provider concerned, if any.
//   - "forbidden": 403, the account may not do this. Action leads to
//     signing in with another account, or tries the sign-in again.
//   - "unavailable": 502 or 503, a provider (Provider, when known) or a
//     store portcullis needs is down; Action tries again.
//   - "logout": the sign-out confirmation (GET /auth/logout). With User
//     (who is signed in), Action is the URL the sign-out form must POST
//     to; without, nobody is signed in and Action is a sign-in link.
//   - "signed-out": after a sign-out at the provider (GET
//     /auth/logout/callback); Action signs in again.
type Page struct {
	// Name is which page this is: "chooser", "error", "forbidden",
	// "unavailable", "logout" or "signed-out".
	Name string
	// Status is the response's HTTP status.
	Status int
	// Title is the document title, with Brand.Name when there is one:
	// "Sign in – Acme Notes".
	Title string
	// Heading and Message are the page's heading and text.
	Heading, Message string
	// Action and ActionLabel are the page's main action, described with
	// each Name above; Action is a same-origin path.
	Action, ActionLabel string
	// User is the signed-in user's display name, on the "logout" page.
	User string
	// Provider is the display name (never the configured name) of the
	// provider the page is about, or "".
	Provider string
	// Home is the application's home path: BaseURL's path and "/".
	Home string
	// Brand is Config.Brand, its Logo as New rewrote it.
	Brand Brand
	// Logo is Brand.Logo ready to place in a template: sanitised SVG.
	Logo template.HTML
	// ChooserPage is the "chooser" page's providers and return path, so
	// a template written for Config.ChooserTemplate works here too.
	ChooserPage
}

// pageNames are the pages Config.Pages may replace.
var pageNames = [...]string{"chooser", "error", "forbidden", "unavailable", "logout", "signed-out"}

// pages renders the pages: the application's templates where it gave
// them, the built-in ones otherwise. The built-in pages load nothing from
// elsewhere and run no script; their style is one inline element allowed
// by its hash.
type pages struct {
	builtin map[string]*template.Template
	css     map[string]template.CSS // each built-in page's style sheet
	csp     map[string]string       // and its Content-Security-Policy
	custom  *template.Template      // Config.Pages, may be nil
	chooser *template.Template      // Config.ChooserTemplate, may be nil
	brand   Brand
	logo    template.HTML
	home    string
}

// builtinCSP is the built-in pages' Content-Security-Policy, with the
// style element's hash and the img-src for a LogoURL filled in: no
// script, no frame, no request to another origin.
const builtinCSP = "default-src 'none'; style-src %s; img-src %s; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// customCSP is the Content-Security-Policy of a page replaced through
// Config.Pages or Config.ChooserTemplate, unless a handler in front of
// portcullis already set one: resources from the application's own
// origin only.
const customCSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// builtinFile is the content template of each built-in page.
var builtinFile = map[string]string{
	"chooser": "chooser", "error": "error", "forbidden": "error", "unavailable": "error",
	"logout": "logout", "signed-out": "signed-out",
}

// newPages parses the built-in pages and prepares their style for brand.
// custom and chooser are the application's templates (copies), or nil.
func newPages(s *settings) (*pages, error) {
	p := pageData(s)
	p.builtin, p.css, p.csp = map[string]*template.Template{}, map[string]template.CSS{}, map[string]string{}
	base, err := pageFiles.ReadFile("pages/style.css")
	if err != nil {
		return nil, err
	}
	chooserCSS, err := pageFiles.ReadFile("pages/chooser.css")
	if err != nil {
		return nil, err
	}
	img := "data:"
	if s.brand.LogoURL != "" {
		img = "'self' data:"
	}
	vars := ":root{" + s.brand.light.vars() + "}\n@media (prefers-color-scheme:dark){:root{" + s.brand.dark.vars() + "}}\n"
	funcs := template.FuncMap{"initial": initial}
	for name, file := range builtinFile {
		t, err := template.New(name).Funcs(funcs).ParseFS(pageFiles, "pages/layout.html", "pages/"+file+".html")
		if err != nil {
			return nil, err
		}
		p.builtin[name] = t
		css := vars + string(base)
		if name == "chooser" {
			css += string(chooserCSS)
		}
		sum := sha256.Sum256([]byte(css))
		p.css[name] = template.CSS(css)
		p.csp[name] = fmt.Sprintf(builtinCSP, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'", img)
	}
	return p, nil
}

// pageData returns the pages of s without the built-in templates: enough
// for page and replaced (checkPages needs no more).
func pageData(s *settings) *pages {
	return &pages{custom: s.Pages, chooser: s.ChooserTemplate, brand: s.brand.Brand, logo: template.HTML(s.brand.Logo), home: s.home}
}

// page returns the common part of page name: its name, title, brand and
// home link. title is the page's own title, before the brand's name.
func (p *pages) page(name, title string, status int) Page {
	if p.brand.Name != "" {
		title += " – " + p.brand.Name
	}
	return Page{Name: name, Status: status, Title: title, Home: p.home, Brand: p.brand, Logo: p.logo}
}

// checkPages reports the problems of Config.Pages and ChooserTemplate,
// through bad: a set that defines none of the pages, both a "chooser"
// and ChooserTemplate, and each page that fails on sample data.
func checkPages(s *settings, bad func(field, format string, args ...any)) {
	p := pageData(s)
	if s.Pages != nil {
		defined := 0
		for _, name := range pageNames {
			if s.Pages.Lookup(name) != nil {
				defined++
			}
		}
		if defined == 0 {
			bad("Pages", "defines none of the templates %s: name each page's template after it ({{define \"error\"}}…{{end}})", strings.Join(pageNames[:], ", "))
			return
		}
		if s.ChooserTemplate != nil && s.Pages.Lookup("chooser") != nil {
			bad("ChooserTemplate", "is set and Pages defines \"chooser\" too: set one (ChooserTemplate is deprecated)")
			return
		}
	}
	for _, pg := range samplePages(s, p) {
		t := p.replaced(pg.Name)
		if t == nil {
			continue
		}
		field, err := "Pages", error(nil)
		if t == p.chooser && pg.Name == "chooser" {
			field, err = "ChooserTemplate", t.Execute(io.Discard, pg.ChooserPage)
		} else {
			err = t.ExecuteTemplate(io.Discard, pg.Name, pg)
		}
		if err != nil {
			bad(field, "the %q page fails on sample data: %v", pg.Name, err)
		}
	}
}

// samplePages are pages like those a request gets, for checkPages: each
// page, the "logout" page signed in and not.
func samplePages(s *settings, p *pages) []Page {
	provider := s.Providers[0].DisplayName()
	login := s.prefix + "/login"
	chooser := p.page("chooser", "Sign in", http.StatusOK)
	chooser.Heading, chooser.Message = "Sign in", "Choose how you want to sign in."
	chooser.ChooserPage = s.chooserPage(s.home)
	failed := p.page("error", "Sign-in problem", http.StatusUnauthorized)
	failed.Heading, failed.Message, failed.Action, failed.ActionLabel, failed.Provider = "Sign-in failed", "Please try again.", login, "Try again", provider
	forbidden := p.page("forbidden", "Access denied", http.StatusForbidden)
	forbidden.Heading, forbidden.Message, forbidden.Action, forbidden.ActionLabel = "Access denied", "This account is not allowed to see this page.", s.prefix+"/logout", "Use another account"
	down := p.page("unavailable", "Temporarily unavailable", http.StatusServiceUnavailable)
	down.Heading, down.Message, down.Action, down.ActionLabel, down.Provider = provider+" is unavailable", "Try again in a moment.", login, "Try again", provider
	out := p.page("logout", "Sign out", http.StatusOK)
	out.Heading, out.Message, out.User, out.Action, out.ActionLabel, out.Provider = "Sign out?", "You are signed in as Ada Lovelace.", "Ada Lovelace", s.prefix+"/logout", "Sign out", provider
	none := p.page("logout", "Not signed in", http.StatusOK)
	none.Heading, none.Message, none.Action, none.ActionLabel = "You are not signed in", "Nobody is signed in.", login, "Sign in"
	gone := p.page("signed-out", "Signed out", http.StatusOK)
	gone.Heading, gone.Message, gone.Action, gone.ActionLabel = "You are signed out", "You have been signed out.", login, "Sign in again"
	return []Page{chooser, failed, forbidden, down, out, none, gone}
}

// builtinData is what the built-in templates are executed with.
type builtinData struct {
	Page
	CSS template.CSS
}

// render writes pg: the application's template for pg.Name when it gave
// one, the built-in page otherwise. formActions are origins the page's
// form may lead to besides 'self'. Rendering happens into a buffer first;
// when the application's template fails, nothing is written and the
// error is returned (the built-in pages are tested, and answer a plain
// 500 if they ever fail).
func (p *pages) render(w http.ResponseWriter, pg Page, formActions []string) error {
	var buf bytes.Buffer
	if t := p.replaced(pg.Name); t != nil {
		var err error
		if pg.Name == "chooser" && t == p.chooser {
			err = t.Execute(&buf, pg.ChooserPage)
		} else {
			err = t.ExecuteTemplate(&buf, pg.Name, pg)
		}
		if err != nil {
			return err
		}
		csp := w.Header().Get("Content-Security-Policy")
		if csp == "" {
			csp = withFormActions(customCSP, formActions)
		}
		write(w, pg.Status, csp, &buf)
		return nil
	}
	p.renderBuiltin(w, pg, formActions)
	return nil
}

// renderBuiltin writes pg with the built-in page.
func (p *pages) renderBuiltin(w http.ResponseWriter, pg Page, formActions []string) {
	var buf bytes.Buffer
	if err := p.builtin[pg.Name].ExecuteTemplate(&buf, "layout", builtinData{pg, p.css[pg.Name]}); err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	write(w, pg.Status, withFormActions(p.csp[pg.Name], formActions), &buf)
}

// replaced returns the application's template for page name, or nil.
func (p *pages) replaced(name string) *template.Template {
	if p.custom != nil {
		if t := p.custom.Lookup(name); t != nil {
			return t
		}
	}
	if name == "chooser" && p.chooser != nil {
		return p.chooser
	}
	return nil
}

func write(w http.ResponseWriter, status int, csp string, buf *bytes.Buffer) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// withFormActions returns csp with form-action allowing origins besides
// 'self'.
func withFormActions(csp string, origins []string) string {
	if len(origins) == 0 {
		return csp
	}
	return strings.Replace(csp, "form-action 'self'", "form-action 'self' "+strings.Join(origins, " "), 1)
}

// initial returns the first letter of s, upper-cased, for a provider's
// round mark on the sign-in page.
func initial(s string) string {
	r, _ := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return "?"
	}
	return string(unicode.ToUpper(r))
}
