package authtest

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// providerTimeout bounds each request of a sign-in, and discovery.
const providerTimeout = 10 * time.Second

// Client returns an HTTP client with a cookie jar, signed in to the
// application as the user subject through the real flow: GET
// PathPrefix/login/Name at the application, devoidc's sign-in page, the
// callback. The session cookie in its jar is one the application's own
// store wrote after verifying devoidc's ID token, and it holds real
// devoidc tokens, so [middleware.Auth.Client] can call the provider's
// APIs (the userinfo endpoint) with them.
//
// The client does not follow redirects (CheckRedirect returns
// http.ErrUseLastResponse), so a test sees a redirect to sign in as such.
// Its idle connections are closed when the test ends. Any failure of the
// sign-in ends the test with t.Fatalf, naming the step.
//
// The application must be serving at BaseURL with auth.Handler() mounted
// at PathPrefix. Each call signs in a new browser; devoidc's single
// sign-on cookie stays in that client's jar only.
func (p *Provider) Client(t testing.TB, subject string) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatalf("authtest: Client: %v", err)
	}
	c := &http.Client{
		Transport:     p.transport(),
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       providerTimeout,
	}
	t.Cleanup(c.CloseIdleConnections)
	fatal := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("authtest: signing in %q: "+format, append([]any{subject}, args...)...)
	}
	login := p.cfg.BaseURL + p.cfg.PathPrefix + "/login/" + p.cfg.Name
	authorize := p.redirect(t, c, fatal, http.MethodGet, login, nil, p.op.Issuer()+"/authorize",
		"is auth.Handler() mounted at "+p.cfg.PathPrefix+"/ on the server at "+p.cfg.BaseURL+"?")
	page, status := p.get(t, c, fatal, authorize)
	if status != http.StatusOK {
		fatal("devoidc's sign-in page answered %d", status)
	}
	form := hiddenFields(page)
	if !slices.Contains(subjects(page), subject) {
		fatal("no user with this subject at the provider (Config.Users has %q)", subjects(page))
	}
	form.Set("subject", subject)
	callback := p.redirect(t, c, fatal, http.MethodPost, p.op.Issuer()+"/authorize", form,
		p.cfg.BaseURL+p.cfg.PathPrefix+"/callback/"+p.cfg.Name, "")
	p.redirect(t, c, fatal, http.MethodGet, callback, nil, p.cfg.BaseURL+"/",
		"did the callback refuse the sign-in (SignInPolicy, OnLogin, LinkAccount)?")
	return c
}

// transport is the Transport of Config.HTTPClient, or a fresh one.
func (p *Provider) transport() http.RoundTripper {
	if p.cfg.HTTPClient != nil && p.cfg.HTTPClient.Transport != nil {
		return p.cfg.HTTPClient.Transport
	}
	return http.DefaultTransport.(*http.Transport).Clone()
}

// redirect sends one request and returns the redirect's target, which
// must start with want; hint explains the likely cause of a wrong answer.
func (p *Provider) redirect(t testing.TB, c *http.Client, fatal func(string, ...any), method, target string, form url.Values, want, hint string) string {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		fatal("%s %s: %v", method, target, err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		fatal("%s %s: %v", method, target, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	loc, err := resp.Location()
	if resp.StatusCode < 300 || resp.StatusCode > 399 || err != nil || !strings.HasPrefix(loc.String(), want) {
		fatal("%s %s: got %d to %q, want a redirect to %s %s", method, target, resp.StatusCode, resp.Header.Get("Location"), want, hint)
	}
	return loc.String()
}

// get sends a GET and returns the body (at most 1 MiB) and status.
func (p *Provider) get(t testing.TB, c *http.Client, fatal func(string, ...any), target string) (string, int) {
	t.Helper()
	resp, err := c.Get(target)
	if err != nil {
		fatal("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		fatal("GET %s: %v", target, err)
	}
	return string(b), resp.StatusCode
}

// hiddenInput matches the hidden fields of devoidc's sign-in form, whose
// attributes html/template writes in this order.
var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)

// subjectButton matches the users' buttons on devoidc's sign-in page.
var subjectButton = regexp.MustCompile(`name="subject" value="([^"]*)"`)

// subjects returns the subjects page offers to sign in as.
func subjects(page string) []string {
	var s []string
	for _, m := range subjectButton.FindAllStringSubmatch(page, -1) {
		s = append(s, html.UnescapeString(m[1]))
	}
	return s
}

// hiddenFields returns the hidden fields of page's form.
func hiddenFields(page string) url.Values {
	v := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		v.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return v
}
