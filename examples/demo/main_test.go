package main

import (
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/examples/internal/envkeys"
)

// TestDemo runs what `go run ./examples/demo` runs and goes through it as a
// person would: the public page, the protected page, the development
// provider's sign-in page (choosing a test user), the protected page with
// the user, "Sign out everywhere".
func TestDemo(t *testing.T) {
	appLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer opLn.Close()
	appURL := "http://" + appLn.Addr().String()
	keys, err := envkeys.SessionKeys("", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	app, err := demo(appURL, opLn, keys, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: app}
	go srv.Serve(appLn)
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	page := func(resp *http.Response, err error) (*http.Response, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	browse := func(method, u string, form url.Values) (*http.Response, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, u, body)
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			req.Header.Set("Origin", (&url.URL{Scheme: req.URL.Scheme, Host: req.URL.Host}).String())
		}
		return page(client.Do(req))
	}

	if _, body := browse("GET", appURL+"/", nil); !strings.Contains(body, `href="/private"`) {
		t.Fatalf("home page: %s", body)
	}
	// The protected page leads to the provider's sign-in page.
	resp, body := browse("GET", appURL+"/private", nil)
	if !strings.Contains(body, "Development provider") || !strings.Contains(body, "Ada Lovelace") {
		t.Fatalf("sign-in page: %d %s", resp.StatusCode, body)
	}
	action := regexp.MustCompile(`<form method="post" action="([^"]+)"`).FindStringSubmatch(body)
	if action == nil {
		t.Fatal("no sign-in form")
	}
	form := url.Values{"subject": {"ada"}}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(body, -1) {
		form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	target, _ := resp.Request.URL.Parse(html.UnescapeString(action[1]))
	resp, body = browse("POST", target.String(), form)
	if resp.Request.URL.String() != appURL+"/private" || !strings.Contains(body, "Hello, Ada Lovelace") ||
		!strings.Contains(body, "ada@example.com") || !strings.Contains(body, "Access token expires") {
		t.Fatalf("after signing in: %s %d %s", resp.Request.URL, resp.StatusCode, body)
	}
	// The API answers the browser's session...
	if resp, body := page(client.Get(appURL + "/api/whoami")); resp.StatusCode != 200 || !strings.Contains(body, `"sub":"ada"`) {
		t.Fatalf("API with the session: %d %s", resp.StatusCode, body)
	}
	// ...and a script's access token (client_credentials), as the doc's
	// curl lines do.
	tokReq, _ := http.NewRequest("POST", "http://"+opLn.Addr().String()+"/token", strings.NewReader("grant_type=client_credentials"))
	tokReq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	tokReq.SetBasicAuth("demo", "demo-secret")
	_, tokBody := page(http.DefaultClient.Do(tokReq))
	token := regexp.MustCompile(`"access_token":"([^"]+)"`).FindStringSubmatch(tokBody)
	if token == nil {
		t.Fatalf("token endpoint: %s", tokBody)
	}
	apiReq, _ := http.NewRequest("GET", appURL+"/api/whoami", nil)
	apiReq.Header.Set("Authorization", "Bearer "+token[1])
	if resp, body := page(http.DefaultClient.Do(apiReq)); resp.StatusCode != 200 || !strings.Contains(body, `"sub":"demo"`) {
		t.Fatalf("API with a bearer token: %d %s", resp.StatusCode, body)
	}
	apiReq.Header.Set("Authorization", "Bearer not-a-token")
	if resp, _ := page(http.DefaultClient.Do(apiReq)); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("API with a bad token: %d", resp.StatusCode)
	}
	// Sign out everywhere: back to the home page, and the protected page
	// asks to sign in again.
	resp, _ = browse("POST", appURL+"/signout-everywhere", url.Values{})
	if resp.Request.URL.String() != appURL+"/" {
		t.Fatalf("sign out everywhere ended at %s", resp.Request.URL)
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, _ = browse("GET", appURL+"/private", nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/auth/login") {
		t.Fatalf("protected page after signing out everywhere: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}
