package session_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/providers/devoidc"
	"github.com/portcullis-go/portcullis/session"
)

var (
	gHashKey  = []byte("gorilla hash key: 32 bytes long!")
	gBlockKey = []byte("gorilla block key, AES-256 key!!")
)

// gorillaBackend is one gorilla store under test; dir is the directory of
// a FilesystemStore, empty for a CookieStore.
type gorillaBackend struct {
	name  string
	store sessions.Store
	dir   string
}

func gorillaBackends(t *testing.T) []gorillaBackend {
	dir := t.TempDir()
	return []gorillaBackend{
		{"cookie", sessions.NewCookieStore(gHashKey, gBlockKey), ""},
		{"filesystem", sessions.NewFilesystemStore(dir, gHashKey, gBlockKey), dir},
	}
}

func newGorilla(t *testing.T, st sessions.Store) *session.GorillaStore {
	t.Helper()
	g, err := session.NewGorillaStore(session.GorillaConfig{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func gorillaSession(lifetime time.Duration) *session.Session {
	return session.New(session.User{Provider: "corp", Subject: "ada", Email: "ada@example.com", Groups: []string{"eng"}},
		session.Tokens{AccessToken: "at", RefreshToken: "rt", IDToken: "eyJ.id.token"}, time.Now(), lifetime)
}

// saveTo saves s through g for a request carrying cookies and returns the
// cookies the response set.
func saveTo(t *testing.T, g *session.GorillaStore, s *session.Session, cookies ...*http.Cookie) []*http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	if err := g.Save(w, requestWith(cookies...), s); err != nil {
		t.Fatal(err)
	}
	return w.Result().Cookies()
}

func requestWith(cookies ...*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://app.example/", nil)
	for _, c := range cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

func sessionFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "session_*"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestNewGorillaStoreRefuses(t *testing.T) {
	noOptions := sessions.NewCookieStore(gHashKey, gBlockKey)
	noOptions.Options = nil
	tests := []struct {
		name string
		cfg  session.GorillaConfig
	}{
		{"no store", session.GorillaConfig{}},
		{"bad name", session.GorillaConfig{Store: sessions.NewCookieStore(gHashKey, gBlockKey), Name: "a;b"}},
		{"__Host- without Secure", session.GorillaConfig{Store: sessions.NewCookieStore(gHashKey, gBlockKey), Name: "__Host-s", InsecureCookies: true}},
		{"cookie store without encryption", session.GorillaConfig{Store: sessions.NewCookieStore(gHashKey)}},
		{"cookie store with an old key without encryption", session.GorillaConfig{Store: sessions.NewCookieStore(gHashKey, gBlockKey, gHashKey, nil)}},
		{"cookie store without keys", session.GorillaConfig{Store: &sessions.CookieStore{Options: &sessions.Options{}}}},
		{"cookie store without hash key", session.GorillaConfig{Store: sessions.NewCookieStore(nil, gBlockKey)}},
		{"cookie store with a bad block key", session.GorillaConfig{Store: sessions.NewCookieStore(gHashKey, []byte("short"))}},
		{"cookie store without options", session.GorillaConfig{Store: noOptions}},
		{"filesystem store without keys", session.GorillaConfig{Store: sessions.NewFilesystemStore(t.TempDir())}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if g, err := session.NewGorillaStore(tt.cfg); err == nil {
				t.Fatalf("NewGorillaStore = %v, want an error", g)
			}
		})
	}
	// A filesystem store only keeps an ID in the cookie: signing suffices.
	if _, err := session.NewGorillaStore(session.GorillaConfig{Store: sessions.NewFilesystemStore(t.TempDir(), gHashKey)}); err != nil {
		t.Errorf("filesystem store with a hash key only: %v", err)
	}
}

func TestGorillaStoreRoundTrip(t *testing.T) {
	for _, b := range gorillaBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			g := newGorilla(t, b.store)
			want := gorillaSession(time.Hour)
			want.AMR = []string{"pwd", "otp"}
			cookies := saveTo(t, g, want)
			if len(cookies) != 1 || cookies[0].Name != "portcullis" {
				t.Fatalf("Save set %v, want one cookie named portcullis", cookies)
			}
			got, err := g.Load(requestWith(cookies...))
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != want.ID || got.User.Subject != "ada" || got.User.Groups[0] != "eng" || got.Tokens.RefreshToken != "rt" ||
				got.Tokens.IDToken != want.Tokens.IDToken || !got.Expires.Equal(want.Expires) || len(got.AMR) != 2 {
				t.Fatalf("Load = %+v, want %+v", got, want)
			}
			// A refresh saves the same session again: a server-side store
			// keeps one record, under the same cookie.
			got.Tokens.AccessToken = "at2"
			again := saveTo(t, g, got, cookies...)
			if s, err := g.Load(requestWith(again...)); err != nil || s.Tokens.AccessToken != "at2" {
				t.Fatalf("Load after a re-save = %v, %v", s, err)
			}
			if b.dir != "" {
				if n := len(sessionFiles(t, b.dir)); n != 1 {
					t.Errorf("%d session files after a re-save, want 1", n)
				}
			}
		})
	}
}

func TestGorillaStoreCookieAttributes(t *testing.T) {
	loose := sessions.NewFilesystemStore(t.TempDir(), gHashKey)
	loose.Options.Domain = "example"
	loose.Options.SameSite = http.SameSiteNoneMode
	loose.Options.Secure = false
	tests := []struct {
		name     string
		insecure bool
		store    sessions.Store
	}{
		{"cookie store", false, sessions.NewCookieStore(gHashKey, gBlockKey)},
		{"filesystem store with loose Options", false, loose},
		{"InsecureCookies", true, sessions.NewFilesystemStore(t.TempDir(), gHashKey)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := session.NewGorillaStore(session.GorillaConfig{Store: tt.store, InsecureCookies: tt.insecure})
			if err != nil {
				t.Fatal(err)
			}
			saved := saveTo(t, g, gorillaSession(time.Hour))
			w := httptest.NewRecorder()
			if err := g.Clear(w, requestWith(saved...)); err != nil {
				t.Fatal(err)
			}
			cleared := w.Result().Cookies()
			for _, c := range append(saved, cleared...) {
				if c.Secure == tt.insecure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
					t.Errorf("cookie %s: Secure %v HttpOnly %v SameSite %v Path %q Domain %q", c.Name, c.Secure, c.HttpOnly, c.SameSite, c.Path, c.Domain)
				}
			}
			if m := saved[0].MaxAge; m < 3590 || m > 3600 {
				t.Errorf("saved Max-Age %d, want the session's remaining hour", m)
			}
			if len(cleared) != 1 || cleared[0].MaxAge >= 0 {
				t.Errorf("Clear set %v, want one expired cookie", cleared)
			}
		})
	}
	if loose.Options.Domain != "example" || loose.Options.MaxAge != 86400*30 || loose.Options.HttpOnly {
		t.Errorf("the gorilla store's Options were modified: %+v", loose.Options)
	}
}

func TestGorillaStoreNoSession(t *testing.T) {
	for _, b := range gorillaBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			g := newGorilla(t, b.store)
			cookies := saveTo(t, g, gorillaSession(time.Hour))
			v := cookies[0].Value
			other := newGorilla(t, sessions.NewFilesystemStore(t.TempDir(), []byte("another hash key, 32 bytes long!")))
			foreign := saveTo(t, other, gorillaSession(time.Hour))
			tests := []struct {
				name    string
				cookies []*http.Cookie
			}{
				{"absent", nil},
				{"empty", []*http.Cookie{{Name: "portcullis", Value: ""}}},
				{"garbage", []*http.Cookie{{Name: "portcullis", Value: "not a session"}}},
				{"tampered", []*http.Cookie{{Name: "portcullis", Value: v[:len(v)/2] + flip(v[len(v)/2]) + v[len(v)/2+1:]}}},
				{"truncated", []*http.Cookie{{Name: "portcullis", Value: v[:len(v)-8]}}},
				{"another key", foreign},
				{"another name", []*http.Cookie{{Name: "other", Value: v}}},
				{"longer than a browser sends", []*http.Cookie{{Name: "portcullis", Value: strings.Repeat("A", 5000)}}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					if s, err := g.Load(requestWith(tt.cookies...)); !errors.Is(err, session.ErrNoSession) {
						t.Fatalf("Load = %v, %v; want ErrNoSession", s, err)
					}
				})
			}
		})
	}
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func TestGorillaStoreExpired(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, b := range gorillaBackends(t) {
			g := newGorilla(t, b.store)
			cookies := saveTo(t, g, gorillaSession(time.Hour))
			time.Sleep(time.Hour + time.Second)
			if s, err := g.Load(requestWith(cookies...)); !errors.Is(err, session.ErrNoSession) {
				t.Errorf("%s: Load of an expired session = %v, %v; want ErrNoSession", b.name, s, err)
			}
			if err := g.Save(httptest.NewRecorder(), requestWith(), gorillaSession(time.Hour)); err != nil {
				t.Errorf("%s: Save of a fresh session: %v", b.name, err)
			}
			expired := gorillaSession(time.Minute)
			time.Sleep(2 * time.Minute)
			if err := g.Save(httptest.NewRecorder(), requestWith(), expired); err == nil {
				t.Errorf("%s: Save of an expired session succeeded", b.name)
			}
		}
	})
}

func TestGorillaStoreClear(t *testing.T) {
	for _, b := range gorillaBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			g := newGorilla(t, b.store)
			cookies := saveTo(t, g, gorillaSession(time.Hour))
			if b.dir != "" && len(sessionFiles(t, b.dir)) != 1 {
				t.Fatalf("files after Save: %v", sessionFiles(t, b.dir))
			}
			w := httptest.NewRecorder()
			if err := g.Clear(w, requestWith(cookies...)); err != nil {
				t.Fatal(err)
			}
			cleared := w.Result().Cookies()
			if len(cleared) != 1 || cleared[0].Name != "portcullis" || cleared[0].MaxAge >= 0 {
				t.Fatalf("Clear set %v, want portcullis expired", cleared)
			}
			if b.dir != "" {
				if files := sessionFiles(t, b.dir); len(files) != 0 {
					t.Errorf("files after Clear: %v", files)
				}
				// The record is gone: the old cookie, replayed, reads as
				// no session.
				if _, err := g.Load(requestWith(cookies...)); !errors.Is(err, session.ErrNoSession) {
					t.Errorf("Load of a cleared session: %v", err)
				}
			}
			// Clearing without a session (the middleware probes this at
			// startup) still answers with an expired cookie.
			w = httptest.NewRecorder()
			if err := g.Clear(w, requestWith()); err != nil || len(w.Result().Cookies()) != 1 {
				t.Errorf("Clear without a session: %v, %v", err, w.Result().Cookies())
			}
		})
	}
}

func TestGorillaStoreFilesystemErrors(t *testing.T) {
	tests := []struct {
		name     string
		corrupt  func(t *testing.T, file string)
		notFound bool
	}{
		{"record deleted", func(t *testing.T, file string) { os.Remove(file) }, true},
		{"record corrupted", func(t *testing.T, file string) { os.WriteFile(file, []byte("garbage"), 0o600) }, true},
		{"record unreadable", func(t *testing.T, file string) {
			// A directory where the file was: a read error even as root.
			os.Remove(file)
			if err := os.Mkdir(file, 0o700); err != nil {
				t.Fatal(err)
			}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			g := newGorilla(t, sessions.NewFilesystemStore(dir, gHashKey))
			cookies := saveTo(t, g, gorillaSession(time.Hour))
			files := sessionFiles(t, dir)
			if len(files) != 1 {
				t.Fatalf("files: %v", files)
			}
			tt.corrupt(t, files[0])
			s, err := g.Load(requestWith(cookies...))
			switch {
			case tt.notFound && !errors.Is(err, session.ErrNoSession):
				t.Fatalf("Load = %v, %v; want ErrNoSession", s, err)
			case !tt.notFound && (err == nil || errors.Is(err, session.ErrNoSession) || !strings.HasPrefix(err.Error(), "session: gorilla store:")):
				t.Fatalf("Load = %v, %v; want a system error", s, err)
			}
		})
	}
}

func TestGorillaStoreTooLarge(t *testing.T) {
	unlimited := sessions.NewFilesystemStore(t.TempDir(), gHashKey)
	unlimited.MaxLength(0)
	big := gorillaSession(time.Hour)
	big.Tokens.IDToken = strings.Repeat("x", 5000)
	tests := []struct {
		name  string
		store sessions.Store
		dir   string
		fits  bool
	}{
		{"cookie store", sessions.NewCookieStore(gHashKey, gBlockKey), "", false},
		{"filesystem store", sessions.NewFilesystemStore(filepath.Join(t.TempDir()), gHashKey), "", false},
		{"filesystem store without MaxLength", unlimited, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGorilla(t, tt.store)
			previous := saveTo(t, g, gorillaSession(time.Hour))
			w := httptest.NewRecorder()
			err := g.Save(w, requestWith(previous...), big)
			if tt.fits {
				if err != nil {
					t.Fatal(err)
				}
				if s, err := g.Load(requestWith(w.Result().Cookies()...)); err != nil || s.Tokens.IDToken != big.Tokens.IDToken {
					t.Fatalf("Load = %v, %v", s, err)
				}
				return
			}
			var sc securecookie.Error
			if !errors.Is(err, session.ErrTooLarge) || !errors.As(err, &sc) {
				t.Fatalf("Save = %v, want ErrTooLarge wrapping securecookie's error", err)
			}
			if len(w.Result().Cookies()) != 0 {
				t.Errorf("Save wrote %v", w.Result().Cookies())
			}
			// The browser keeps the session it had.
			if _, err := g.Load(requestWith(previous...)); err != nil {
				t.Errorf("previous session after ErrTooLarge: %v", err)
			}
		})
	}
}

// A sign-in on a browser carrying another session's record (an earlier
// sign-in, or a record ID an attacker planted) gets a new record; the old
// one is deleted.
func TestGorillaStoreNewSignInNewRecord(t *testing.T) {
	dir := t.TempDir()
	g := newGorilla(t, sessions.NewFilesystemStore(dir, gHashKey))
	planted := saveTo(t, g, gorillaSession(time.Hour))
	victim := gorillaSession(time.Hour)
	fresh := saveTo(t, g, victim, planted...)
	if fresh[0].Value == planted[0].Value {
		t.Fatal("the new session reused the planted cookie")
	}
	if s, err := g.Load(requestWith(planted...)); !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("planted cookie after sign-in: Load = %v, %v; want ErrNoSession", s, err)
	}
	if s, err := g.Load(requestWith(fresh...)); err != nil || s.ID != victim.ID {
		t.Fatalf("new session: Load = %v, %v", s, err)
	}
	if files := sessionFiles(t, dir); len(files) != 1 {
		t.Errorf("files: %v, want only the new record", files)
	}
}

func TestGorillaStoreConcurrent(t *testing.T) {
	for _, b := range gorillaBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			g := newGorilla(t, b.store)
			shared := saveTo(t, g, gorillaSession(time.Hour))
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for range 20 {
						s := gorillaSession(time.Hour)
						w := httptest.NewRecorder()
						if err := g.Save(w, requestWith(), s); err != nil {
							t.Error(err)
							return
						}
						if got, err := g.Load(requestWith(w.Result().Cookies()...)); err != nil || got.ID != s.ID {
							t.Errorf("Load = %v, %v", got, err)
							return
						}
						if _, err := g.Load(requestWith(shared...)); err != nil {
							t.Error(err)
							return
						}
						if err := g.Clear(httptest.NewRecorder(), requestWith(w.Result().Cookies()...)); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
		})
	}
}

// A sign-in through the middleware, with a GorillaStore as its Sessions,
// ends with a session the store loads.
func TestGorillaStoreMiddleware(t *testing.T) {
	opTS := httptest.NewTLSServer(nil)
	t.Cleanup(opTS.Close)
	appTS := httptest.NewTLSServer(nil)
	t.Cleanup(appTS.Close)
	op, err := devoidc.New(devoidc.Config{
		Issuer:     opTS.URL,
		Clients:    []devoidc.Client{{ID: "app", Secret: "s", RedirectURIs: []string{appTS.URL + "/auth/callback/dev"}}},
		AutoLogin:  "ada",
		HTTPClient: appTS.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	opTS.Config.Handler = op
	p, err := providers.OIDC(context.Background(), providers.OIDCConfig{
		Name: "dev", Issuer: opTS.URL, ClientID: "app", ClientSecret: "s", HTTPClient: opTS.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	store := newGorilla(t, sessions.NewFilesystemStore(dir, gHashKey, gBlockKey))
	cfg := middleware.Config{
		BaseURL:   appTS.URL,
		Providers: []*providers.Provider{p},
		Keys:      [][]byte{[]byte("0123456789abcdef0123456789abcdef")},
		Sessions:  store,
	}

	// The https BaseURL refuses a store that writes cookies without Secure.
	insecure, err := session.NewGorillaStore(session.GorillaConfig{Store: sessions.NewFilesystemStore(dir, gHashKey), InsecureCookies: true})
	if err != nil {
		t.Fatal(err)
	}
	bad := cfg
	bad.Sessions = insecure
	if _, err := middleware.New(bad); err == nil {
		t.Error("middleware.New accepted a GorillaStore with InsecureCookies for an https BaseURL")
	}

	auth, err := middleware.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("/private", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := middleware.UserFrom(r.Context())
		io.WriteString(w, "hello "+u.Subject)
	})))
	appTS.Config.Handler = mux
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := appTS.Client()
	client.Jar = jar
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	// Protected page, login, provider, callback, protected page again.
	next := appTS.URL + "/private"
	var body string
	for i := 0; ; i++ {
		if i == 10 {
			t.Fatal("too many redirects")
		}
		req, _ := http.NewRequest(http.MethodGet, next, nil)
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 300 || resp.StatusCode > 399 {
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: status %d %s", next, resp.StatusCode, b)
			}
			body = string(b)
			break
		}
		loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		next = loc.String()
	}
	if body != "hello ada" {
		t.Fatalf("protected page after sign-in: %q", body)
	}
	if files := sessionFiles(t, dir); len(files) != 1 {
		t.Errorf("session files: %v", files)
	}

	// The browser's cookie reads back through the store.
	r := httptest.NewRequest(http.MethodGet, appTS.URL+"/private", nil)
	for _, c := range jar.Cookies(r.URL) {
		r.AddCookie(c)
	}
	s, err := store.Load(r)
	if err != nil {
		t.Fatal(err)
	}
	if s.User.Subject != "ada" || s.User.Provider != "dev" || s.Tokens.IDToken == "" {
		t.Errorf("loaded session: %+v", s.User)
	}
}
