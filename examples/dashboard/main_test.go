package main

import (
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/portcullis-go/portcullis/providers/devoidc"
)

// TestAdmin signs users in at /admin: an admin sees the dashboard with her
// email, groups and linked account; an outsider gets the 403 page, never a
// redirect, and a 403 JSON answer at the API.
func TestAdmin(t *testing.T) {
	e := start(t, devoidc.Config{}, nil)

	t.Run("signed out", func(t *testing.T) {
		b := e.browser(t)
		resp, body := b.get(e.app + "/")
		if resp.StatusCode != 200 || !strings.Contains(body, "You are not signed in") || !strings.Contains(body, `href="/auth/login?return_to=%2Fadmin"`) {
			t.Fatalf("home page: %d %s", resp.StatusCode, body)
		}
		if !strings.Contains(body, "a verified email address at example.com, or membership of the group admins") {
			t.Errorf("home page does not say who may enter /admin: %s", body)
		}
		resp, body = b.get(e.app + "/admin")
		if resp.Request.URL.Host != strings.TrimPrefix(e.op, "http://") || !strings.Contains(body, "Development provider") {
			t.Fatalf("/admin signed out did not lead to the provider: %s %s", resp.Request.URL, body)
		}
	})

	t.Run("admin", func(t *testing.T) {
		b := e.browser(t)
		resp, body := b.signIn(e.app+"/admin", "ada")
		if resp.Request.URL.String() != e.app+"/admin" || resp.StatusCode != 200 {
			t.Fatalf("after signing in: %s %d %s", resp.Request.URL, resp.StatusCode, body)
		}
		for _, want := range []string{"<h1>Dashboard</h1>", "ada@example.com", "<li>admins</li>", "<dd>acct-1</dd>", "<code>ada</code>"} {
			if !strings.Contains(body, want) {
				t.Errorf("dashboard lacks %q: %s", want, body)
			}
		}
		if _, body := b.get(e.app + "/"); !strings.Contains(body, "Signed in as <strong>ada@example.com</strong>") || !strings.Contains(body, "<dd>acct-1</dd>") {
			t.Errorf("home page does not show the session: %s", body)
		}
		resp, data := b.api(e.app+"/api/whoami", "")
		if resp.StatusCode != 200 || string(data) != `{"sub":"ada","email":"ada@example.com","groups":["admins"]}`+"\n" {
			t.Errorf("/api/whoami with the cookie: %d %s", resp.StatusCode, data)
		}
	})

	t.Run("second account with the verified address", func(t *testing.T) {
		b := e.browser(t)
		resp, body := b.signIn(e.app+"/admin", "ada2")
		if resp.StatusCode != 200 || !strings.Contains(body, "<dd>acct-1</dd>") || !strings.Contains(body, "<code>ada2</code>") {
			t.Fatalf("ada2 was not linked to acct-1: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("outsider", func(t *testing.T) {
		b := e.browser(t)
		resp, body := b.signIn(e.app+"/admin", "grace")
		if resp.Request.URL.String() != e.app+"/admin" || resp.StatusCode != 403 || !strings.Contains(body, "Access denied") {
			t.Fatalf("grace at /admin: %s %d %s", resp.Request.URL, resp.StatusCode, body)
		}
		b.noRedirects()
		if resp, _ := b.get(e.app + "/admin"); resp.StatusCode != 403 || resp.Header.Get("Location") != "" {
			t.Errorf("grace at /admin again: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, data := b.api(e.app+"/api/whoami", "")
		if resp.StatusCode != 403 || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(data), `"error":"forbidden"`) {
			t.Errorf("/api/whoami with grace's cookie: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), data)
		}
		if _, body := b.get(e.app + "/"); !strings.Contains(body, "grace@other.example") {
			t.Errorf("home page does not show grace signed in: %s", body)
		}
	})

	t.Run("unverified address", func(t *testing.T) {
		b := e.browser(t)
		resp, body := b.signIn(e.app+"/admin", "mallory")
		if resp.StatusCode != 403 {
			t.Fatalf("mallory at /admin: %d %s", resp.StatusCode, body)
		}
		// Her claimed address neither admits her nor links her to Ada's
		// account: she has an account of her own.
		_, body = b.get(e.app + "/")
		if !strings.Contains(body, "none verified") || strings.Contains(body, "<dd>acct-1</dd>") || !regexp.MustCompile(`<dd>acct-\d+</dd>`).MatchString(body) {
			t.Errorf("mallory's home page: %s", body)
		}
	})
}

// TestAdminRules checks who each configuration admits to /admin: either
// list admits, and with neither nobody is (with a warning at startup).
func TestAdminRules(t *testing.T) {
	for _, tt := range []struct {
		name           string
		domains        string
		groups         string
		ada, grace     int
		warnsNobodyYet bool
	}{
		{name: "domains", domains: "example.com", ada: 200, grace: 403},
		{name: "groups", groups: "admins", ada: 200, grace: 403},
		{name: "either", domains: "other.example", groups: "admins", ada: 200, grace: 200},
		{name: "subdomains only", domains: "*.example.com", ada: 403, grace: 403},
		{name: "neither", ada: 403, grace: 403, warnsNobodyYet: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, devoidc.Config{}, map[string]string{"ADMIN_DOMAINS": tt.domains, "ADMIN_GROUPS": tt.groups})
			for subject, want := range map[string]int{"ada": tt.ada, "grace": tt.grace} {
				if resp, body := e.browser(t).signIn(e.app+"/admin", subject); resp.StatusCode != want {
					t.Errorf("%s at /admin: %d, want %d: %s", subject, resp.StatusCode, want, body)
				}
			}
			if warned := strings.Contains(e.logs.String(), "/admin admits nobody"); warned != tt.warnsNobodyYet {
				t.Errorf("warning that /admin admits nobody: %v, want %v", warned, tt.warnsNobodyYet)
			}
		})
	}
}

// TestStepUp goes to /admin/danger with an authentication older than
// STEPUP_MAX_AGE: the app sends the browser through the provider with
// max_age, and back to the page; a provider that ignores max_age ends in
// 403 after one round, not in a loop.
//
// policy.StepUp allows a minute of clock skew on top of MaxAge, so an
// authentication is too old only after STEPUP_MAX_AGE plus a minute. The
// tests run in a synctest bubble, whose clock skips that wait, on an
// in-memory network (a goroutine blocked on a real socket would keep the
// clock from moving).
func TestStepUp(t *testing.T) {
	t.Run("honoured", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := startOn(t, &pipes{}, devoidc.Config{}, map[string]string{"STEPUP_MAX_AGE": "1"})
			b := e.browser(t)
			resp, body := b.signIn(e.app+"/admin/danger", "ada")
			if resp.Request.URL.String() != e.app+"/admin/danger" || resp.StatusCode != 200 || !strings.Contains(body, "Delete all data") {
				t.Fatalf("/admin/danger just after signing in: %s %d %s", resp.Request.URL, resp.StatusCode, body)
			}

			time.Sleep(2 * time.Minute)
			if resp, body := b.get(e.app + "/admin"); resp.StatusCode != 200 || len(b.hops) != 0 {
				t.Fatalf("/admin two minutes later: %d through %q %s", resp.StatusCode, b.hops, body)
			}
			resp, body = b.get(e.app + "/admin/danger")
			if len(b.hops) != 2 || !strings.HasPrefix(b.hops[0], e.app+"/auth/login/oidc?") || !strings.HasPrefix(b.hops[1], e.op+"/authorize?") {
				t.Fatalf("/admin/danger two minutes later redirected through %q", b.hops)
			}
			login, _ := url.Parse(b.hops[0])
			if q := login.Query(); q.Get("max_age") != "1" || q.Get("return_to") != "/admin/danger" {
				t.Errorf("step-up login %s", login)
			}
			authorize, _ := url.Parse(b.hops[1])
			if q := authorize.Query(); q.Get("max_age") != "1" || q.Get("prompt") != "login" {
				t.Errorf("authorization request %s", authorize)
			}
			// prompt=login: the provider shows its sign-in page again.
			resp, body = b.answer(resp, body, "ada")
			if resp.Request.URL.String() != e.app+"/admin/danger" || resp.StatusCode != 200 || !strings.Contains(body, "Delete all data") {
				t.Fatalf("after the step-up: %s %d %s", resp.Request.URL, resp.StatusCode, body)
			}

			// The dangerous action: confirmed, unconfirmed, from another site.
			if resp, body := b.post(e.app+"/admin/danger", url.Values{"confirm": {"yes"}}); resp.StatusCode != 200 || !strings.Contains(body, `role="status"`) {
				t.Errorf("the dangerous action: %d %s", resp.StatusCode, body)
			}
			if !strings.Contains(e.logs.String(), "dangerous action") {
				t.Errorf("the dangerous action was not logged: %s", e.logs)
			}
			if resp, body := b.post(e.app+"/admin/danger", url.Values{}); resp.StatusCode != 400 || !strings.Contains(body, "Tick the box") {
				t.Errorf("the dangerous action, unconfirmed: %d %s", resp.StatusCode, body)
			}
			req, _ := http.NewRequest("POST", e.app+"/admin/danger", strings.NewReader("confirm=yes"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", "https://evil.example")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			if resp, _ := b.read(b.client.Do(req)); resp.StatusCode != 403 {
				t.Errorf("the dangerous action from another site: %d", resp.StatusCode)
			}
		})
	})

	t.Run("ignored", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := startOn(t, &pipes{}, devoidc.Config{IgnoreStepUp: true}, map[string]string{"STEPUP_MAX_AGE": "1"})
			b := e.browser(t)
			if resp, body := b.signIn(e.app+"/admin", "ada"); resp.StatusCode != 200 {
				t.Fatalf("signing in: %d %s", resp.StatusCode, body)
			}
			time.Sleep(2 * time.Minute)
			// Each visit goes through the provider once, which answers at once
			// with its old authentication, and ends in 403.
			for range 2 {
				resp, body := b.get(e.app + "/admin/danger")
				want := []string{e.app + "/auth/login/oidc?", e.op + "/authorize?", e.app + "/auth/callback/oidc?"}
				if len(b.hops) != len(want) {
					t.Fatalf("/admin/danger redirected through %q, want one round through the provider", b.hops)
				}
				for i, w := range want {
					if !strings.HasPrefix(b.hops[i], w) {
						t.Errorf("redirect %d: %s, want %s…", i, b.hops[i], w)
					}
				}
				if resp.StatusCode != 403 || resp.Header.Get("Location") != "" || !strings.Contains(body, "Access denied") {
					t.Errorf("after a step-up the provider ignored: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), body)
				}
			}
			if resp, _ := b.get(e.app + "/admin"); resp.StatusCode != 200 {
				t.Errorf("/admin after the refused step-up: %d", resp.StatusCode)
			}
		})
	})
}

// TestAPI calls /api/whoami with bearer tokens. A token a client got for
// itself (client_credentials) has no user claims: valid (not 401) but
// refused by /admin's policy (403). A token Ada got carries her email and
// groups (devoidc releases them by scope) and passes. A token that does
// not verify gets 401 invalid_token, even with a valid cookie beside it.
// The API never redirects.
func TestAPI(t *testing.T) {
	e := start(t, devoidc.Config{}, nil)
	ctx := t.Context()
	clientToken := func(t *testing.T, e *testEnv) string {
		cc := clientcredentials.Config{ClientID: cliID, ClientSecret: cliSecret, TokenURL: e.op + "/token", Scopes: []string{"whoami"}}
		tok, err := cc.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(tok.AccessToken, ".") != 2 {
			t.Fatalf("not a JWT access token: %q", tok.AccessToken)
		}
		return tok.AccessToken
	}

	t.Run("client token", func(t *testing.T) {
		resp, data := e.browser(t).api(e.app+"/api/whoami", clientToken(t, e))
		if resp.StatusCode != 403 || !strings.Contains(string(data), `"error":"forbidden"`) {
			t.Errorf("client_credentials token: %d %s", resp.StatusCode, data)
		}
	})

	t.Run("Ada's token", func(t *testing.T) {
		// The cli client signs Ada in (authorization code with PKCE) and
		// gets an access token for the app's API.
		cli := oauth2.Config{
			ClientID: cliID, ClientSecret: cliSecret, RedirectURL: e.cli, Scopes: []string{"openid", "email", "profile"},
			Endpoint: oauth2.Endpoint{AuthURL: e.op + "/authorize", TokenURL: e.op + "/token"},
		}
		verifier := oauth2.GenerateVerifier()
		b := e.browser(t)
		b.signIn(cli.AuthCodeURL("state-1234567890", oauth2.S256ChallengeOption(verifier)), "ada")
		tok, err := cli.Exchange(ctx, <-e.codes, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		// devoidc puts the user's claims released by the scope (email,
		// groups) in its JWT access tokens, so the policy admits her.
		resp, data := b.api(e.app+"/api/whoami", tok.AccessToken)
		if resp.StatusCode != 200 || string(data) != `{"sub":"ada","email":"ada@example.com","groups":["admins"]}`+"\n" {
			t.Errorf("Ada's access token: %d %s", resp.StatusCode, data)
		}
	})

	t.Run("invalid tokens", func(t *testing.T) {
		other := start(t, devoidc.Config{}, map[string]string{"API_AUDIENCE": "https://dashboard.example/api"})
		b := e.browser(t)
		b.signIn(e.app+"/admin", "ada") // a valid cookie, which a bearer request never uses
		for name, tt := range map[string]struct{ app, token string }{
			"garbage":            {e.app, "garbage"},
			"garbage JWT":        {e.app, "a.b.c"},
			"another audience":   {other.app, clientToken(t, other)},
			"another provider's": {e.app, clientToken(t, other)},
		} {
			resp, data := b.api(tt.app+"/api/whoami", tt.token)
			if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("%s token: %d %q %s", name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), data)
			}
		}
		if resp, data := b.api(e.app+"/api/whoami", ""); resp.StatusCode != 200 || !strings.Contains(string(data), `"sub":"ada"`) {
			t.Errorf("the cookie alone: %d %s", resp.StatusCode, data)
		}
	})

	t.Run("no credentials", func(t *testing.T) {
		resp, data := e.browser(t).api(e.app+"/api/whoami", "")
		if resp.StatusCode != 401 || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("no credentials: %d %s", resp.StatusCode, data)
		}
	})
}

// TestStartupRefusals checks that a value that cannot be used stops the
// program with a message naming its variable, before any network call.
func TestStartupRefusals(t *testing.T) {
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	for _, tt := range []struct{ name, value, says string }{
		{"STEPUP_MAX_AGE", "five minutes", "STEPUP_MAX_AGE"},
		{"STEPUP_MAX_AGE", "0", "STEPUP_MAX_AGE"},
		{"STEPUP_MAX_AGE", "-300", "STEPUP_MAX_AGE"},
		{"STEPUP_MAX_AGE", "86401", "STEPUP_MAX_AGE"},
		{"ADMIN_DOMAINS", "bücher.example", "ADMIN_DOMAINS"},
		{"ADMIN_DOMAINS", "ada@example.com", "ADMIN_DOMAINS"},
		{"ADMIN_DOMAINS", "example.com,,other.example", "ADMIN_DOMAINS"},
		{"ADMIN_GROUPS", "admins,", "ADMIN_GROUPS"},
		{"SESSION_KEYS", "not base64!", "SESSION_KEYS"},
		{"SESSION_KEYS", short, "SESSION_KEYS: session: key 1 of 1 decodes to 16 bytes"},
		{"SESSION_KEYS", base64.StdEncoding.EncodeToString(sessionKey) + "," + short, "SESSION_KEYS: session: key 2 of 2 decodes to 16 bytes"},
		{"API_AUDIENCE", "two words", "API_AUDIENCE"},
		{"OIDC_ISSUER", "", "OIDC_ISSUER"},
	} {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			env := map[string]string{
				"OIDC_ISSUER":    "http://127.0.0.1:1", // never reached
				"OIDC_CLIENT_ID": appID,
				"SESSION_KEYS":   base64.StdEncoding.EncodeToString(sessionKey),
				"ADMIN_GROUPS":   "admins",
				tt.name:          tt.value,
			}
			_, err := run(t.Context(), func(k string) string { return env[k] }, nil, slog.New(slog.DiscardHandler))
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("run: %v, want an error saying %q", err, tt.says)
			}
		})
	}
}
