package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/sharedtest"
	"github.com/portcullis-go/portcullis/middleware"
	"github.com/redis/go-redis/v9"
)

var _ middleware.SharedState = (*Shared)(nil)

// testPrefix returns a prefix of the test's own, whose keys on c are
// deleted when the test ends.
func testPrefix(t testing.TB, c *redis.Client) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	prefix := "portcullis-test:" + strings.NewReplacer("/", ":", " ", "_").Replace(t.Name()) + ":" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() { deletePrefix(context.Background(), c, prefix) })
	return prefix
}

// deletePrefix deletes every key under prefix: a FLUSHALL of one test.
func deletePrefix(ctx context.Context, c *redis.Client, prefix string) {
	iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		c.Del(ctx, iter.Val())
	}
}

// testShared returns a Shared on the test Redis with a prefix of its own.
func testShared(t testing.TB, edit func(*SharedConfig)) (*Shared, *redis.Client) {
	t.Helper()
	c := redisClient(t)
	cfg := SharedConfig{Client: c, Prefix: testPrefix(t, c)}
	if edit != nil {
		edit(&cfg)
	}
	s, err := NewShared(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func TestSharedConformance(t *testing.T) {
	c := redisClient(t)
	sharedtest.Run(t,
		func(t *testing.T) sharedtest.State {
			s, _ := testShared(t, func(cfg *SharedConfig) { cfg.Client = c })
			return s
		},
		func(t *testing.T, s sharedtest.State) {
			deletePrefix(t.Context(), c, s.(*Shared).prefix)
		})
}

func TestNewShared(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled
	defer c.Close()
	ok := SharedConfig{Client: c, InsecureSkipEvictionCheck: true}
	for _, tc := range []struct {
		name string
		edit func(*SharedConfig)
		want string // "" for success
	}{
		{"defaults", func(*SharedConfig) {}, ""},
		{"no client", func(c *SharedConfig) { c.Client = nil }, "Client"},
		{"prefix with space", func(c *SharedConfig) { c.Prefix = "a b" }, "Prefix"},
		{"prefix with control", func(c *SharedConfig) { c.Prefix = "a\x00" }, "Prefix"},
		{"prefix defeats hash tag", func(c *SharedConfig) { c.Prefix = "app{}:" }, "hash tag"},
		{"prefix with own tag", func(c *SharedConfig) { c.Prefix = "{app}:" }, ""},
		{"prefix with open brace", func(c *SharedConfig) { c.Prefix = "a{b:" }, ""},
		{"negative log bound", func(c *SharedConfig) { c.MaxLogEntries = -1 }, "MaxLogEntries"},
		{"huge log bound", func(c *SharedConfig) { c.MaxLogEntries = 1<<24 + 1 }, "MaxLogEntries"},
		{"log bound", func(c *SharedConfig) { c.MaxLogEntries = 10 }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			s, err := NewShared(t.Context(), cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("NewShared: %v", err)
			case tc.want != "" && err == nil:
				t.Fatal("NewShared accepted the config")
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("NewShared: %v, want an error naming %s", err, tc.want)
			case tc.name == "defaults":
				if s.prefix != DefaultPrefix || s.maxLog != 1<<18 {
					t.Errorf("defaults: prefix %q, MaxLogEntries %d", s.prefix, s.maxLog)
				}
			}
			if err == nil {
				for _, k := range s.logKeys[1:] {
					if slot(k) != slot(s.logKeys[0]) {
						t.Errorf("log keys %q and %q are in slots %d and %d", s.logKeys[0], k, slot(s.logKeys[0]), slot(k))
					}
				}
			}
		})
	}
}

// downShared returns a Shared whose client points at a closed port.
func downShared(t *testing.T) *Shared {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second, DialerRetries: 1})
	t.Cleanup(func() { c.Close() })
	if _, err := NewShared(t.Context(), SharedConfig{Client: c}); err == nil || !strings.Contains(err.Error(), "check maxmemory-policy") {
		t.Errorf("NewShared of an unreachable Redis: %v, want the policy check to fail", err)
	}
	s, err := NewShared(t.Context(), SharedConfig{Client: c, InsecureSkipEvictionCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSharedUnreachable: every method of a Shared whose Redis is down
// fails with a prefixed error naming the operation, never claims or
// finds, and never quotes the key.
func TestSharedUnreachable(t *testing.T) {
	s := downShared(t)
	ctx := t.Context()
	key := "refresh-lock:0123456789abcdef"
	future, past := time.Now().Add(time.Hour), time.Now().Add(-time.Hour)
	check := func(op string, err error) {
		t.Helper()
		switch {
		case err == nil:
			t.Errorf("%s succeeded", op)
		case !strings.HasPrefix(err.Error(), "redisstore: shared: "+strings.ToLower(strings.Fields(op)[0])+": "):
			t.Errorf("%s: %v, want a prefixed error", op, err)
		case strings.Contains(err.Error(), key[13:]):
			t.Errorf("%s: %v quotes the key", op, err)
		}
	}
	claimed, err := s.Claim(ctx, key, []byte("v"), future)
	check("Claim", err)
	if claimed {
		t.Error("Claim claimed")
	}
	claimed, err = s.Claim(ctx, key, []byte("v"), past)
	check("Claim (past expiry)", err)
	if claimed {
		t.Error("Claim with a past expiry claimed")
	}
	check("Set", s.Set(ctx, key, []byte("v"), future))
	check("Set (past expiry)", s.Set(ctx, key, []byte("v"), past))
	v, found, err := s.Get(ctx, key)
	check("Get", err)
	if found || v != nil {
		t.Errorf("Get found %q", v)
	}
	check("Release", s.Release(ctx, key, []byte("v")))
	_, err = s.Append(ctx, []byte("e"), future)
	check("Append", err)
	entries, _, err := s.Since(ctx, 0)
	check("Since", err)
	if entries != nil {
		t.Errorf("Since returned %q", entries)
	}
}

// TestSharedKeyErrors: an invalid key is refused before any Redis call
// (a Shared that is down says so by its error), and never quoted.
func TestSharedKeyErrors(t *testing.T) {
	s := downShared(t)
	secret := "secret-token value"
	for _, err := range []error{
		func() error { _, err := s.Claim(t.Context(), secret, nil, time.Now().Add(time.Hour)); return err }(),
		s.Set(t.Context(), secret, nil, time.Now().Add(time.Hour)),
		func() error { _, _, err := s.Get(t.Context(), secret); return err }(),
		s.Release(t.Context(), secret, nil),
	} {
		if err == nil || !strings.Contains(err.Error(), "printable ASCII") || strings.Contains(err.Error(), "secret") {
			t.Errorf("%v: want a key error that does not quote the key", err)
		}
	}
}

// TestSharedEvictionPolicy: NewShared refuses a server whose
// maxmemory-policy may evict keys, naming the fix. It changes the test
// server's policy for a moment and restores it.
func TestSharedEvictionPolicy(t *testing.T) {
	c := redisClient(t)
	ctx := t.Context()
	orig, err := c.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		t.Fatal(err)
	}
	restore := func() {
		if err := c.ConfigSet(context.Background(), "maxmemory-policy", orig["maxmemory-policy"]).Err(); err != nil {
			t.Errorf("restore maxmemory-policy %q: %v", orig["maxmemory-policy"], err)
		}
	}
	t.Cleanup(restore)
	for _, policy := range []string{"allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"} {
		if err := c.ConfigSet(ctx, "maxmemory-policy", policy).Err(); err != nil {
			t.Fatal(err)
		}
		_, err := NewShared(ctx, SharedConfig{Client: c})
		restore() // at once: other tests may share this server
		if err == nil || !strings.Contains(err.Error(), `"`+policy+`"`) || !strings.Contains(err.Error(), "maxmemory-policy noeviction") {
			t.Errorf("NewShared with %s: %v, want a refusal naming the policy and the fix", policy, err)
		}
		if _, err := NewShared(ctx, SharedConfig{Client: c, InsecureSkipEvictionCheck: true}); err != nil {
			t.Errorf("NewShared with %s and InsecureSkipEvictionCheck: %v", policy, err)
		}
	}
	if err := c.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	_, err = NewShared(ctx, SharedConfig{Client: c})
	restore()
	if err != nil {
		t.Errorf("NewShared with noeviction: %v", err)
	}
}

// TestSharedConfigUnavailable: a server that refuses CONFIG GET (here an
// ACL user without it, as a managed Redis renames it) is refused, with
// the way out named; InsecureSkipEvictionCheck takes it.
func TestSharedConfigUnavailable(t *testing.T) {
	admin := redisClient(t)
	ctx := t.Context()
	var b [8]byte
	rand.Read(b[:])
	user, password := "portcullis-test-"+hex.EncodeToString(b[:4]), hex.EncodeToString(b[4:])
	if err := admin.Do(ctx, "ACL", "SETUSER", user, "on", ">"+password, "~*", "&*", "+@all", "-config").Err(); err != nil {
		t.Fatalf("ACL SETUSER: %v", err)
	}
	t.Cleanup(func() { admin.Do(context.Background(), "ACL", "DELUSER", user) })
	c := redis.NewClient(&redis.Options{Addr: admin.Options().Addr, Username: user, Password: password})
	t.Cleanup(func() { c.Close() })
	prefix := testPrefix(t, admin)
	_, err := NewShared(ctx, SharedConfig{Client: c, Prefix: prefix})
	if err == nil || !strings.Contains(err.Error(), "CONFIG GET") || !strings.Contains(err.Error(), "InsecureSkipEvictionCheck") {
		t.Fatalf("NewShared without CONFIG: %v, want a refusal naming InsecureSkipEvictionCheck", err)
	}
	s, err := NewShared(ctx, SharedConfig{Client: c, Prefix: prefix, InsecureSkipEvictionCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Claim(ctx, "k", []byte("v"), time.Now().Add(time.Minute)); err != nil || !ok {
		t.Errorf("Claim = %v, %v", ok, err)
	}
}

// crc16 is CRC-16/XMODEM, the checksum of Redis Cluster key slots.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// slot is the Redis Cluster hash slot of key.
func slot(key string) uint16 { return crc16(hashTag(key)) % 16384 }

// TestSharedLogSlot: the log's keys share one Cluster hash slot, so its
// scripts run on Cluster; hashTag follows the Cluster specification.
func TestSharedLogSlot(t *testing.T) {
	if got := crc16("123456789"); got != 0x31c3 {
		t.Fatalf("crc16 check value %#x, want 0x31c3", got)
	}
	for key, tag := range map[string]string{
		"{user1000}.following": "user1000",
		"foo{}{bar}":           "foo{}{bar}",
		"foo{{bar}}zap":        "{bar",
		"foo{bar}{zap}":        "bar",
		"plain":                "plain",
		"open{":                "open{",
	} {
		if got := hashTag(key); got != tag {
			t.Errorf("hashTag(%q) = %q, want %q", key, got, tag)
		}
	}
	for _, prefix := range []string{DefaultPrefix, "app:", "{app}:", "a{b:", "}{", "x{{"} {
		s, err := NewShared(t.Context(), SharedConfig{Client: redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), Prefix: prefix, InsecureSkipEvictionCheck: true})
		if err != nil {
			t.Fatalf("Prefix %q: %v", prefix, err)
		}
		if len(s.logKeys) != 3 {
			t.Fatalf("%d log keys", len(s.logKeys))
		}
		for _, k := range s.logKeys {
			if !strings.HasPrefix(k, prefix) || slot(k) != slot(s.logKeys[0]) {
				t.Errorf("Prefix %q: log key %q in slot %d, %q in %d", prefix, k, slot(k), s.logKeys[0], slot(s.logKeys[0]))
			}
		}
	}
}
