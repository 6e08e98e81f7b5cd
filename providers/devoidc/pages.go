package devoidc

import (
	"bytes"
	"html/template"
	"net/http"
)

// pages holds the parsed HTML templates. The pages load nothing from the
// network: the CSS is inline, and the Content-Security-Policy forbids
// everything else. They follow the system's light or dark color scheme.
type pages struct {
	signIn  *template.Template
	message *template.Template
}

// newPages parses the templates, for a provider whose pages call it name
// (Config.Name; "" for the default wording). The templates are constants,
// so a parse error is a bug and panics at construction.
func newPages(name string) *pages {
	layout := template.Must(template.New("layout").Funcs(template.FuncMap{
		"provider": func() string { return name },
	}).Parse(layoutHTML))
	return &pages{
		signIn:  template.Must(template.Must(layout.Clone()).Parse(signInHTML)),
		message: template.Must(template.Must(layout.Clone()).Parse(messageHTML)),
	}
}

// messageData is what the message page shows.
type messageData struct {
	Title, Heading, Message string
}

// messagePage renders a page with a heading and one sentence: errors that
// must not redirect, and the signed-out page.
func (s *Server) messagePage(w http.ResponseWriter, status int, heading, message string) {
	s.render(w, status, s.pages.message, messageData{Title: heading, Heading: heading, Message: message})
}

// render executes t into a buffer first, so a template error never leaves
// half a page behind.
func (s *Server) render(w http.ResponseWriter, status int, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		s.log.Error("devoidc: render page", "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

const layoutHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="robots" content="noindex">
<title>{{.Title}} · {{or provider "devoidc"}}</title>
<style>
:root {
  --bg: #f3f4f6; --card: #fff; --text: #17191c; --muted: #585f69; --border: #d6d9de;
  --accent: #3451c7; --on-accent: #fff; --hover: #edf0fb;
  --warn-bg: #fff3cd; --warn-text: #5c4300; --warn-border: #e9c25a;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #131518; --card: #1d2024; --text: #e9ebee; --muted: #a7aeb8; --border: #373b42;
    --accent: #93a6fa; --on-accent: #10131a; --hover: #262b35;
    --warn-bg: #3a2e08; --warn-text: #ffd866; --warn-border: #70571a;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0; min-height: 100vh; display: grid; place-items: center; padding: 24px 16px;
  background: var(--bg); color: var(--text);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
main {
  width: 100%; max-width: 26rem; padding: 28px; background: var(--card);
  border: 1px solid var(--border); border-radius: 14px; box-shadow: 0 2px 10px rgb(0 0 0 / .07);
}
.dev {
  display: inline-block; margin: 0 0 18px; padding: 3px 10px; border-radius: 999px;
  background: var(--warn-bg); color: var(--warn-text); border: 1px solid var(--warn-border);
  font-size: .8125rem; font-weight: 600;
}
h1 { margin: 0 0 6px; font-size: 1.375rem; line-height: 1.3; }
p { margin: 0 0 18px; color: var(--muted); }
p:last-child { margin-bottom: 0; }
code { font: .875rem ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: var(--text); overflow-wrap: anywhere; }
ul { list-style: none; margin: 0; padding: 0; display: grid; gap: 10px; }
.account { border: 1px solid var(--border); border-radius: 10px; overflow: hidden; }
.account:hover, .account:focus-within { border-color: var(--accent); }
.user, .factor {
  width: 100%; display: flex; align-items: center; background: transparent; color: inherit;
  font: inherit; text-align: left; cursor: pointer; border: 0; border-radius: 0;
}
.user { gap: 14px; padding: 12px 14px; }
.factor {
  gap: 8px; padding: 9px 14px 9px 70px; border-top: 1px solid var(--border);
  color: var(--accent); font-size: .875rem; font-weight: 600;
}
.factor svg { flex: none; }
@media (max-width: 24rem) { .factor { padding-left: 14px; } }
.user:hover, .factor:hover { background: var(--hover); }
.user:focus-visible, .factor:focus-visible { outline: 3px solid var(--accent); outline-offset: -3px; }
.ask {
  padding: 10px 12px; border-left: 3px solid var(--accent); border-radius: 6px;
  background: var(--hover); color: var(--text);
}
.vh {
  position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; border: 0;
  overflow: hidden; clip-path: inset(50%); white-space: nowrap;
}
.avatar {
  flex: none; width: 42px; height: 42px; border-radius: 50%; display: grid; place-items: center;
  background: var(--accent); color: var(--on-accent); font-weight: 700;
}
.who { display: grid; min-width: 0; }
.name { font-weight: 600; }
.meta { color: var(--muted); font-size: .875rem; overflow-wrap: anywhere; }
footer { margin-top: 20px; color: var(--muted); font-size: .8125rem; }
@media (prefers-reduced-motion: no-preference) {
  .user, .factor, .account { transition: background .12s, border-color .12s; }
}
</style>
</head>
<body>
<main aria-labelledby="title">
<p class="dev" role="note">{{with provider}}{{.}} — development provider, not for production{{else}}Development provider — not for production{{end}}</p>
{{template "content" .}}
</main>
</body>
</html>
`

const signInHTML = `{{define "content"}}
<h1 id="title">Sign in</h1>
<p>Choose a test user to continue to <code>{{.ClientID}}</code>.</p>
{{- if .AsksMFA}}
<p class="ask" role="note"><strong>A second factor is requested.</strong>
<code>{{.ClientID}}</code> asks for <code>{{.MFA}}</code>: choose “With a second factor” to provide it.</p>
{{- end}}
<form method="post" action="{{.Action}}">
{{- range .Hidden}}
<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{- end}}
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<ul>
{{- range .Users}}
<li class="account"><button class="user" type="submit" name="subject" value="{{.Subject}}">
<span class="avatar" aria-hidden="true">{{.Initials}}</span>
<span class="who"><span class="name">{{.Name}}</span>
<span class="meta">{{with .Email}}{{.}} · {{end}}subject <code>{{.Subject}}</code></span></span>
</button>
<button class="factor" type="submit" name="subject_mfa" value="{{.Subject}}">
<svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" focusable="false"><path d="M8 1.5 2.5 3.5v4c0 3.2 2.3 5.9 5.5 7 3.2-1.1 5.5-3.8 5.5-7v-4z M5.5 8l1.75 1.75L10.5 6.5" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round" stroke-linejoin="round"/></svg>
<span>With a second factor<span class="vh"> as {{.Name}}</span></span>
</button></li>
{{- end}}
</ul>
</form>
<footer>No password is asked: anyone who can reach this page can sign in as any of these users. The second factor is simulated too: no code is asked.</footer>
{{end}}`

const messageHTML = `{{define "content"}}
<h1 id="title">{{.Heading}}</h1>
<p>{{.Message}}</p>
{{end}}`
