package redisstore

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/portcullis-go/portcullis/session"
	"github.com/redis/go-redis/v9"
)

// DefaultPrefix is the default prefix of every key the store writes.
const DefaultPrefix = "portcullis:"

// Config configures a [Store]. The zero value of every field but Client
// and Keys is a documented, secure default.
type Config struct {
	// Client is the Redis connection: a *redis.Client, a Sentinel-backed
	// *redis.Client (redis.NewFailoverClient) or a *redis.ClusterClient.
	// The store never closes it. Required. Redis 7.0 or later.
	Client redis.UniversalClient
	// Keys sign the session cookie, newest first: the first signs new
	// cookies, every key is tried when reading, so a new key can be put in
	// front and the old one removed a lifetime later. Each is 32 to 64
	// random bytes. Every instance sharing the Redis data must have the
	// same keys. Required.
	Keys [][]byte
	// Prefix starts every key: sessions are Prefix+"s:"+id, user indexes
	// Prefix+"u:"+provider+"|"+subject. Default [DefaultPrefix].
	Prefix string
	// CookieName is the name of the cookie that holds the signed session
	// id. Default "__Host-portcullis-id", or "portcullis-id" when
	// InsecureCookies is set (the __Host- prefix requires Secure).
	CookieName string
	// Lifetime is the longest any session may live from sign-in; a
	// session whose Expires lies further from its Created is refused.
	// Default [session.DefaultLifetime]; at least a minute.
	Lifetime time.Duration
	// IdleTimeout deletes a session that was not saved for this long: the
	// Redis key's TTL is min(Expires, now+IdleTimeout), reset by every
	// Save. Set it to the middleware's IdleTimeout, which saves active
	// sessions often enough. Default 0: no idle timeout; otherwise at
	// least a minute and at most Lifetime.
	IdleTimeout time.Duration
	// InsecureCookies omits the Secure attribute so that the cookie works
	// over plain http. It exists for http://127.0.0.1 development and
	// tests and MUST NOT be used in production.
	InsecureCookies bool
}

// Store keeps sessions in Redis and only a signed session id in the
// browser. It implements [session.Store] and is safe for concurrent use.
//
// Unlike [session.CookieStore] it can forget a session: [Store.Clear],
// [Store.EndSessions] and expiry delete the record, and a copied cookie
// then reads as [session.ErrNoSession].
type Store struct {
	rdb      redis.UniversalClient
	keys     [][]byte
	prefix   string
	name     string
	lifetime time.Duration
	idle     time.Duration
	secure   bool
	now      func() time.Time
}

var _ session.Store = (*Store)(nil)

// New returns a Store, or an error naming the field when the
// configuration is unsafe or inconsistent. It does not contact Redis.
func New(cfg Config) (*Store, error) {
	if cfg.Client == nil {
		return nil, errors.New("redisstore: Client is required")
	}
	keys, err := deriveKeys(cfg.Keys)
	if err != nil {
		return nil, fmt.Errorf("redisstore: Keys: %w", err)
	}
	if cfg.Prefix, err = checkPrefix("redisstore", cfg.Prefix); err != nil {
		return nil, err
	}
	if cfg.CookieName == "" {
		cfg.CookieName = "__Host-portcullis-id"
		if cfg.InsecureCookies {
			cfg.CookieName = "portcullis-id"
		}
	}
	if !validCookieName(cfg.CookieName) {
		return nil, fmt.Errorf("redisstore: CookieName %q is not a valid cookie name", cfg.CookieName)
	}
	if cfg.InsecureCookies && (strings.HasPrefix(cfg.CookieName, "__Host-") || strings.HasPrefix(cfg.CookieName, "__Secure-")) {
		return nil, fmt.Errorf("redisstore: CookieName %q needs Secure, which InsecureCookies turns off", cfg.CookieName)
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = session.DefaultLifetime
	}
	if cfg.Lifetime < time.Minute {
		return nil, fmt.Errorf("redisstore: Lifetime %v is shorter than a minute", cfg.Lifetime)
	}
	if cfg.IdleTimeout != 0 && (cfg.IdleTimeout < time.Minute || cfg.IdleTimeout > cfg.Lifetime) {
		return nil, fmt.Errorf("redisstore: IdleTimeout %v is outside a minute..Lifetime (%v)", cfg.IdleTimeout, cfg.Lifetime)
	}
	return &Store{
		rdb:      cfg.Client,
		keys:     keys,
		prefix:   cfg.Prefix,
		name:     cfg.CookieName,
		lifetime: cfg.Lifetime,
		idle:     cfg.IdleTimeout,
		secure:   !cfg.InsecureCookies,
		now:      time.Now,
	}, nil
}

// Name returns the name of the session cookie.
func (s *Store) Name() string { return s.name }

// checkPrefix returns prefix, or DefaultPrefix when it is empty, or an
// error (starting with who, the caller's name) for a prefix that cannot
// start a key: the one rule of Config and SharedConfig.
func checkPrefix(who, prefix string) (string, error) {
	if prefix == "" {
		return DefaultPrefix, nil
	}
	if strings.ContainsFunc(prefix, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
		return "", fmt.Errorf("%s: Prefix %q holds spaces or control characters", who, prefix)
	}
	return prefix, nil
}

func (s *Store) sessionKey(id string) string { return s.prefix + "s:" + id }

func (s *Store) userKey(provider, subject string) string {
	return s.prefix + "u:" + provider + "|" + subject
}

// Load implements [session.Store]. A request without the cookie, with a
// cookie whose signature or id syntax is wrong (refused without a Redis
// call), or whose record is missing, undecodable or expired reads as
// [session.ErrNoSession]; a Redis failure is returned as another error.
func (s *Store) Load(r *http.Request) (*session.Session, error) {
	id, ok := s.requestID(r)
	if !ok {
		return nil, session.ErrNoSession
	}
	data, err := s.rdb.Get(r.Context(), s.sessionKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, session.ErrNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: load: %w", err)
	}
	rec, err := decodeRecord(data)
	if err != nil || !s.live(rec, id, s.now()) {
		return nil, session.ErrNoSession
	}
	return &rec.Session, nil
}

// Save implements [session.Store]. A session whose ID the request's
// cookie already carries is an update: it is written only if its record
// still exists (a session ended meanwhile, by [Store.EndSessions] for
// instance, is not brought back; Save then returns an error wrapping
// [session.ErrNoSession]). Any other session is new: its record is
// created, and the record the request's cookie pointed to, if any, is
// deleted. A session with an empty ID gets a fresh one (s.ID is set);
// an ID not of the form [session.NewID] makes is refused.
//
// The record's TTL is min(s.Expires, now+IdleTimeout); the user's index
// is extended to cover it. The cookie's MaxAge is the session's remaining
// lifetime.
func (s *Store) Save(w http.ResponseWriter, r *http.Request, ss *session.Session) error {
	if ss == nil {
		return errors.New("redisstore: Save of a nil session")
	}
	now := s.now()
	if !ss.Valid(now) {
		return errors.New("redisstore: Save of an expired session")
	}
	if ss.Expires.After(ss.Created.Add(s.lifetime)) {
		return fmt.Errorf("redisstore: session lifetime exceeds the store's Lifetime %v", s.lifetime)
	}
	if ss.ID == "" {
		ss.ID = session.NewID()
	}
	if !validID(ss.ID) {
		return errors.New("redisstore: session ID is not 128 random bits in base64url (session.NewID)")
	}
	ttl := ss.Expires.Sub(now)
	if s.idle > 0 && s.idle < ttl {
		ttl = s.idle
	}
	ttl = max(ttl.Truncate(time.Millisecond), time.Millisecond)
	data, err := encodeRecord(ss, now)
	if err != nil {
		return fmt.Errorf("redisstore: encode: %w", err)
	}
	old, hadCookie := s.requestID(r)
	update := hadCookie && old == ss.ID
	ctx := r.Context()

	// The index first: an index entry without a record is harmless (it is
	// dropped when listed), a record missing from its index would escape
	// EndSessions.
	ukey := s.userKey(ss.User.Provider, ss.User.Subject)
	indexTTL := ttl.Truncate(time.Second) + time.Second
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.SAdd(ctx, ukey, ss.ID)
		p.ExpireNX(ctx, ukey, indexTTL) // a new index
		p.ExpireGT(ctx, ukey, indexTTL) // an index that would end too soon
		return nil
	}); err != nil {
		return fmt.Errorf("redisstore: save index: %w", err)
	}
	mode := "NX"
	if update {
		mode = "XX"
	}
	err = s.rdb.SetArgs(ctx, s.sessionKey(ss.ID), data, redis.SetArgs{Mode: mode, TTL: ttl}).Err()
	switch {
	case errors.Is(err, redis.Nil) && update:
		return fmt.Errorf("redisstore: save: the session has ended: %w", session.ErrNoSession)
	case errors.Is(err, redis.Nil):
		return errors.New("redisstore: save: a session with this ID already exists")
	case err != nil:
		return fmt.Errorf("redisstore: save: %w", err)
	}
	if hadCookie && !update {
		// The browser's previous session is replaced: forget it, so that a
		// copy of its cookie stops working too. Its index entry dangles
		// until listed.
		if err := s.rdb.Del(ctx, s.sessionKey(old)).Err(); err != nil {
			return fmt.Errorf("redisstore: save: delete the replaced session: %w", err)
		}
	}
	maxAge := max(int(ss.Expires.Sub(now)/time.Second), 1)
	http.SetCookie(w, s.cookie(s.sign(ss.ID), maxAge))
	return nil
}

// Clear implements [session.Store]: it expires the cookie and, when the
// request carries a valid one, deletes the session's record and its entry
// in the user's index. The cookie is expired even when Redis fails; the
// error is returned then.
func (s *Store) Clear(w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, s.cookie("", -1))
	id, ok := s.requestID(r)
	if !ok {
		return nil
	}
	ctx := r.Context()
	data, err := s.rdb.GetDel(ctx, s.sessionKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("redisstore: clear: %w", err)
	}
	rec, err := decodeRecord(data)
	if err != nil {
		return nil // the record is gone; an index entry, if any, dangles until listed
	}
	if err := s.rdb.SRem(ctx, s.userKey(rec.Session.User.Provider, rec.Session.User.Subject), id).Err(); err != nil {
		return fmt.Errorf("redisstore: clear index: %w", err)
	}
	return nil
}
