package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/session"
	"github.com/redis/go-redis/v9"
)

var (
	testKey  = []byte("0123456789abcdef0123456789abcdef")
	otherKey = []byte("fedcba9876543210fedcba9876543210")
	t0       = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
)

// redisClient returns a client for PORTCULLIS_REDIS_ADDR, or skips.
func redisClient(t testing.TB) *redis.Client {
	t.Helper()
	addr := os.Getenv("PORTCULLIS_REDIS_ADDR")
	if addr == "" {
		t.Skip("PORTCULLIS_REDIS_ADDR not set: start redis-server and set it to run the Redis store tests")
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at %s: %v", addr, err)
	}
	return c
}

// testStore returns a store on the test Redis with a prefix of its own,
// whose keys are deleted when the test ends, and a clock at t0.
func testStore(t testing.TB, edit func(*Config)) (*Store, *redis.Client, *time.Time) {
	t.Helper()
	c := redisClient(t)
	var b [6]byte
	rand.Read(b[:])
	prefix := "portcullis-test:" + strings.NewReplacer("/", ":", " ", "_").Replace(t.Name()) + ":" + hex.EncodeToString(b[:]) + ":"
	cfg := Config{Client: c, Keys: [][]byte{testKey}, Prefix: prefix, InsecureCookies: false}
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	s.now = func() time.Time { return now }
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return s, c, &now
}

// downStore returns a store whose client points at a closed port.
func downStore(t testing.TB) *Store {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { c.Close() })
	s, err := New(Config{Client: c, Keys: [][]byte{testKey}})
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return t0 }
	return s
}

func newSession(subject string, now time.Time) *session.Session {
	ss := session.New(session.User{
		Provider: "dev", Issuer: "https://op.example", Subject: subject,
		Email: subject + "@example.com", Name: "User " + subject, Groups: []string{"staff", "admins"},
	}, session.Tokens{
		AccessToken: "at-" + subject, TokenType: "Bearer", RefreshToken: "rt-" + subject,
		Expiry: now.Add(time.Hour), IDToken: "eyJhbGciOiJSUzI1NiJ9.e30.sig",
	}, now, time.Hour)
	ss.SID = "sid-" + subject
	ss.AuthTime = now
	ss.AMR = []string{"pwd"}
	return ss
}

// save saves ss for a request carrying cookies and returns the cookie set.
func save(t *testing.T, s *Store, ss *session.Session, cookies ...*http.Cookie) *http.Cookie {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	if err := s.Save(w, r, ss); err != nil {
		t.Fatalf("Save: %v", err)
	}
	cs := w.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("Save set %d cookies, want 1", len(cs))
	}
	return cs[0]
}

func load(s *Store, cookies ...*http.Cookie) (*session.Session, error) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return s.Load(r)
}

func TestNew(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled
	defer c.Close()
	ok := Config{Client: c, Keys: [][]byte{testKey}}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string // "" for success
	}{
		{"defaults", func(*Config) {}, ""},
		{"no client", func(c *Config) { c.Client = nil }, "Client"},
		{"no keys", func(c *Config) { c.Keys = nil }, "Keys"},
		{"short key", func(c *Config) { c.Keys = [][]byte{[]byte("short")} }, "Keys"},
		{"long key", func(c *Config) { c.Keys = [][]byte{make([]byte, 65)} }, "Keys"},
		{"zero key", func(c *Config) { c.Keys = [][]byte{make([]byte, 32)} }, "Keys"},
		{"second key bad", func(c *Config) { c.Keys = [][]byte{testKey, []byte("x")} }, "Keys"},
		{"prefix with space", func(c *Config) { c.Prefix = "a b" }, "Prefix"},
		{"bad cookie name", func(c *Config) { c.CookieName = "a;b" }, "CookieName"},
		{"host prefix insecure", func(c *Config) { c.CookieName = "__Host-x"; c.InsecureCookies = true }, "CookieName"},
		{"short lifetime", func(c *Config) { c.Lifetime = time.Second }, "Lifetime"},
		{"short idle", func(c *Config) { c.IdleTimeout = time.Second }, "IdleTimeout"},
		{"idle over lifetime", func(c *Config) { c.Lifetime = time.Hour; c.IdleTimeout = 2 * time.Hour }, "IdleTimeout"},
		{"idle ok", func(c *Config) { c.IdleTimeout = 30 * time.Minute }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			s, err := New(cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("New accepted the config")
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("New: %v, want an error naming %s", err, tc.want)
			case tc.want == "" && tc.name == "defaults":
				if s.Name() != "__Host-portcullis-id" || s.prefix != DefaultPrefix || s.lifetime != session.DefaultLifetime || !s.secure {
					t.Errorf("defaults: name %q prefix %q lifetime %v secure %v", s.Name(), s.prefix, s.lifetime, s.secure)
				}
			}
		})
	}
	s, err := New(Config{Client: c, Keys: [][]byte{testKey}, InsecureCookies: true})
	if err != nil || s.Name() != "portcullis-id" || s.secure {
		t.Errorf("InsecureCookies: %v, name %q, secure %v", err, s.Name(), s.secure)
	}
}

func TestRoundTrip(t *testing.T) {
	s, c, _ := testStore(t, nil)
	ss := newSession("ada", t0)
	ck := save(t, s, ss)
	if ck.Name != "__Host-portcullis-id" || !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" {
		t.Errorf("cookie attributes: %+v", ck)
	}
	if ck.MaxAge != 3600 {
		t.Errorf("MaxAge %d, want the remaining lifetime 3600", ck.MaxAge)
	}
	if strings.Contains(ck.Value, "at-ada") || !strings.HasPrefix(ck.Value, ss.ID+".") {
		t.Errorf("cookie value %q: want only the id and its MAC", ck.Value)
	}
	got, err := load(s, ck)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !reflect.DeepEqual(got, ss) {
		t.Errorf("Load:\n got %+v\nwant %+v", got, ss)
	}
	ctx := context.Background()
	if ttl := c.TTL(ctx, s.sessionKey(ss.ID)).Val(); ttl != time.Hour {
		t.Errorf("session TTL %v, want 1h", ttl)
	}
	if ttl := c.TTL(ctx, s.userKey("dev", "ada")).Val(); ttl < time.Hour {
		t.Errorf("index TTL %v, want ≥ 1h", ttl)
	}
	if m := c.SMembers(ctx, s.userKey("dev", "ada")).Val(); !reflect.DeepEqual(m, []string{ss.ID}) {
		t.Errorf("index %v", m)
	}
	// An update keeps the id and rewrites the record.
	ss.Tokens.AccessToken = "at-2"
	ck2 := save(t, s, ss, ck)
	if ck2.Value != ck.Value {
		t.Errorf("update changed the cookie: %q → %q", ck.Value, ck2.Value)
	}
	if got, err := load(s, ck); err != nil || got.Tokens.AccessToken != "at-2" {
		t.Errorf("Load after update: %v, %+v", err, got)
	}
	// Two cookies of the name: refused.
	if _, err := load(s, ck, ck); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("two cookies: %v", err)
	}
}

func TestCookieSize(t *testing.T) {
	s, _, _ := testStore(t, nil)
	ss := newSession("ada", t0)
	ss.Tokens.IDToken = strings.Repeat("x", 4000) // tokens stay server-side
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	w := httptest.NewRecorder()
	if err := s.Save(w, r, ss); err != nil {
		t.Fatal(err)
	}
	line := w.Header().Get("Set-Cookie")
	if len(line) >= 200 {
		t.Errorf("Set-Cookie is %d bytes, want < 200: %s", len(line), line)
	}
	t.Logf("Set-Cookie: %d bytes, value %d bytes", len(line), cookieLen)
}

func TestEmptyIDGetsFreshOne(t *testing.T) {
	s, _, _ := testStore(t, nil)
	ss := newSession("ada", t0)
	ss.ID = ""
	ck := save(t, s, ss)
	if !validID(ss.ID) {
		t.Fatalf("Save set ID %q", ss.ID)
	}
	if got, err := load(s, ck); err != nil || got.ID != ss.ID {
		t.Fatalf("Load: %v", err)
	}
	bad := newSession("ada", t0)
	bad.ID = "../../etc"
	if err := s.Save(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil), bad); err == nil {
		t.Error("Save accepted a malformed ID")
	}
}
