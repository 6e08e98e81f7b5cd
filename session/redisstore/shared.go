package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// SharedConfig configures a [Shared]. The zero value of every field but
// Client is a documented, secure default.
type SharedConfig struct {
	// Client is the Redis connection: a *redis.Client, a Sentinel-backed
	// *redis.Client (redis.NewFailoverClient) or a *redis.ClusterClient.
	// It may be the client of the session [Store]. Shared never closes
	// it. Required. Redis 7.0 or later.
	Client redis.UniversalClient
	// Prefix starts every key: values are Prefix+"k:"+key, the log is
	// Prefix+"{log}seq" and Prefix+"{log}entries" and
	// Prefix+"{log}expiries" (one Cluster hash slot, through the {log}
	// hash tag). It follows the rules of [Config.Prefix], and may be the
	// session store's: their keys never collide. A Prefix whose own
	// braces defeat the {log} hash tag is refused. Default
	// [DefaultPrefix].
	Prefix string
	// MaxLogEntries bounds the shared log: an Append that would hold more
	// live entries than this is refused with an error (the middleware
	// then answers 503) until entries expire; no live entry is ever
	// dropped to make room. It also bounds what one Since returns.
	// Default 262,144 (twice the middleware's in-memory revocation list);
	// at most 16,777,216.
	MaxLogEntries int
	// InsecureSkipEvictionCheck skips the check [NewShared] makes that the
	// server's maxmemory-policy is noeviction. Set it only where CONFIG
	// GET is not available (managed Redis services rename or forbid it)
	// and only after making sure, in the service's settings, that the
	// policy is noeviction. It MUST NOT be used to run on an evicting
	// policy: Redis would then silently drop refresh locks, used login
	// states and revocations when memory runs short, and a replayed login
	// or a revoked session would be accepted.
	InsecureSkipEvictionCheck bool
}

// Shared is the storage several instances of an application share,
// on Redis: set it as the middleware's Config.Shared (it implements
// middleware.SharedState) and the instances coordinate refreshes, used
// login states, back-channel logout tokens and the revocation list
// through it. It is safe for concurrent use.
//
// Values live under Prefix+"k:"+key with a Redis TTL; the log is a
// counter and two sorted sets in one hash slot, changed only by Lua
// scripts, so a reader never sees a sequence number without its entry.
// Shared neither seals nor reads the values: the middleware seals those
// that hold tokens before they arrive. See the package documentation,
// "Several instances: shared coordination", for the Redis it needs.
type Shared struct {
	rdb     redis.UniversalClient
	prefix  string
	logKeys []string // seq, entries, expiries: the scripts' KEYS
	maxLog  int
	// The scripts; redis.NewScript computes each digest once.
	releaser, appender, reader *redis.Script

	now func() time.Time
}

const (
	defaultMaxLogEntries = 1 << 18
	maxMaxLogEntries     = 1 << 24
	// maxKeyLen is the longest key SharedState allows.
	maxKeyLen = 200
	// evictionFix is how every refusal of the eviction policy ends.
	evictionFix = "set maxmemory-policy noeviction (in redis.conf, with CONFIG SET, or in the service's parameter group)"
)

// NewShared returns a Shared, or an error when the configuration is
// unsafe. Unless InsecureSkipEvictionCheck is set, it asks the server
// (each node of a Cluster) for its maxmemory-policy with CONFIG GET and
// refuses any policy but noeviction: every key Shared writes has a TTL,
// so the volatile-* policies would evict them as readily as allkeys-*,
// and each is a record a security promise rests on. It therefore needs
// Redis to answer within ctx; an unreachable server is an error, as it
// is for the provider discovery of providers.OIDC. The check is made
// once: a policy changed later is not noticed.
func NewShared(ctx context.Context, cfg SharedConfig) (*Shared, error) {
	if cfg.Client == nil {
		return nil, errors.New("redisstore: shared: Client is required")
	}
	var err error
	if cfg.Prefix, err = checkPrefix("redisstore: shared", cfg.Prefix); err != nil {
		return nil, err
	}
	logKeys := []string{cfg.Prefix + "{log}seq", cfg.Prefix + "{log}entries", cfg.Prefix + "{log}expiries"}
	for _, k := range logKeys[1:] {
		if hashTag(k) != hashTag(logKeys[0]) {
			return nil, fmt.Errorf("redisstore: shared: Prefix %q defeats the {log} hash tag (an empty {} before it): the log keys would fall in different Cluster slots", cfg.Prefix)
		}
	}
	switch {
	case cfg.MaxLogEntries == 0:
		cfg.MaxLogEntries = defaultMaxLogEntries
	case cfg.MaxLogEntries < 0 || cfg.MaxLogEntries > maxMaxLogEntries:
		return nil, fmt.Errorf("redisstore: shared: MaxLogEntries %d is outside 1..%d", cfg.MaxLogEntries, maxMaxLogEntries)
	}
	if !cfg.InsecureSkipEvictionCheck {
		if err := checkEvictionPolicy(ctx, cfg.Client); err != nil {
			return nil, err
		}
	}
	return &Shared{
		rdb:      cfg.Client,
		prefix:   cfg.Prefix,
		logKeys:  logKeys,
		maxLog:   cfg.MaxLogEntries,
		releaser: redis.NewScript(releaseScript),
		appender: redis.NewScript(appendScript),
		reader:   redis.NewScript(sinceScript),
		now:      time.Now,
	}, nil
}

// hashTag returns the part of key that Redis Cluster hashes: the text
// between the first '{' and the first '}' after it when that is not
// empty, the whole key otherwise.
func hashTag(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i+1 : i+1+j]
		}
	}
	return key
}

// checkEvictionPolicy refuses a server, or any node of a Cluster or Ring,
// whose maxmemory-policy is not noeviction, or that does not say.
func checkEvictionPolicy(ctx context.Context, rdb redis.UniversalClient) error {
	type sharded interface {
		ForEachShard(context.Context, func(context.Context, *redis.Client) error) error
	}
	if c, ok := rdb.(sharded); ok {
		return c.ForEachShard(ctx, func(ctx context.Context, node *redis.Client) error {
			return checkNodePolicy(ctx, node, " on "+node.Options().Addr)
		})
	}
	return checkNodePolicy(ctx, rdb, "")
}

func checkNodePolicy(ctx context.Context, c redis.Cmdable, where string) error {
	m, err := c.ConfigGet(ctx, "maxmemory-policy").Result()
	var reply redis.Error
	switch {
	case errors.As(err, &reply):
		// The server answered, and refused: CONFIG is renamed or not
		// allowed to this user.
		return fmt.Errorf("redisstore: shared: cannot read maxmemory-policy%s (CONFIG GET: %w): make sure it is noeviction, then set SharedConfig.InsecureSkipEvictionCheck", where, err)
	case err != nil:
		return fmt.Errorf("redisstore: shared: check maxmemory-policy%s: %w", where, err)
	}
	policy, ok := m["maxmemory-policy"]
	switch {
	case !ok:
		return fmt.Errorf("redisstore: shared: the server%s did not report its maxmemory-policy: make sure it is noeviction, then set SharedConfig.InsecureSkipEvictionCheck", where)
	case policy != "noeviction":
		return fmt.Errorf("redisstore: shared: maxmemory-policy%s is %q, which lets Redis evict keys when memory runs short and silently drop refresh locks, used login states and revocations: %s", where, policy, evictionFix)
	}
	return nil
}

// key validates a SharedState key and returns the Redis key for it. The
// error never quotes the key: keys are derived from secrets.
func (s *Shared) key(key string) (string, error) {
	if len(key) == 0 || len(key) > maxKeyLen {
		return "", fmt.Errorf("key of %d bytes: want 1 to %d", len(key), maxKeyLen)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return "", fmt.Errorf("key holds a byte outside printable ASCII without spaces at %d", i)
		}
	}
	return s.prefix + "k:" + key, nil
}

// ttl returns the time from now to expires rounded up to a millisecond,
// Redis's precision, and false when expires is not in the future. The
// TTL is relative (SET PX), so the server's clock does not need to agree
// with the application's.
func ttl(expires, now time.Time) (time.Duration, bool) {
	d := expires.Sub(now)
	if d <= 0 {
		return 0, false
	}
	return (d + time.Millisecond - 1).Truncate(time.Millisecond), true
}

// Claim implements middleware.SharedState with SET NX PX. An expiry that
// is not in the future stores nothing (SET refuses a PX that is not
// positive) and costs an EXISTS: claimed then reports whether key was
// free, as it would for a value that expired at once.
func (s *Shared) Claim(ctx context.Context, key string, value []byte, expires time.Time) (bool, error) {
	k, err := s.key(key)
	if err != nil {
		return false, fmt.Errorf("redisstore: shared: claim: %w", err)
	}
	d, live := ttl(expires, s.now())
	if !live {
		n, err := s.rdb.Exists(ctx, k).Result()
		if err != nil {
			return false, fmt.Errorf("redisstore: shared: claim: %w", err)
		}
		return n == 0, nil
	}
	err = s.rdb.SetArgs(ctx, k, value, redis.SetArgs{Mode: "NX", TTL: d}).Err()
	switch {
	case errors.Is(err, redis.Nil):
		return false, nil // held
	case err != nil:
		return false, fmt.Errorf("redisstore: shared: claim: %w", err)
	}
	return true, nil
}

// Set implements middleware.SharedState with SET PX, or DEL when expires
// is not in the future.
func (s *Shared) Set(ctx context.Context, key string, value []byte, expires time.Time) error {
	k, err := s.key(key)
	if err != nil {
		return fmt.Errorf("redisstore: shared: set: %w", err)
	}
	if d, live := ttl(expires, s.now()); live {
		err = s.rdb.SetArgs(ctx, k, value, redis.SetArgs{TTL: d}).Err()
	} else {
		err = s.rdb.Del(ctx, k).Err()
	}
	if err != nil {
		return fmt.Errorf("redisstore: shared: set: %w", err)
	}
	return nil
}

// Get implements middleware.SharedState with GET.
func (s *Shared) Get(ctx context.Context, key string) ([]byte, bool, error) {
	k, err := s.key(key)
	if err != nil {
		return nil, false, fmt.Errorf("redisstore: shared: get: %w", err)
	}
	v, err := s.rdb.Get(ctx, k).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("redisstore: shared: get: %w", err)
	}
	return v, true, nil
}

// releaseScript deletes KEYS[1] if it holds ARGV[1]. It returns 0 rather
// than false when it does not: a false reply would read as redis.Nil.
const releaseScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`

// Release implements middleware.SharedState with a compare-and-delete
// script (EVALSHA, or EVAL once after a script cache flush).
func (s *Shared) Release(ctx context.Context, key string, value []byte) error {
	k, err := s.key(key)
	if err != nil {
		return fmt.Errorf("redisstore: shared: release: %w", err)
	}
	if err := s.releaser.Run(ctx, s.rdb, []string{k}, value).Err(); err != nil {
		return fmt.Errorf("redisstore: shared: release: %w", err)
	}
	return nil
}
