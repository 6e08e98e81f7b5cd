package session

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/portcullis-go/portcullis/internal/cookiekeys"
)

// Defaults and bounds of [CookieConfig].
const (
	DefaultLifetime  = 12 * time.Hour
	DefaultMaxChunks = 5
	// MaxChunksLimit is the largest MaxChunks a CookieStore accepts.
	MaxChunksLimit = 16
	// chunkSize is the most value bytes one cookie carries, leaving room for
	// the name and attributes under browsers' 4096-byte limit per cookie.
	chunkSize = 3800
)

// ErrTooLarge is returned by [CookieStore.Save] when the encoded session
// needs more cookies than MaxChunks allows. Nothing is written: the browser
// keeps whatever session it had.
var ErrTooLarge = errors.New("session: encoded session exceeds the cookie size limit")

// CookieConfig configures a [CookieStore]. The zero value of every field but
// Keys is a documented, secure default.
type CookieConfig struct {
	// Keys are the secret keys, newest first: the first encrypts and signs
	// new cookies, every key is tried when reading, so a new key can be put
	// in front and the old one removed a lifetime later without signing
	// anyone out. Each is 32 to 64 random bytes. Required.
	Keys [][]byte
	// Name is the cookie name; chunks are Name.1, Name.2, …. Default
	// "__Host-portcullis", or "portcullis" when InsecureCookies is set (the
	// __Host- prefix requires Secure).
	Name string
	// Lifetime is the longest any session may live, enforced from the
	// authenticated timestamp as well as from the session's own Expires.
	// Default [DefaultLifetime].
	Lifetime time.Duration
	// MaxChunks is the most cookies one session may span. Default
	// [DefaultMaxChunks], at most [MaxChunksLimit].
	MaxChunks int
	// InsecureCookies omits the Secure attribute so that cookies work over
	// plain http. It exists for http://127.0.0.1 development and tests and
	// MUST NOT be used in production.
	InsecureCookies bool
}

// CookieStore keeps the whole session in the browser: in the compact
// binary encoding of this package, encrypted and authenticated with
// AES-256-GCM under a key derived for sessions alone, the cookie name and
// the session's expiry bound as associated data, one base64url pass (the
// format is described in seal.go and docs/ARCHITECTURE.md), split over
// several cookies (Name, Name.1, …) when it is larger than one cookie can
// hold. Cookies written by earlier versions (gorilla/securecookie's
// format, "N." before the value) are still read, and the next Save
// writes the session in the new format, so an upgrade signs nobody out.
//
// The first cookie's value starts with the number of chunks ("3~…"); a
// request whose chunks are missing, duplicated, reordered or mixed from two
// sessions fails authentication and reads as [ErrNoSession]. Nothing is
// allocated from a count an attacker sends beyond MaxChunks.
//
// A CookieStore cannot forget a session on its own: a copied cookie stays
// valid until it expires. The middleware's revocation list covers that.
type CookieStore struct {
	name       string
	chunkNames []string // Name, Name.1, … Name.(MaxChunksLimit-1)
	lifetime   time.Duration
	maxChunks  int
	secure     bool
	sealer     *sealer
	legacy     []securecookie.Codec // read only: cookies of the securecookie format
	cache      *decodedCache
	now        func() time.Time
}

var _ Store = (*CookieStore)(nil)

// Separators after the chunk count in the first cookie: the format of the
// value that follows.
const (
	sepSealed = '~' // seal.go
	sepLegacy = '.' // gorilla/securecookie, read only
)

// NewCookieStore returns a CookieStore, or an error when the configuration
// is unsafe or inconsistent.
func NewCookieStore(cfg CookieConfig) (*CookieStore, error) {
	if cfg.Lifetime == 0 {
		cfg.Lifetime = DefaultLifetime
	}
	if cfg.Lifetime < time.Minute {
		return nil, fmt.Errorf("session: Lifetime %v is shorter than a minute", cfg.Lifetime)
	}
	if cfg.MaxChunks == 0 {
		cfg.MaxChunks = DefaultMaxChunks
	}
	if cfg.MaxChunks < 1 || cfg.MaxChunks > MaxChunksLimit {
		return nil, fmt.Errorf("session: MaxChunks %d is outside 1..%d", cfg.MaxChunks, MaxChunksLimit)
	}
	if cfg.Name == "" {
		cfg.Name = "__Host-portcullis"
		if cfg.InsecureCookies {
			cfg.Name = "portcullis"
		}
	}
	if !validCookieName(cfg.Name) {
		return nil, fmt.Errorf("session: invalid cookie name %q", cfg.Name)
	}
	if cfg.InsecureCookies && strings.HasPrefix(cfg.Name, "__Host-") || cfg.InsecureCookies && strings.HasPrefix(cfg.Name, "__Secure-") {
		return nil, fmt.Errorf("session: cookie name %q needs Secure, which InsecureCookies turns off", cfg.Name)
	}
	sl, err := newSealer(cfg.Keys, "session")
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	legacy, err := cookiekeys.Codecs(cfg.Keys, "session", cfg.Lifetime, 0)
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	names := make([]string, MaxChunksLimit)
	names[0] = cfg.Name
	for i := 1; i < MaxChunksLimit; i++ {
		names[i] = cfg.Name + "." + strconv.Itoa(i)
	}
	return &CookieStore{
		name:       cfg.Name,
		chunkNames: names,
		lifetime:   cfg.Lifetime,
		maxChunks:  cfg.MaxChunks,
		secure:     !cfg.InsecureCookies,
		sealer:     sl,
		legacy:     legacy,
		cache:      newDecodedCache(cacheEntries),
		now:        time.Now,
	}, nil
}

// Name returns the name of the session's first cookie.
func (c *CookieStore) Name() string { return c.name }

// Load implements [Store].
func (c *CookieStore) Load(r *http.Request) (*Session, error) {
	return c.LoadAt(r, c.now())
}

// LoadAt is [CookieStore.Load] at the time now, read by the caller: the
// middleware reads the clock once per request and checks the session's
// expiry, idle time and revocation at that same instant.
func (c *CookieStore) LoadAt(r *http.Request, now time.Time) (*Session, error) {
	var buf [MaxChunksLimit]string
	parts, at, ok := c.read(r, buf[:0])
	if !ok {
		return nil, ErrNoSession
	}
	// A value seen before and authenticated then is served from the
	// cache, compared byte for byte; the expiry check below runs on every
	// request either way.
	s, ok := c.cache.get(parts, now)
	if !ok {
		if s, ok = c.decode(parts, at, now); !ok {
			return nil, ErrNoSession
		}
		c.cache.put(parts, s, now)
	}
	if !s.Valid(now) {
		return nil, ErrNoSession
	}
	return s, nil
}

// decode authenticates and decodes the value made of parts (the first
// with its count prefix, its separator at parts[0][at]), in either format.
func (c *CookieStore) decode(parts []string, at int, now time.Time) (*Session, bool) {
	sep := parts[0][at]
	for _, p := range parts {
		// net/http would not have read a cookie with other bytes. The
		// sealed format's strict base64url decoder refuses every byte
		// outside its alphabet but CR and LF, which it skips.
		if sep == sepSealed && (strings.IndexByte(p, '\r') >= 0 || strings.IndexByte(p, '\n') >= 0) || sep != sepSealed && !validCookieValue(p) {
			return nil, false
		}
	}
	encoded := parts[0][at+1:]
	if len(parts) > 1 {
		// One copy of the chunks joined, not Join's and then another.
		size := len(encoded)
		for _, p := range parts[1:] {
			size += len(p)
		}
		var b strings.Builder
		b.Grow(size)
		b.WriteString(encoded)
		for _, p := range parts[1:] {
			b.WriteString(p)
		}
		encoded = b.String()
	}
	var data []byte
	switch sep {
	case sepSealed:
		pt, exp, err := c.sealer.open(c.name, encoded, now, c.lifetime)
		if err != nil {
			return nil, false
		}
		s, err := decodeSessionArena(pt)
		if err != nil {
			return nil, false
		}
		// The header's expiry is the session's, rounded up to the second.
		if got, ok := expirySeconds(s.Expires); !ok || int64(got) != exp {
			return nil, false
		}
		return c.bounded(s)
	default:
		if !canonicalBase64(encoded) {
			return nil, false
		}
		if err := securecookie.DecodeMulti(c.name, encoded, &data, c.legacy...); err != nil {
			return nil, false
		}
		s, err := decodeSessionOwned(data)
		if err != nil {
			return nil, false
		}
		// The cookie's authenticated timestamp is never older than
		// Created, and Expires ≤ Created+Lifetime, so checking Expires
		// also bounds the timestamp's age for cached values.
		return c.bounded(s)
	}
}

// bounded refuses a session that would live longer than Lifetime.
func (c *CookieStore) bounded(s *Session) (*Session, bool) {
	if s.Expires.After(s.Created.Add(c.lifetime)) {
		return nil, false
	}
	return s, true
}

// read finds the request's chunk cookies, appended to parts: the first
// cookie's value (with its count prefix, which ends with the format's
// separator at index at) and then Name.1, …, checked for count and size
// but not yet for their bytes (see findCookie).
func (c *CookieStore) read(r *http.Request, parts []string) (_ []string, at int, _ bool) {
	first, ok := onlyCookie(r, c.name)
	if !ok || len(first) < 2 {
		return nil, 0, false
	}
	at = 1
	if first[1] >= '0' && first[1] <= '9' {
		at = 2
	}
	if len(first) <= at || first[at] != sepSealed && first[at] != sepLegacy {
		return nil, 0, false
	}
	n, err := strconv.Atoi(first[:at])
	rest := len(first) - at - 1
	if err != nil || first[0] < '1' || first[0] > '9' || n > c.maxChunks || rest == 0 || rest > chunkSize {
		return nil, 0, false
	}
	parts = append(parts, first)
	for i := 1; i < n; i++ {
		v, ok := onlyCookie(r, c.chunkNames[i])
		if !ok || len(v) == 0 || len(v) > chunkSize {
			return nil, 0, false
		}
		parts = append(parts, v)
	}
	return parts, at, true
}

// canonicalBase64 reports whether the unused low bits of the last character
// of padded base64url are zero. securecookie's decoder ignores them, so
// without this check a changed last character (up to 15 other values) would
// still read as the same session. (The sealed format's decoder is strict.)
func canonicalBase64(s string) bool {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var unused int
	switch {
	case strings.HasSuffix(s, "=="):
		s, unused = s[:len(s)-2], 0x0f
	case strings.HasSuffix(s, "="):
		s, unused = s[:len(s)-1], 0x03
	default:
		return true
	}
	return s != "" && strings.IndexByte(alphabet, s[len(s)-1])&unused == 0
}

// onlyCookie returns the raw value of the cookie called name when the
// request carries exactly one such cookie. The value's bytes are not
// checked when there is one (see findCookie); with several, net/http
// decides which are valid.
func onlyCookie(r *http.Request, name string) (string, bool) {
	switch v, n := findCookie(r.Header, name); n {
	case 0:
		return "", false
	case 1:
		return v, true
	}
	cs := r.CookiesNamed(name)
	if len(cs) != 1 {
		return "", false
	}
	return cs[0].Value, true
}

// Save implements [Store]. It writes every chunk, expires chunks of an
// earlier, larger session that the request carried, and returns
// [ErrTooLarge] without writing anything when the session does not fit.
func (c *CookieStore) Save(w http.ResponseWriter, r *http.Request, s *Session) error {
	if s == nil {
		return errors.New("session: Save of a nil session")
	}
	now := c.now()
	if !s.Valid(now) {
		return errors.New("session: Save of an expired session")
	}
	if s.Expires.After(s.Created.Add(c.lifetime)) {
		return fmt.Errorf("session: session lifetime exceeds the store's Lifetime %v", c.lifetime)
	}
	if err := encodable(s); err != nil {
		// Load would refuse it: fail here, not with a cookie no one can read.
		return err
	}
	encoded, err := c.sealer.seal(c.name, s.Expires, appendSession(nil, s))
	if err != nil {
		return fmt.Errorf("session: encode: %w", err)
	}
	n := (len(encoded) + chunkSize - 1) / chunkSize
	if n > c.maxChunks {
		return fmt.Errorf("%w: %d bytes need %d cookies, MaxChunks is %d", ErrTooLarge, len(encoded), n, c.maxChunks)
	}
	prefix := strconv.Itoa(n) + string(sepSealed)
	maxAge := int(s.Expires.Sub(now) / time.Second)
	if maxAge < 1 {
		maxAge = 1
	}
	for i := 0; i < n; i++ {
		part := encoded[i*chunkSize : min((i+1)*chunkSize, len(encoded))]
		if i == 0 {
			part = prefix + part
		}
		http.SetCookie(w, c.cookie(c.chunkNames[i], part, maxAge))
	}
	c.expireFrom(w, r, n)
	return nil
}

// Clear implements [Store]: it expires the first cookie and every chunk the
// request carried.
func (c *CookieStore) Clear(w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, c.cookie(c.name, "", -1))
	c.expireFrom(w, r, 1)
	return nil
}

// expireFrom expires chunk cookies with index ≥ from that the request
// carries.
func (c *CookieStore) expireFrom(w http.ResponseWriter, r *http.Request, from int) {
	seen := make(map[string]bool)
	for _, ck := range r.Cookies() {
		rest, ok := strings.CutPrefix(ck.Name, c.name+".")
		if !ok || seen[ck.Name] {
			continue
		}
		if i, err := strconv.Atoi(rest); err == nil && i >= from && i < MaxChunksLimit && c.chunkNames[i] == ck.Name {
			seen[ck.Name] = true
			http.SetCookie(w, c.cookie(ck.Name, "", -1))
		}
	}
}

func (c *CookieStore) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		Secure:   c.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
}

// validCookieName reports whether name is a non-empty RFC 6265 token that
// leaves room for chunk suffixes.
func validCookieName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}
