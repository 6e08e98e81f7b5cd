package redisstore

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/session"
	"github.com/redis/go-redis/v9"
)

// TestLoadRefuses: every cookie that is not a valid signed id reads as
// ErrNoSession. The malformed and badly signed ones are also refused by a
// store whose Redis is down, which shows that they never reach Redis.
func TestLoadRefuses(t *testing.T) {
	s, c, _ := testStore(t, nil)
	down := downStore(t)
	ss := newSession("ada", t0)
	good := save(t, s, ss).Value
	id, sig, _ := strings.Cut(good, ".")
	flip := func(v string, i int) string {
		b := []byte(v)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	forger, err := New(Config{Client: c, Keys: [][]byte{otherKey}})
	if err != nil {
		t.Fatal(err)
	}
	unknown := session.NewID()
	for _, tc := range []struct {
		name, value string
		noRedis     bool // refused before any Redis call
	}{
		{"empty", "", true},
		{"id only", id, true},
		{"tampered mac", id + "." + flip(sig, 5), true},
		{"tampered id", flip(id, 3) + "." + sig, true},
		{"forged with another key", forger.sign(id), true},
		{"non-canonical last char", id[:21] + "B" + "." + sig, true},
		{"padded", id + "==." + sig[:41], true},
		{"key injection", "../../x*" + strings.Repeat("a", 14) + "." + sig, true},
		{"spaces", strings.Repeat(" ", cookieLen), true},
		{"too long", good + "A", true},
		{"signed unknown id", s.sign(unknown), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ck := &http.Cookie{Name: s.Name(), Value: tc.value}
			if _, err := load(s, ck); !errors.Is(err, session.ErrNoSession) {
				t.Errorf("Load: %v, want ErrNoSession", err)
			}
			if tc.noRedis {
				ck.Name = down.Name()
				if _, err := load(down, ck); !errors.Is(err, session.ErrNoSession) {
					t.Errorf("Load with Redis down: %v, want ErrNoSession without a Redis call", err)
				}
			}
		})
	}
	t.Run("corrupt record", func(t *testing.T) {
		ctx := context.Background()
		for _, v := range []string{"{", `{"v":2,"session":{}}`, `{"v":1,"session":{"ID":"other"}}`} {
			c.Set(ctx, s.sessionKey(ss.ID), v, time.Minute)
			if _, err := load(s, &http.Cookie{Name: s.Name(), Value: good}); !errors.Is(err, session.ErrNoSession) {
				t.Errorf("record %q: %v, want ErrNoSession", v, err)
			}
		}
	})
}

func TestKeyRotation(t *testing.T) {
	old, c, _ := testStore(t, nil)
	ck := save(t, old, newSession("ada", t0))
	rotated, err := New(Config{Client: c, Keys: [][]byte{otherKey, testKey}, Prefix: old.prefix})
	if err != nil {
		t.Fatal(err)
	}
	rotated.now = old.now
	if _, err := load(rotated, ck); err != nil {
		t.Errorf("a cookie signed with the old key: %v", err)
	}
	if id, _ := rotated.parse(rotated.sign("AAAAAAAAAAAAAAAAAAAAAA")); id == "" {
		t.Error("the new key does not verify its own signature")
	}
	if _, ok := old.parse(rotated.sign("AAAAAAAAAAAAAAAAAAAAAA")); ok {
		t.Error("the old store accepts the new key it does not have")
	}
}

func TestExpiry(t *testing.T) {
	ctx := context.Background()
	t.Run("absolute", func(t *testing.T) {
		s, c, now := testStore(t, nil)
		ss := newSession("ada", t0)
		ck := save(t, s, ss)
		*now = t0.Add(40 * time.Minute)
		ck = save(t, s, ss, ck)
		if ttl := c.TTL(ctx, s.sessionKey(ss.ID)).Val(); ttl != 20*time.Minute {
			t.Errorf("TTL %v, want the remaining 20m: a Save never moves Expires", ttl)
		}
		if ck.MaxAge != 20*60 {
			t.Errorf("MaxAge %d, want 1200", ck.MaxAge)
		}
		*now = t0.Add(time.Hour)
		if _, err := load(s, ck); !errors.Is(err, session.ErrNoSession) {
			t.Errorf("Load at Expires: %v", err)
		}
		if err := s.Save(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), ss); err == nil {
			t.Error("Save of an expired session succeeded")
		}
	})
	t.Run("lifetime bound", func(t *testing.T) {
		s, _, _ := testStore(t, func(c *Config) { c.Lifetime = 30 * time.Minute })
		ss := newSession("ada", t0) // an hour: longer than the store allows
		if err := s.Save(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), ss); err == nil {
			t.Error("Save of a session longer than Lifetime succeeded")
		}
	})
	t.Run("idle", func(t *testing.T) {
		s, c, now := testStore(t, func(c *Config) { c.IdleTimeout = 10 * time.Minute })
		ss := newSession("ada", t0)
		ck := save(t, s, ss)
		key := s.sessionKey(ss.ID)
		if ttl := c.TTL(ctx, key).Val(); ttl != 10*time.Minute {
			t.Errorf("TTL %v, want IdleTimeout 10m", ttl)
		}
		if ck.MaxAge != 3600 {
			t.Errorf("MaxAge %d, want the remaining lifetime", ck.MaxAge)
		}
		*now = t0.Add(9 * time.Minute)
		if _, err := load(s, ck); err != nil {
			t.Fatalf("Load within the idle timeout: %v", err)
		}
		c.PExpire(ctx, key, time.Minute) // as if time had passed in Redis too
		save(t, s, ss, ck)
		if ttl := c.TTL(ctx, key).Val(); ttl != 10*time.Minute {
			t.Errorf("TTL after a Save %v, want 10m again", ttl)
		}
		*now = t0.Add(19*time.Minute + time.Second)
		if _, err := load(s, ck); !errors.Is(err, session.ErrNoSession) {
			t.Errorf("Load after the idle timeout: %v", err)
		}
		*now = t0.Add(55 * time.Minute)
		save(t, s, ss, ck)
		if ttl := c.TTL(ctx, key).Val(); ttl != 5*time.Minute {
			t.Errorf("TTL near the end %v, want min(remaining 5m, idle 10m)", ttl)
		}
	})
}

func TestClear(t *testing.T) {
	s, c, _ := testStore(t, nil)
	ctx := context.Background()
	ss := newSession("ada", t0)
	other := newSession("ada", t0)
	ck := save(t, s, ss)
	save(t, s, other)
	r := httptest.NewRequest(http.MethodPost, "/auth/logout", nil)
	r.AddCookie(ck)
	w := httptest.NewRecorder()
	if err := s.Clear(w, r); err != nil {
		t.Fatal(err)
	}
	cs := w.Result().Cookies()
	if len(cs) != 1 || cs[0].Name != s.Name() || cs[0].MaxAge >= 0 || cs[0].Value != "" || !cs[0].Secure || !cs[0].HttpOnly || cs[0].Path != "/" {
		t.Errorf("Clear cookies: %+v", cs)
	}
	if n := c.Exists(ctx, s.sessionKey(ss.ID)).Val(); n != 0 {
		t.Error("Clear left the record")
	}
	if m := c.SMembers(ctx, s.userKey("dev", "ada")).Val(); len(m) != 1 || m[0] != other.ID {
		t.Errorf("index after Clear: %v, want only the other session", m)
	}
	if _, err := load(s, ck); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("Load of the cleared cookie: %v", err)
	}
	// Without a cookie: only the expired cookie, no error.
	w = httptest.NewRecorder()
	if err := s.Clear(w, httptest.NewRequest(http.MethodPost, "/", nil)); err != nil || len(w.Result().Cookies()) != 1 {
		t.Errorf("Clear without a cookie: %v, %v", err, w.Result().Cookies())
	}
}

// TestSaveUpdates: an update never recreates an ended session, and a new
// session replaces the browser's previous one.
func TestSaveUpdates(t *testing.T) {
	s, c, _ := testStore(t, nil)
	ctx := context.Background()
	ss := newSession("ada", t0)
	ck := save(t, s, ss)
	if _, err := s.EndSessions(ctx, "dev", "ada"); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(ck)
	w := httptest.NewRecorder()
	if err := s.Save(w, r, ss); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("update of an ended session: %v, want ErrNoSession", err)
	}
	if len(w.Result().Cookies()) != 0 || c.Exists(ctx, s.sessionKey(ss.ID)).Val() != 0 {
		t.Error("an update brought an ended session back")
	}

	first := newSession("ada", t0)
	ck = save(t, s, first)
	second := newSession("ada", t0)
	save(t, s, second, ck)
	if c.Exists(ctx, s.sessionKey(first.ID)).Val() != 0 {
		t.Error("a new sign-in left the browser's previous session")
	}
	if _, err := load(s, ck); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("the replaced cookie: %v", err)
	}
}

// TestRedisDown: with Redis unreachable, Load and Save of a well-formed
// request fail with a system error, never ErrNoSession.
func TestRedisDown(t *testing.T) {
	s := downStore(t)
	ss := newSession("ada", t0)
	ck := &http.Cookie{Name: s.Name(), Value: s.sign(ss.ID)}
	if _, err := load(s, ck); err == nil || errors.Is(err, session.ErrNoSession) || !strings.HasPrefix(err.Error(), "redisstore: ") {
		t.Errorf("Load: %v, want a system error", err)
	}
	w := httptest.NewRecorder()
	if err := s.Save(w, httptest.NewRequest("GET", "/", nil), ss); err == nil || errors.Is(err, session.ErrNoSession) {
		t.Errorf("Save: %v, want a system error", err)
	}
	if len(w.Result().Cookies()) != 0 {
		t.Error("a failed Save set a cookie")
	}
	r := httptest.NewRequest("POST", "/", nil)
	r.AddCookie(ck)
	w = httptest.NewRecorder()
	if err := s.Clear(w, r); err == nil || len(w.Result().Cookies()) != 1 {
		t.Errorf("Clear: %v, cookies %v: want an error and the cookie expired anyway", err, w.Result().Cookies())
	}
	if _, err := s.Sessions(context.Background(), "dev", "ada"); err == nil {
		t.Error("Sessions succeeded")
	}
	if _, err := s.EndSessions(context.Background(), "dev", "ada"); err == nil {
		t.Error("EndSessions succeeded")
	}
	var _ redis.UniversalClient = s.rdb
}
