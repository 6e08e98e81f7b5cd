package main

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// browser is a browser's cookie jar and its navigations.
type browser struct {
	t      *testing.T
	client *http.Client
	hops   []string // the redirects of the last request, in order
}

// browser returns a browser with an empty cookie jar.
func (e *testEnv) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t}
	b.client = &http.Client{Transport: e.transport, Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return fmt.Errorf("redirect loop: %q", b.hops)
		}
		b.hops = append(b.hops, req.URL.String())
		return nil
	}}
	return b
}

// noRedirects makes b stop at each redirect, to look at it.
func (b *browser) noRedirects() {
	b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
}

func (b *browser) get(u string) (*http.Response, string) { return b.do("GET", u, nil) }

func (b *browser) post(u string, form url.Values) (*http.Response, string) {
	return b.do("POST", u, form)
}

// do navigates to u, or posts form there from a page of the same origin.
func (b *browser) do(method, u string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	b.hops = nil
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("Origin", req.URL.Scheme+"://"+req.URL.Host)
	}
	resp, data := b.read(b.client.Do(req))
	return resp, string(data)
}

// signIn navigates to u, which leads to the provider's sign-in page, and
// signs in there as subject.
func (b *browser) signIn(u, subject string) (*http.Response, string) {
	b.t.Helper()
	resp, body := b.get(u)
	return b.answer(resp, body, subject)
}

// answer signs in as subject on the provider's sign-in page, resp and
// body, with the one-factor button.
func (b *browser) answer(resp *http.Response, body, subject string) (*http.Response, string) {
	b.t.Helper()
	action := regexp.MustCompile(`<form method="post" action="([^"]+)"`).FindStringSubmatch(body)
	if !strings.Contains(body, "Development provider") || action == nil {
		b.t.Fatalf("not the provider's sign-in page: %s %d %s", resp.Request.URL, resp.StatusCode, body)
	}
	form := url.Values{"subject": {subject}}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(body, -1) {
		form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	target, _ := resp.Request.URL.Parse(html.UnescapeString(action[1]))
	return b.post(target.String(), form)
}

// api calls u as an API client: JSON, b's cookies, the bearer token if
// any, and no redirect followed — there must be none.
func (b *browser) api(u, token string) (*http.Response, []byte) {
	b.t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Transport: b.client.Transport, Jar: b.client.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, data := b.read(client.Do(req))
	if loc := resp.Header.Get("Location"); loc != "" || resp.StatusCode/100 == 3 {
		b.t.Errorf("%s redirected an API client (%d) to %q", u, resp.StatusCode, loc)
	}
	if resp.StatusCode == 200 {
		var v map[string]any
		if err := json.Unmarshal(data, &v); err != nil || len(v) != 3 || v["sub"] == nil || v["email"] == nil || v["groups"] == nil {
			b.t.Errorf("%s: not {sub, email, groups}: %s", u, data)
		}
	}
	return resp, data
}

// read reads and closes a response's body.
func (b *browser) read(resp *http.Response, err error) (*http.Response, []byte) {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}
