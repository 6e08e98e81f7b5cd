package middleware

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/providers"
)

// TestErrorPageForEachKind: every kind of failure gets its page, a
// heading and message in plain words (naming the provider by its display
// name when one is known) and the action that helps: the same sign-in
// again, another account, or none.
func TestErrorPageForEachKind(t *testing.T) {
	corp := namedDevProvider(t, pageInternal, pageDisplay)
	a, err := newAuth(t, Config{BaseURL: "https://app.example", Providers: []*providers.Provider{corp}, Keys: [][]byte{testKey}, Brand: Brand{Name: "Acme Notes"}})
	if err != nil {
		t.Fatal(err)
	}
	su := stepUp{maxAge: 300 * 1e9, acr: []string{"mfa"}}
	// A callback whose flow was found: its provider, return path and step-up.
	fromFlow := func(err error) error {
		return a.retrying(nil, &flow{Provider: pageInternal, ReturnTo: "/docs", MaxAge: su.maxAge, ACR: su.acr}, err)
	}
	flowRetry := "/auth/login/" + pageInternal + "?acr_values=mfa&max_age=300&return_to=%2Fdocs"
	req := func(method, pattern, target string) *http.Request {
		r := httptest.NewRequest(method, "https://app.example"+target, nil)
		r.Pattern = pattern
		if p, ok := strings.CutPrefix(r.URL.Path, "/auth/login/"); ok && strings.HasSuffix(pattern, "{provider}") {
			r.SetPathValue("provider", p)
		}
		return r
	}
	callback := req("GET", "GET /auth/callback/{provider}", "/auth/callback/"+pageInternal+"?state=x")
	for _, tc := range []struct {
		name                   string
		r                      *http.Request
		err                    error
		page, heading, message string
		action, label          string
	}{
		{"provider cancelled", callback, fromFlow(fail(ErrLoginFailed, "provider_error", &providers.Error{Code: "access_denied", Description: "SECRET"})),
			"error", "Sign-in was cancelled", pageDisplay + " did not give access", flowRetry, "Try again"},
		{"provider odd code", callback, fromFlow(fail(ErrLoginFailed, "provider_error", &providers.Error{Code: "SECRET_code"})),
			"error", "Sign-in did not complete", pageDisplay + " could not complete", flowRetry, "Try again"},
		{"provider busy", callback, fromFlow(fail(ErrProviderUnavailable, "provider_error", &providers.Error{Code: "temporarily_unavailable"})),
			"unavailable", "Sign-in is unavailable", pageDisplay + " could not complete the sign-in right now", flowRetry, "Try again"},
		{"answer did not verify", callback, fromFlow(fail(ErrLoginFailed, "token_verification_failed", errors.New("SECRET"))),
			"error", "Sign-in failed", "The answer from " + pageDisplay + " could not be verified", flowRetry, "Try again"},
		{"state reused", callback, fromFlow(fail(ErrInvalidRequest, "state_reused", nil)),
			"error", "This sign-in link is not valid", "been used already", flowRetry, "Try again"},
		{"state unknown: the path's provider", callback, a.retrying(corp, nil, fail(ErrInvalidRequest, "state_mismatch", nil)),
			"error", "This sign-in link is not valid", "Please start again", "/auth/login/" + pageInternal, "Try again"},
		{"token endpoint down", callback, fromFlow(fail(ErrProviderUnavailable, "token_endpoint_error", errors.New("SECRET"))),
			"unavailable", "Sign-in is unavailable", pageDisplay + " could not be reached", flowRetry, "Try again"},
		{"sign-in refused by policy", callback, fromFlow(fail(ErrForbidden, "sign_in_policy", errors.New("SECRET"))),
			"forbidden", "This account cannot sign in", "at " + pageDisplay + " is not allowed to use Acme Notes", flowRetry, "Try another account"},
		{"store down at the callback", callback, fromFlow(fail(ErrStoreUnavailable, "session_save", errors.New("SECRET"))),
			"unavailable", "Temporarily unavailable", "Acme Notes cannot check sign-ins", flowRetry, "Try again"},
		{"session too large", callback, fromFlow(fail(ErrInternal, "session_too_large", errors.New("SECRET"))),
			"error", "Something went wrong", "Acme Notes could not complete", flowRetry, "Try again"},
		{"route policy", req("GET", "GET /admin", "/admin?tab=2"), fail(ErrForbidden, "policy_denied", nil),
			"forbidden", "Access denied", "sign in with another account", "/auth/logout?return_to=%2Fadmin%3Ftab%3D2", "Use another account"},
		{"cross-site sign-out", req("POST", "POST /auth/logout", "/auth/logout"), fail(ErrForbidden, "cross_origin", nil),
			"forbidden", "Sign-out was blocked", "did not come from Acme Notes", "/auth/logout", "Go to the sign-out page"},
		{"store down on a route", req("GET", "/", "/reports?y=2024"), fail(ErrStoreUnavailable, "session_store", errors.New("SECRET")),
			"unavailable", "Temporarily unavailable", "Try again in a moment", "/reports?y=2024", "Try again"},
		{"not signed in (not a navigation)", req("GET", "/", "/reports"), &loginRequired{failure: fail(ErrUnauthenticated, "no_session", nil), login: "/auth/login?return_to=%2Freports"},
			"error", "Please sign in", "You need to sign in", "/auth/login?return_to=%2Freports", "Sign in"},
		{"rate limited sign-in", req("GET", "GET /auth/login/{provider}", "/auth/login/"+pageInternal+"?return_to=/docs&max_age=300&acr_values=mfa"), fail(ErrRateLimited, "rate_limited", nil),
			"error", "Too many attempts", "Wait a moment", flowRetry, "Try again"},
		{"rate limited, malformed step-up dropped", req("GET", "GET /auth/login/{provider}", "/auth/login/"+pageInternal+"?max_age=x"), fail(ErrRateLimited, "rate_limited", nil),
			"error", "Too many attempts", "Wait a moment", "/auth/login/" + pageInternal, "Try again"},
		{"unknown provider", req("GET", "GET /auth/login/{provider}", "/auth/login/nope?return_to=/docs"), fail(ErrInvalidRequest, "unknown_provider", nil),
			"error", "This sign-in option does not exist", "Choose one of the ways", "/auth/login", "Go to the sign-in page"},
		{"not found", req("GET", "/auth/", "/auth/nope"), fail(ErrNotFound, "unknown_endpoint", nil),
			"error", "Page not found", "nothing at this address", "", ""},
		{"internal error on an endpoint", req("GET", "GET /auth/login", "/auth/login?return_to=/docs"), fail(ErrInternal, "chooser_template", errors.New("SECRET")),
			"error", "Something went wrong", "Try again in a moment", "/auth/login?return_to=%2Fdocs", "Try again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pg := a.errorPage(tc.r, tc.err, Status(tc.err))
			if pg.Name != tc.page || pg.Heading != tc.heading || !strings.Contains(pg.Message, tc.message) || pg.Action != tc.action || pg.ActionLabel != tc.label {
				t.Errorf("page %q %q %q, action %q %q\nwant %q %q …%q…, action %q %q", pg.Name, pg.Heading, pg.Message, pg.Action, pg.ActionLabel, tc.page, tc.heading, tc.message, tc.action, tc.label)
			}
			if pg.Status != Status(tc.err) || !strings.HasSuffix(pg.Title, " – Acme Notes") {
				t.Errorf("status %d, title %q", pg.Status, pg.Title)
			}
			for _, text := range []string{pg.Heading, pg.Message, pg.ActionLabel, pg.Provider} {
				if strings.Contains(text, "SECRET") || strings.Contains(text, pageInternal) || strings.Contains(text, "middleware") {
					t.Errorf("page text %q shows internals", text)
				}
			}
			checkErrorContract(t, tc.err)
		})
	}
}

// TestReplacedErrorPageFallsBack: an application's error page that fails
// on a request's data is replaced by the built-in one, never half
// written; the application's own CSP is kept on its pages.
func TestReplacedErrorPageFallsBack(t *testing.T) {
	p := devProvider(t, "dev", "https://app.example")
	pages := `{{define "error"}}{{if eq .Status 404}}<p>partial</p>{{.Nope}}{{end}}mine {{.Heading}}{{end}}`
	a, err := newAuth(t, Config{BaseURL: "https://app.example", Providers: []*providers.Provider{p}, Keys: [][]byte{testKey},
		Pages: template.Must(template.New("app").Parse(pages))})
	if err != nil {
		t.Fatal(err)
	}
	html := map[string]string{"Accept": "text/html"}
	rec := serve(a.Handler(), "GET", "https://app.example/auth/nope", html)
	if body := rec.Body.String(); rec.Code != 404 || strings.Contains(body, "partial") || !strings.Contains(body, "<h1>Page not found</h1>") ||
		rec.Header().Get("Content-Security-Policy") != a.pages.csp["error"] {
		t.Errorf("failing replaced page: %d %q\n%s", rec.Code, rec.Header().Get("Content-Security-Policy"), body)
	}
	rec = serve(a.Handler(), "GET", "https://app.example/auth/callback/dev?state=x", html)
	if body := rec.Body.String(); rec.Code != 400 || body != "mine This sign-in link is not valid" || rec.Header().Get("Content-Security-Policy") != customCSP {
		t.Errorf("replaced page: %d %q %q", rec.Code, rec.Header().Get("Content-Security-Policy"), body)
	}
	// Pages it does not define stay built-in.
	if body := serve(a.Handler(), "GET", "https://app.example/auth/logout", nil).Body.String(); !strings.Contains(body, "<h1>You are not signed in</h1>") {
		t.Errorf("logout page is not the built-in one:\n%s", body)
	}
	// The application's CSP, set in front of portcullis, is kept.
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self' https://cdn.example")
		a.Handler().ServeHTTP(w, r)
	})
	if rec := serve(h, "GET", "https://app.example/auth/callback/dev?state=x", html); rec.Header().Get("Content-Security-Policy") != "default-src 'self' https://cdn.example" {
		t.Errorf("CSP %q", rec.Header().Get("Content-Security-Policy"))
	}
}

func TestErrorResponses(t *testing.T) {
	a := newTestAuth(t)
	html := map[string]string{"Accept": "text/html", "Sec-Fetch-Mode": "navigate"}
	api := map[string]string{"Accept": "application/json"}
	secret := "SECRET-VALUE-eyJhbGciOi"
	for _, tc := range []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"provider denied", fail(ErrLoginFailed, "provider_error", &providers.Error{Code: "access_denied", Description: "<script>" + secret}), 401, "login_failed"},
		{"provider odd code", fail(ErrLoginFailed, "provider_error", &providers.Error{Code: "<b>" + secret}), 401, "login_failed"},
		{"store", fail(ErrStoreUnavailable, "session_store", errors.New(secret)), 503, "unavailable"},
		{"not found", fail(ErrNotFound, "unknown_endpoint", nil), 404, "not_found"},
		{"invalid request", fail(ErrInvalidRequest, "state_mismatch", errors.New(secret)), 400, "invalid_request"},
		{"login failed", fail(ErrLoginFailed, "token_verification_failed", errors.New(secret)), 401, "login_failed"},
		{"forbidden", fail(ErrForbidden, "on_login_refused", errors.New(secret)), 403, "forbidden"},
		{"unavailable", fail(ErrProviderUnavailable, "provider_unreachable", errors.New(secret)), 502, "provider_unavailable"},
		{"internal", fmt.Errorf("boom: %s", secret), 500, "internal_error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if Status(tc.err) != tc.status {
				t.Fatalf("Status = %d, want %d", Status(tc.err), tc.status)
			}
			for kind, hdr := range map[string]map[string]string{"html": html, "json": api} {
				rec := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.serveError(w, r, tc.err) }), "GET", "/", hdr)
				body := rec.Body.String()
				if rec.Code != tc.status || strings.Contains(body, "SECRET") || strings.Contains(body, "<script") || strings.Contains(body, "<b>") {
					t.Errorf("%s: status %d body %s", kind, rec.Code, body)
				}
				if rec.Header().Get("Cache-Control") != "no-store" {
					t.Errorf("%s: no Cache-Control: no-store", kind)
				}
				if kind == "json" && !strings.Contains(body, `"error":"`+tc.code+`"`) {
					t.Errorf("json body %s lacks error %s", body, tc.code)
				}
				if kind == "html" && !strings.Contains(body, "Error "+strconv.Itoa(tc.status)) {
					t.Errorf("html page lacks the status")
				}
			}
		})
	}
}
