package middleware

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

//go:embed pages/*.html
var pageFiles embed.FS

// pages renders the HTML pages a person sees: the sign-in chooser, error
// pages and the sign-out confirmation. They load nothing from elsewhere and
// run no script.
type pages struct {
	t map[string]*template.Template
	// home is where the pages' home and cancel links go: BaseURL's path
	// and "/".
	home string
}

// pageCSP forbids scripts, frames and every external request.
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func newPages(home string) (*pages, error) {
	funcs := template.FuncMap{"initial": initial}
	p := &pages{t: map[string]*template.Template{}, home: home}
	for _, name := range []string{"chooser", "error", "logout", "signedout"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(pageFiles, "pages/layout.html", "pages/"+name+".html")
		if err != nil {
			return nil, err
		}
		p.t[name] = t
	}
	return p, nil
}

type pageData struct {
	Title string
	Home  string
	Data  any
}

type errorData struct {
	Status     int
	Heading    string
	Message    string
	RetryURL   string
	RetryLabel string
}

type logoutData struct {
	User   string
	Action string
}

var titles = map[string]string{"chooser": "Sign in", "error": "Sign-in problem", "logout": "Sign out", "signedout": "Signed out"}

// render writes page name with status and pageCSP.
func (p *pages) render(w http.ResponseWriter, status int, name string, data any) {
	p.renderCSP(w, status, name, data, pageCSP)
}

// renderCSP writes page name with status and the Content-Security-Policy
// csp. Rendering happens into a buffer first, so a template error never
// leaves half a page.
func (p *pages) renderCSP(w http.ResponseWriter, status int, name string, data any, csp string) {
	var buf bytes.Buffer
	if err := p.t[name].ExecuteTemplate(&buf, "layout", pageData{Title: titles[name], Home: p.home, Data: data}); err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// withFormActions returns pageCSP with form-action allowing origins
// besides 'self'.
func withFormActions(origins []string) string {
	if len(origins) == 0 {
		return pageCSP
	}
	return strings.Replace(pageCSP, "form-action 'self'", "form-action 'self' "+strings.Join(origins, " "), 1)
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
