package main

import (
	"html/template"
	"strings"
	"time"
)

// The demo's pages. They follow the system's light or dark scheme, fit a
// 360 px phone (no column wider than the screen, long values wrap, JSON
// scrolls inside its box) and load nothing from elsewhere. One small
// inline script, allowed by the page's CSP nonce, shows times in the
// browser's time zone and counts the token's expiry down; without it the
// times read in UTC.

// The demo's identity, on its pages and on portcullis's
// (middleware.Config.Brand): its name, its logo (a portcullis, inline
// SVG) and its accent colour, the light scheme's --accent below.
const (
	appName = "portcullis demo"
	accent  = "#2346c7"
	logoSVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">` +
		`<rect width="32" height="32" rx="7" fill="#2346c7"/>` +
		`<rect x="5" y="5" width="22" height="3.5" rx="1" fill="#fff"/>` +
		`<path d="M8.5 8h2.5v13l-1.25 4-1.25-4zM14.75 8h2.5v13l-1.25 4-1.25-4zM21 8h2.5v13l-1.25 4-1.25-4z" fill="#fff"/>` +
		`<path d="M9 12.5h14M9 17h14" stroke="#fff" stroke-width="1.75"/></svg>`
)

var pageFuncs = template.FuncMap{
	// logo is logoSVG, a constant of the demo's, for the header.
	"logo": func() template.HTML {
		return template.HTML(strings.Replace(logoSVG, "<svg ", `<svg aria-hidden="true" focusable="false" `, 1))
	},
	"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"utc":  func(t time.Time) string { return t.UTC().Format("Jan 2, 15:04:05 UTC") },
	"unix": func(t time.Time) int64 { return t.Unix() },
	"secs": func(d time.Duration) int64 { return int64(d / time.Second) },
}

func newPage(content string) *template.Template {
	return template.Must(template.Must(template.New("layout").Funcs(pageFuncs).Parse(layoutHTML)).Parse(content))
}

var (
	homePage    = newPage(homeHTML)
	privatePage = newPage(privateHTML)
	adminPage   = newPage(adminHTML)
)

const layoutHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{{block "title" .}}{{end}}portcullis demo</title>
<style nonce="{{.Nonce}}">
:root { --bg: #f5f6f8; --card: #fff; --text: #16181d; --muted: #545c69; --border: #d7dbe0;
  --accent: #2346c7; --on-accent: #fff; --ok-bg: #e5f3e9; --ok-text: #174d27; --code: #f0f2f5;
  --dev-bg: #fff3cd; --dev-text: #5c4300; --dev-border: #e0b84a; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #111317; --card: #1b1e23; --text: #e8eaed; --muted: #a6aeba; --border: #343942;
    --accent: #93a6fa; --on-accent: #0d1020; --ok-bg: #15301d; --ok-text: #a3e4b4; --code: #14171b;
    --dev-bg: #3a2e08; --dev-text: #ffd866; --dev-border: #70571a; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: .4rem 1.25rem; padding: .75rem 1rem;
  background: var(--card); border-bottom: 1px solid var(--border); }
.brand { display: inline-flex; align-items: center; gap: .5rem; font-weight: 700; color: inherit; text-decoration: none; }
.brand svg { width: 28px; height: 28px; flex: none; }
nav { display: flex; flex-wrap: wrap; gap: .25rem 1rem; }
a { color: var(--accent); }
.status { margin-left: auto; color: var(--muted); font-size: .875rem; overflow-wrap: anywhere; }
main { max-width: 46rem; margin: 1.5rem auto 3rem; padding: 0 1rem; }
.card { background: var(--card); border: 1px solid var(--border); border-radius: 12px; padding: 1.25rem; margin: 0 0 1rem; min-width: 0; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: 0 0 .5rem; overflow-wrap: anywhere; }
h2 { font-size: 1.1rem; margin: 0 0 .75rem; }
p { margin: 0 0 .75rem; }
p:last-child, ul:last-child { margin-bottom: 0; }
.muted { color: var(--muted); }
.note { padding: .65rem .9rem; border-radius: 8px; background: var(--ok-bg); color: var(--ok-text); margin: 0 0 1rem; }
.dev { display: inline-block; padding: .1rem .6rem; border-radius: 999px; font-size: .8125rem; font-weight: 600;
  background: var(--dev-bg); color: var(--dev-text); border: 1px solid var(--dev-border); }
dl { display: grid; grid-template-columns: minmax(0, 10rem) minmax(0, 1fr); gap: .4rem 1rem; margin: 0; }
dt { font-weight: 600; color: var(--muted); }
dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
@media (max-width: 32rem) { dl { grid-template-columns: minmax(0, 1fr); gap: 0; } dd { margin-bottom: .6rem; } }
.groups { display: flex; flex-wrap: wrap; gap: .35rem; list-style: none; margin: 0; padding: 0; }
.groups li { padding: 0 .6rem; border: 1px solid var(--border); border-radius: 999px; font-size: .875rem; }
pre { margin: 0; padding: .75rem; max-width: 100%; overflow-x: auto; background: var(--code); border: 1px solid var(--border);
  border-radius: 8px; font: .8125rem/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
code { font: .875em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin-top: .75rem; }
.actions form { margin: 0; }
.button, button { display: inline-block; padding: .55rem 1rem; border-radius: 8px; border: 1px solid var(--accent);
  background: var(--accent); color: var(--on-accent); font: inherit; font-weight: 600; text-decoration: none; cursor: pointer; }
.secondary { background: transparent; color: var(--accent); }
a:focus-visible, button:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
ul.try { margin: 0; padding-left: 1.25rem; }
.big { font-size: 1.35rem; font-weight: 700; font-variant-numeric: tabular-nums; }
</style></head>
<body>
<header>
<a class="brand" href="/">{{logo}}portcullis demo</a>
<nav aria-label="Pages"><a href="/">Home</a><a href="/private">Private</a><a href="/admin">Admin</a></nav>
<span class="status" id="status">{{if .User}}Signed in as {{.User.Name}} · {{.Provider}}{{else}}Not signed in{{end}}</span>
</header>
<main>
{{block "content" .}}{{end}}
</main>
<script nonce="{{.Nonce}}">
(function () {
  var when = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    el.textContent = when.format(new Date(el.getAttribute("datetime")));
    el.title = zone;
  });
  document.querySelectorAll("[data-zone]").forEach(function (el) { el.textContent = zone; });
  var left = document.querySelector("[data-countdown]");
  if (!left) return;
  var end = Number(left.getAttribute("data-countdown")) * 1000, due = Number(left.getAttribute("data-due"));
  var state = document.getElementById("refresh-state");
  function tick() {
    var s = Math.max(0, Math.round((end - Date.now()) / 1000));
    left.textContent = s > 0 ? Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0") : "expired";
    state.textContent = s === 0 ? "It has expired: the next request refreshes it."
      : s <= due ? "It is due for refresh: the next request refreshes it."
      : "It will be due for refresh in " + (s - due) + " s.";
  }
  tick();
  setInterval(tick, 1000);
})();
</script>
</body></html>`

const homeHTML = `{{define "content"}}
{{- if eq .SignedOut "local"}}<p class="note" role="status" id="signed-out">You are signed out, here and at the provider.</p>
{{- else if eq .SignedOut "everywhere"}}<p class="note" role="status" id="signed-out">You are signed out everywhere: every session of yours in this app, on every device, and your session at the provider have ended. Signing in again asks who you are.</p>{{end}}
<section class="card" aria-labelledby="title">
{{- if .User}}
<h1 id="title">Welcome back, {{.User.Name}}</h1>
<p>You are signed in with {{.Provider}}{{with .User.Email}} as {{.}}{{end}}.</p>
<div class="actions"><a class="button" href="/private">Your private page</a>
<form method="post" action="/auth/logout?return_to=%2F%3Fsigned_out%3Dlocal"><button class="secondary" type="submit">Sign out</button></form></div>
{{- else}}
<h1 id="title">portcullis demo</h1>
<p>This page is public. The private page needs you to sign in.</p>
<p class="muted">The sign-in page offers stand-ins for Google and GitHub and a development provider. <span class="dev">Development stand-ins</span>: all three run in this process with the same test users, and nothing reaches Google or GitHub.</p>
<div class="actions"><a class="button" href="/private">Sign in</a></div>
{{- end}}
</section>
<section class="card" aria-labelledby="try">
<h2 id="try">What to try</h2>
<ul class="try">
<li>Sign in with any provider, then look at <a href="/private">your private page</a>: your profile, your access token counting down, “Refresh now”, and the provider's user API called with your token.</li>
<li>Open <a href="/admin">the admin page</a> as Ada Lovelace (in the group “admins”), then as Grace Hopper.</li>
<li>Sign out, or sign out everywhere, and press the back button.</li>
<li>Call the API from a script: <code>curl -H "Authorization: Bearer $TOKEN" /api/whoami</code> (see the command's documentation).</li>
</ul>
</section>
{{end}}`

const privateHTML = `{{define "title"}}Private — {{end}}{{define "content"}}
{{- if eq .Refresh "done"}}<p class="note" role="status" id="refresh-result">Refreshed just now: the provider issued a new access token, valid until <time datetime="{{iso .Expiry}}">{{utc .Expiry}}</time>.</p>
{{- else if eq .Refresh "failed"}}<p class="note" role="status" id="refresh-result">The refresh failed: the provider could not be reached. Your session is as it was, and its token stays in use while it is valid.</p>
{{- else if eq .Refresh "norefresh"}}<p class="note" role="status" id="refresh-result">Not refreshed: {{.Provider}} issued no refresh token for this session. Sign in again for new tokens.</p>{{end}}
<section class="card" aria-labelledby="title">
<h1 id="title">Hello, {{.User.Name}}</h1>
<p>You are signed in with {{.Provider}}. This page is behind <code>auth.Require</code>.</p>
<dl>
<dt>Name</dt><dd id="name">{{.User.Name}}</dd>
<dt>Email</dt><dd id="email">{{with .User.Email}}{{.}}{{else}}<span class="muted">none verified</span>{{end}}</dd>
<dt>Subject</dt><dd><code>{{.User.Subject}}</code></dd>
<dt>Provider</dt><dd id="provider">{{.Provider}}</dd>
<dt>Groups</dt><dd>{{with .User.Groups}}<ul class="groups" id="groups">{{range .}}<li>{{.}}</li>{{end}}</ul>{{else}}<span class="muted">none</span>{{end}}</dd>
<dt>Session ends</dt><dd><time datetime="{{iso .SessionEnds}}">{{utc .SessionEnds}}</time></dd>
</dl>
</section>
<section class="card" aria-labelledby="token">
<h2 id="token">Your access token</h2>
<p>Expires <time id="expiry" datetime="{{iso .Expiry}}">{{utc .Expiry}}</time> (<span data-zone>UTC</span>), in
<span class="big" id="countdown" data-countdown="{{unix .Expiry}}" data-due="{{secs .RefreshBefore}}">—</span></p>
<p class="muted" id="refresh-state">portcullis refreshes it in its last {{secs .RefreshBefore}} seconds, on the next request.</p>
{{- if .CanRefresh}}
<p class="muted">“Refresh now” asks the provider for new tokens at once (<code>auth.Refresh</code>), as an app does after your groups changed there.</p>
<form method="post" action="/refresh"><button type="submit" id="refresh">Refresh now</button></form>
{{- end}}
</section>
{{- if .UserInfoURL}}
<section class="card" aria-labelledby="api">
<h2 id="api">The provider's user API</h2>
<p><code>GET {{.UserInfoURL}}</code> with your access token, through <code>auth.Client</code>:</p>
{{- if .UserInfo}}
<pre id="userinfo">{{.UserInfo}}</pre>
{{- else}}
<p class="note" id="userinfo-error">The call failed: {{.UserInfoError}}.</p>
{{- end}}
</section>
{{- end}}
<section class="card" aria-labelledby="out">
<h2 id="out">Sign out</h2>
<p class="muted">“Sign out” ends this session and your session at the provider. “Sign out everywhere” ends every session of yours in this app, on every device, and at the provider.</p>
<div class="actions">
<form method="post" action="/auth/logout?return_to=%2F%3Fsigned_out%3Dlocal"><button type="submit" id="signout">Sign out</button></form>
<form method="post" action="/signout-everywhere"><button class="secondary" type="submit" id="signout-everywhere">Sign out everywhere</button></form>
</div>
</section>
{{end}}`

const adminHTML = `{{define "title"}}Admin — {{end}}{{define "content"}}
<section class="card" aria-labelledby="title">
<h1 id="title">Admin</h1>
<p>Only members of the group “admins” see this page: it is behind <code>auth.RequireWith(policy.Groups("admins"))</code>. Everyone else signed in gets a 403 page, and is never sent back to sign in.</p>
<p>You are {{.User.Name}}, signed in with {{.Provider}}.</p>
</section>
{{end}}`
