package middleware

import (
	"html/template"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/session"
)

func TestNewRefusesBadSetup(t *testing.T) {
	p := devProvider(t, "dev", "https://app.example")
	q := devProvider(t, "dev", "https://app.example") // same name
	good := Config{BaseURL: "https://app.example", Providers: []*providers.Provider{p}, Keys: [][]byte{testKey}}
	for name, tc := range map[string]struct {
		edit func(c *Config)
		want string
	}{
		"no keys":                 {func(c *Config) { c.Keys = nil }, "no keys"},
		"short key":               {func(c *Config) { c.Keys = [][]byte{testKey[:31]} }, "31 bytes"},
		"long key":                {func(c *Config) { c.Keys = [][]byte{append(append([]byte{}, testKey...), testKey...), make([]byte, 1)} }, "the key at Keys[1] is 1 bytes"},
		"base64 text key":         {func(c *Config) { c.Keys = [][]byte{[]byte(strings.Repeat("QUJD", 22))} }, "the key at Keys[0] is 88 bytes of base64 text: Keys are raw bytes"},
		"zero key":                {func(c *Config) { c.Keys = [][]byte{make([]byte, 32)} }, "zero"},
		"no base URL":             {func(c *Config) { c.BaseURL = "" }, "BaseURL"},
		"relative base URL":       {func(c *Config) { c.BaseURL = "/app" }, "BaseURL"},
		"base path with escape":   {func(c *Config) { c.BaseURL = "https://app.example/a%2Fb" }, "segments"},
		"base path with a space":  {func(c *Config) { c.BaseURL = "https://app.example/a%20b" }, "segments"},
		"base path dot segment":   {func(c *Config) { c.BaseURL = "https://app.example/a/../b" }, "segments"},
		"base path empty segment": {func(c *Config) { c.BaseURL = "https://app.example/a//b" }, "segments"},
		"base path with pattern":  {func(c *Config) { c.BaseURL = "https://app.example/{x}" }, "segments"},
		"base URL with fragment":  {func(c *Config) { c.BaseURL = "https://app.example/app#x" }, "origin"},
		"base URL with query":     {func(c *Config) { c.BaseURL = "https://app.example?x=1" }, "origin"},
		"base URL with user":      {func(c *Config) { c.BaseURL = "https://u:p@app.example" }, "origin"},
		"ftp base URL":            {func(c *Config) { c.BaseURL = "ftp://app.example" }, "BaseURL"},
		"http on a public host":   {func(c *Config) { c.BaseURL = "http://app.example" }, "plain http"},
		"no providers":            {func(c *Config) { c.Providers = nil }, "Providers"},
		"nil provider":            {func(c *Config) { c.Providers = []*providers.Provider{nil} }, "nil"},
		"duplicate provider":      {func(c *Config) { c.Providers = []*providers.Provider{p, q} }, "two providers"},
		"prefix without slash":    {func(c *Config) { c.PathPrefix = "auth" }, "PathPrefix"},
		"prefix ending in slash":  {func(c *Config) { c.PathPrefix = "/auth/" }, "PathPrefix"},
		"prefix with a pattern":   {func(c *Config) { c.PathPrefix = "/{x}" }, "PathPrefix"},
		"lifetime under a minute": {func(c *Config) { c.SessionLifetime = time.Second }, "SessionLifetime"},
		"idle beyond lifetime":    {func(c *Config) { c.SessionLifetime = time.Hour; c.IdleTimeout = 2 * time.Hour }, "Config.IdleTimeout"},
		"refresh an hour early":   {func(c *Config) { c.RefreshBefore = time.Hour }, "Config.RefreshBefore"},
		"refresh timeout of 5 m":  {func(c *Config) { c.RefreshTimeout = 5 * time.Minute }, "Config.RefreshTimeout"},
		"insecure store on https": {func(c *Config) { c.Sessions = insecureStore(t) }, "Config.Sessions: the store writes cookies without Secure"},
		"executed template": {func(c *Config) {
			tpl := template.Must(template.New("x").Parse("hi"))
			tpl.Execute(io.Discard, nil)
			c.ChooserTemplate = tpl
		}, "Config.ChooserTemplate"},
	} {
		t.Run(name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			a, err := newAuth(t, c)
			if err == nil {
				t.Fatalf("New accepted the configuration (%v)", a)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
	for name, edit := range map[string]func(c *Config){
		"valid":                     func(*Config) {},
		"base URL with slash":       func(c *Config) { c.BaseURL = "https://app.example/" },
		"http on 127.0.0.1":         func(c *Config) { c.BaseURL = "http://127.0.0.1:8080" },
		"http on localhost":         func(c *Config) { c.BaseURL = "http://localhost:8080" },
		"http on [::1]":             func(c *Config) { c.BaseURL = "http://[::1]:8080" },
		"http with InsecureCookies": func(c *Config) { c.BaseURL = "http://intranet.example"; c.InsecureCookies = true },
		"two keys":                  func(c *Config) { c.Keys = [][]byte{[]byte("abcdef0123456789abcdef0123456789"), testKey} },
		"custom prefix":             func(c *Config) { c.PathPrefix = "/_login" },
	} {
		t.Run(name, func(t *testing.T) {
			c := good
			edit(&c)
			if _, err := newAuth(t, c); err != nil {
				t.Fatalf("New refused: %v", err)
			}
		})
	}
}

// insecureStore is a cookie store configured for plain http.
func insecureStore(t *testing.T) session.Store {
	st, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testKey}, InsecureCookies: true})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestNewReportsEveryProblemAtOnce: New names each field it refuses, and
// all of them in one error.
func TestNewReportsEveryProblemAtOnce(t *testing.T) {
	_, err := newAuth(t, Config{
		BaseURL:        "ftp://app.example",
		Keys:           [][]byte{[]byte("short")},
		PathPrefix:     "auth/",
		IdleTimeout:    time.Second,
		RefreshBefore:  -time.Second,
		RefreshTimeout: time.Hour,
	})
	if err == nil {
		t.Fatal("New accepted a broken configuration")
	}
	for _, field := range []string{"BaseURL", "Providers", "Keys", "PathPrefix", "IdleTimeout", "RefreshBefore", "RefreshTimeout"} {
		if !strings.Contains(err.Error(), "middleware: Config."+field+": ") {
			t.Errorf("the error does not name Config.%s:\n%v", field, err)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 7 {
		t.Errorf("%d problems reported, want 7:\n%v", n, err)
	}
}

// TestChooserTemplateIsCopied: changing the template after New changes
// nothing.
func TestChooserTemplateIsCopied(t *testing.T) {
	p := devProvider(t, "dev", "https://app.example")
	p2 := devProvider(t, "two", "https://app.example")
	tpl := template.Must(template.New("c").Parse(`original`))
	a, err := newAuth(t, Config{BaseURL: "https://app.example", Providers: []*providers.Provider{p, p2}, Keys: [][]byte{testKey}, ChooserTemplate: tpl})
	if err != nil {
		t.Fatal(err)
	}
	template.Must(tpl.Parse(`changed`))
	if rec := serve(a.Handler(), "GET", "https://app.example/auth/login", nil); rec.Body.String() != "original" {
		t.Fatalf("chooser page %q after the caller changed its template", rec.Body)
	}
}

// TestInsecureCookiesIsLoud: the plain-http opt-in logs a warning at New
// (SECURITY.md SS-02); loopback development does not.
func TestInsecureCookiesIsLoud(t *testing.T) {
	p := devProvider(t, "dev", "http://intranet.example")
	for base, loud := range map[string]bool{"http://intranet.example": true, "http://127.0.0.1:8080": false, "https://app.example": false} {
		var logs logBuffer
		_, err := newAuth(t, Config{BaseURL: base, Providers: []*providers.Provider{p}, Keys: [][]byte{testKey}, InsecureCookies: true, Logger: logs.logger()})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), "MUST NOT"); got != loud {
			t.Errorf("%s: warning logged %v, want %v:\n%s", base, got, loud, logs.String())
		}
	}
}

func TestConfigIsCopied(t *testing.T) {
	p := devProvider(t, "dev", "https://app.example")
	ps := []*providers.Provider{p}
	a, err := newAuth(t, Config{BaseURL: "https://app.example", Providers: ps, Keys: [][]byte{testKey}})
	if err != nil {
		t.Fatal(err)
	}
	ps[0] = nil // the caller changes its slice afterwards
	rec := serve(a.Handler(), "GET", "https://app.example/auth/login", nil)
	if rec.Code != 302 {
		t.Fatalf("login after the caller changed its Providers slice: %d", rec.Code)
	}
}

func TestCallbackURLFromConfigOnly(t *testing.T) {
	a := newTestAuth(t)
	// Host and forwarding headers never change the redirect URI (AR-06).
	rec := serve(a.Handler(), "GET", "https://app.example/auth/login", map[string]string{
		"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http",
		"Forwarded": "host=evil.example;proto=http", "X-Forwarded-Uri": "/x",
	})
	loc := rec.Header().Get("Location")
	if !strings.Contains(loc, "redirect_uri=https%3A%2F%2Fapp.example%2Fauth%2Fcallback%2Fdev") || strings.Contains(loc, "evil") {
		t.Fatalf("authorization URL %s", loc)
	}
}
