package main

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/portcullis-go/portcullis/session"
)

// view is what a page shows.
type view struct {
	Page              string        // "home", "admin" or "danger"
	User              *session.User // nil when signed out
	AuthTime          time.Time     // when the user last authenticated at the provider
	Rule              string        // who may enter /admin, in words
	StepUp            string        // how recent an authentication /admin/danger needs
	BaseURL           string
	Done, Unconfirmed bool // the dangerous action: done, or not confirmed
}

// pages are the site's pages, each the layout with its own content.
var pages = map[string]*template.Template{
	"home":   parse(homeHTML),
	"admin":  parse(adminHTML),
	"danger": parse(dangerHTML),
}

func parse(content string) *template.Template {
	return template.Must(template.Must(template.New("layout").Parse(layoutHTML)).Parse(content))
}

// render writes the page name with status. It renders into a buffer first,
// so that a template error never leaves half a page.
func render(w http.ResponseWriter, name string, status int, v view) {
	var buf bytes.Buffer
	if err := pages[name].Execute(&buf, v); err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-store")
	// No script, no frame, nothing from elsewhere. form-action is left
	// out: signing out posts here and is then redirected to the provider.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// The look is the one of portcullis's own pages (middleware/pages), on a
// wider page with a header.
const layoutHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>{{template "title" .}} · Admin dashboard</title>
<style>
:root{--bg:#f6f7f9;--card:#fff;--text:#1b1f24;--muted:#4b5563;--border:#d0d7de;--accent:#1f5fbf;--accent-text:#fff;--focus:#1f5fbf;--danger:#a4161a;--danger-bg:#fdf0f0;--code:#eef1f4}
@media (prefers-color-scheme:dark){:root{--bg:#0f1115;--card:#181b21;--text:#e8eaed;--muted:#b3bac5;--border:#3a4049;--accent:#7fb0ff;--accent-text:#0b1020;--focus:#9cc3ff;--danger:#ff9b9b;--danger-bg:#2a1618;--code:#23272e}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--text);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.bar,main{max-width:48rem;margin:0 auto;padding:0 1rem}
header{background:var(--card);border-bottom:1px solid var(--border)}
.bar{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1.25rem;padding-block:.6rem}
.brand{font-weight:700;color:var(--text);text-decoration:none;margin-right:auto}
nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:.25rem 1rem;margin:0;padding:0}
nav a{display:inline-block;padding:.6rem 0}
nav a[aria-current=page]{color:var(--text);font-weight:600;text-decoration-thickness:2px;text-underline-offset:.35em}
.who{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem .75rem;color:var(--muted);font-size:.9rem;overflow-wrap:anywhere}
.who form{margin:0}
main{padding-block:2rem 3rem}
h1{font-size:1.6rem;line-height:1.25;margin:0 0 .5rem}
h2{font-size:1.15rem;line-height:1.3;margin:0 0 .5rem}
p{margin:.25rem 0 1rem}
.lead,.card p{color:var(--muted)}
.card{background:var(--card);border:1px solid var(--border);border-radius:12px;padding:1.25rem 1.5rem;margin:1.25rem 0;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.card>:last-child{margin-bottom:0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.5rem 1.25rem;margin:0}
dt{font-weight:600}
dd{margin:0;min-width:0;overflow-wrap:anywhere}
@media (max-width:32rem){dl{grid-template-columns:1fr;gap:0}dd{margin-bottom:.6rem}.card{padding:1rem}}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;background:var(--code);border-radius:6px}
code{padding:.1em .3em;overflow-wrap:anywhere}
pre{margin:0;padding:.75rem 1rem;white-space:pre-wrap;overflow-wrap:anywhere}
pre code{padding:0;background:none}
a{color:var(--accent)}
.button{display:inline-flex;align-items:center;justify-content:center;min-height:44px;padding:.6rem 1.1rem;border-radius:8px;border:1px solid var(--border);background:var(--card);color:var(--text);font:inherit;font-weight:600;text-decoration:none;cursor:pointer}
.button:hover{border-color:var(--accent)}
.button.primary{background:var(--accent);border-color:var(--accent);color:var(--accent-text)}
.button.danger{background:var(--danger);border-color:var(--danger);color:var(--card)}
.who .button{min-height:40px;padding:.4rem .9rem}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.tags{list-style:none;display:flex;flex-wrap:wrap;gap:.4rem;margin:0;padding:0}
.tags li{border:1px solid var(--border);border-radius:999px;padding:0 .65rem;font-size:.9rem}
.card.danger{border:2px solid var(--danger);background:var(--danger-bg)}
.label{display:flex;align-items:center;gap:.4rem;font-size:.8rem;font-weight:700;letter-spacing:.05em;text-transform:uppercase;color:var(--danger);margin:0 0 .25rem}
.card .label,.card .error{color:var(--danger)}
.check{display:flex;gap:.6rem;align-items:flex-start;margin:0 0 1rem}
.check input{flex:none;width:1.25rem;height:1.25rem;margin:.15rem 0 0;accent-color:var(--danger)}
.error{font-weight:600}
.notice{border-left:4px solid var(--accent);background:var(--card);padding:.75rem 1rem;border-radius:0 8px 8px 0}
</style>
</head>
<body>
<header><div class="bar">
<a class="brand" href="/">Admin dashboard</a>
<nav aria-label="Main"><ul>
<li><a href="/"{{if eq .Page "home"}} aria-current="page"{{end}}>Home</a></li>
<li><a href="/admin"{{if eq .Page "admin"}} aria-current="page"{{end}}>Dashboard</a></li>
<li><a href="/admin/danger"{{if eq .Page "danger"}} aria-current="page"{{end}}>Danger zone</a></li>
</ul></nav>
<div class="who">{{if .User}}<span>Signed in as <strong>{{or .User.Email .User.Name .User.Subject}}</strong></span>
<form method="post" action="/auth/logout"><button class="button" type="submit">Sign out</button></form>
{{- else}}<a class="button primary" href="/auth/login?return_to=%2Fadmin">Sign in</a>{{end}}</div>
</div></header>
<main>
{{template "content" .}}
</main>
</body>
</html>
{{define "authtime"}}{{if .IsZero}}unknown{{else}}<time datetime="{{.UTC.Format "2006-01-02T15:04:05Z"}}">{{.Format "2 Jan 2006, 15:04:05 MST"}}</time>{{end}}{{end}}`

const homeHTML = `{{define "title"}}Home{{end}}
{{define "content"}}
<h1>Protecting an admin dashboard</h1>
<p class="lead">Anyone can sign in. Only admins reach the dashboard, and its dangerous action asks for a recent sign-in. Scripts use the same rules with an access token.</p>
<section class="card" aria-labelledby="you">
<h2 id="you">You</h2>
{{- if .User}}
<p>You are signed in.</p>
<dl>
<dt>Name</dt><dd>{{or .User.Name "not shared"}}</dd>
<dt>Email</dt><dd>{{or .User.Email "none verified"}}</dd>
<dt>Account</dt><dd>{{or .User.Account "not linked"}}</dd>
<dt>Authenticated</dt><dd>{{template "authtime" .AuthTime}}</dd>
</dl>
{{- else}}
<p>You are not signed in. Anyone with an account at the provider can sign in; who you are decides what you can open.</p>
<p><a class="button primary" href="/auth/login?return_to=%2Fadmin">Sign in</a></p>
{{- end}}
</section>
<section class="card" aria-labelledby="where">
<h2 id="where">What is where</h2>
<dl>
<dt><a href="/admin">/admin</a></dt>
<dd>The dashboard. Who may enter: {{.Rule}}. Anyone else who signs in gets an “Access denied” page.</dd>
<dt><a href="/admin/danger">/admin/danger</a></dt>
<dd>The danger zone: admins who authenticated at the provider within the last {{.StepUp}}. Older sign-ins are sent to the provider to authenticate again.</dd>
<dt><a href="/api/whoami">/api/whoami</a></dt>
<dd>The admin as JSON, for scripts: with the session cookie, or an access token from the provider, judged by the same rule.</dd>
</dl>
</section>
<section class="card" aria-labelledby="api">
<h2 id="api">Calling the API</h2>
<p>Send an access token the provider issued for this API:</p>
<pre><code>curl -H "Authorization: Bearer $TOKEN" {{.BaseURL}}/api/whoami</code></pre>
</section>
{{end}}`

const adminHTML = `{{define "title"}}Dashboard{{end}}
{{define "content"}}
<h1>Dashboard</h1>
<p class="lead">You are an admin. Who may enter: {{.Rule}}.</p>
<section class="card" aria-labelledby="who">
<h2 id="who">Signed in</h2>
<dl>
<dt>Name</dt><dd>{{or .User.Name "not shared"}}</dd>
<dt>Email</dt><dd>{{or .User.Email "none verified"}}</dd>
<dt>Groups</dt><dd>{{if .User.Groups}}<ul class="tags">{{range .User.Groups}}<li>{{.}}</li>{{end}}</ul>{{else}}none{{end}}</dd>
<dt>Account</dt><dd>{{or .User.Account "not linked"}}</dd>
<dt>Identity</dt><dd>subject <code>{{.User.Subject}}</code> at <code>{{.User.Provider}}</code></dd>
<dt>Authenticated</dt><dd>{{template "authtime" .AuthTime}}</dd>
</dl>
</section>
<section class="card" aria-labelledby="danger">
<h2 id="danger">Danger zone</h2>
<p>It needs an authentication within the last {{.StepUp}}: you may be asked to sign in again.</p>
<p><a class="button" href="/admin/danger">Open the danger zone</a></p>
</section>
<section class="card" aria-labelledby="api">
<h2 id="api">API</h2>
<p><a href="/api/whoami">/api/whoami</a> answers the same as JSON, to your session or to an access token.</p>
</section>
{{end}}`

const dangerHTML = `{{define "title"}}Danger zone{{end}}
{{define "content"}}
<h1>Danger zone</h1>
<p class="lead">You authenticated at {{template "authtime" .AuthTime}}, within the last {{.StepUp}}: this page lets you in.</p>
{{- if .Done}}
<p class="notice" role="status"><strong>Done.</strong> In this example the dangerous action changes nothing; it is only logged.</p>
{{- end}}
<section class="card danger" aria-labelledby="action">
<p class="label"><svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" focusable="false"><path d="M8 1.5 15 14H1z M8 6v4 M8 11.5v.5" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linejoin="round"/></svg>Dangerous</p>
<h2 id="action">Delete all data</h2>
<p>This deletes every record of the dashboard and cannot be undone. (In this example it deletes nothing.)</p>
<form method="post" action="/admin/danger">
<div class="check"><input type="checkbox" id="confirm" name="confirm" value="yes" required{{if .Unconfirmed}} aria-invalid="true" aria-describedby="confirm-error"{{end}}>
<label for="confirm">I understand that this deletes all data</label></div>
{{- if .Unconfirmed}}
<p class="error" id="confirm-error">Tick the box to confirm.</p>
{{- end}}
<button class="button danger" type="submit">Delete all data</button>
</form>
</section>
{{end}}`
