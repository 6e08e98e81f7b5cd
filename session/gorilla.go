package session

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// gorillaKey is the one key of the gorilla session's Values: its value is
// the session's own encoding (appendSession) as a []byte, a type every
// gorilla serializer handles without gob registration of portcullis types.
const gorillaKey = "portcullis.session"

// maxCookieValue is the longest cookie value a browser sends (4096 bytes
// per cookie, name included).
const maxCookieValue = 4096

// GorillaConfig configures a [GorillaStore].
type GorillaConfig struct {
	// Store is the gorilla/sessions store that keeps the sessions, such
	// as a sessions.FilesystemStore, a Redis store or a
	// sessions.CookieStore (which must encrypt: see [NewGorillaStore]).
	// Required.
	Store sessions.Store
	// Name is the gorilla session name, which is also the cookie's name.
	// The adapter owns the whole gorilla session of that name: do not
	// share it with the application's own values. Default "portcullis".
	Name string
	// InsecureCookies omits the Secure attribute so that cookies work over
	// plain http. It exists for http://127.0.0.1 development and tests and
	// MUST NOT be used in production.
	InsecureCookies bool
}

// GorillaStore is a [Store] over any [github.com/gorilla/sessions] store,
// for applications that already run one (a FilesystemStore, a Redis or SQL
// store). The session is kept in its own compact encoding as one []byte
// value of the gorilla session, never as gob of portcullis types.
//
// The adapter sets every cookie attribute itself rather than taking the
// gorilla store's Options: Path "/", no Domain, HttpOnly, SameSite=Lax,
// Secure unless InsecureCookies, and Max-Age the session's remaining
// lifetime (a server-side store also uses it as the record's lifetime).
// The store's own Options are never modified. The middleware's check that
// an https BaseURL gets a store writing Secure cookies (it reads the
// Set-Cookie of Clear) therefore refuses exactly a GorillaStore with
// InsecureCookies.
//
// Load uses the store's New, not Get: Get caches the decoded session in a
// per-request registry that it attaches by overwriting *r, so a Save after
// a Load in the same request would start from the cached copy (or the
// cached error), and the request would be mutated behind the caller's back.
// New decodes the request afresh and touches nothing.
//
// Save never reuses a server-side record that holds another session: a new
// sign-in gets a new record (and the store a new ID), and the record of the
// session it replaces is deleted, so a record ID planted in the browser
// before sign-in never carries the new session (session fixation).
//
// A GorillaStore does not bound the store's records: expired ones stay
// until the gorilla store removes them (a FilesystemStore never does), and
// the securecookie codecs' own MaxAge (gorilla's default is 30 days) ends
// a session early when it is shorter than the session's lifetime.
type GorillaStore struct {
	store  sessions.Store
	name   string
	secure bool
	now    func() time.Time
}

var _ Store = (*GorillaStore)(nil)

// NewGorillaStore returns a GorillaStore, or an error when the
// configuration is unsafe. For gorilla's own CookieStore and
// FilesystemStore it also refuses nil Options or no codecs, codecs that
// cannot encode (a missing hash key), and a CookieStore whose codecs do not
// encrypt: that store keeps the whole session, tokens included, in the
// cookie, and without an encryption key securecookie only signs it. Other
// stores cannot be inspected and are taken as configured.
func NewGorillaStore(cfg GorillaConfig) (*GorillaStore, error) {
	if cfg.Store == nil {
		return nil, errors.New("session: gorilla store: Store is required")
	}
	if cfg.Name == "" {
		cfg.Name = "portcullis"
	}
	if !validCookieName(cfg.Name) {
		return nil, fmt.Errorf("session: gorilla store: invalid session name %q", cfg.Name)
	}
	if cfg.InsecureCookies && (strings.HasPrefix(cfg.Name, "__Host-") || strings.HasPrefix(cfg.Name, "__Secure-")) {
		return nil, fmt.Errorf("session: gorilla store: name %q needs Secure, which InsecureCookies turns off", cfg.Name)
	}
	switch st := cfg.Store.(type) {
	case *sessions.CookieStore:
		if err := checkCodecs(st.Options, st.Codecs, cfg.Name, true); err != nil {
			return nil, fmt.Errorf("session: gorilla store: CookieStore: %w", err)
		}
	case *sessions.FilesystemStore:
		if err := checkCodecs(st.Options, st.Codecs, cfg.Name, false); err != nil {
			return nil, fmt.Errorf("session: gorilla store: FilesystemStore: %w", err)
		}
	}
	return &GorillaStore{store: cfg.Store, name: cfg.Name, secure: !cfg.InsecureCookies, now: time.Now}, nil
}

// probeText is encoded by checkCodecs; an encrypting codec never lets it
// show in its output.
const probeText = "portcullis: encryption probe"

// checkCodecs refuses what gorilla's built-in stores would only fail on
// (or panic on, for nil Options) at the first request. With mustEncrypt,
// every codec must encrypt: securecookie's output is base64url of
// "timestamp|value|mac", where value is the base64url of the serialized
// value unless the codec encrypts it.
func checkCodecs(opts *sessions.Options, codecs []securecookie.Codec, name string, mustEncrypt bool) error {
	if opts == nil {
		return errors.New("nil Options")
	}
	if len(codecs) == 0 {
		return errors.New("no codecs (keys)")
	}
	probe := []byte(probeText)
	for i, c := range codecs {
		encoded, err := c.Encode(name, probe)
		if err != nil {
			return fmt.Errorf("codec %d: %w", i, err)
		}
		if !mustEncrypt {
			continue
		}
		if _, ok := c.(*securecookie.SecureCookie); !ok {
			continue // another Codec: its format is its own
		}
		raw, err := base64.URLEncoding.DecodeString(encoded)
		parts := bytes.Split(raw, []byte("|"))
		if err != nil || len(parts) < 3 {
			return fmt.Errorf("codec %d: unexpected securecookie output", i)
		}
		value, err := base64.URLEncoding.DecodeString(string(parts[1]))
		if err == nil && bytes.Contains(value, probe) {
			return fmt.Errorf("codec %d has no encryption key: the cookie would carry the tokens in the clear", i)
		}
	}
	return nil
}

// Load implements [Store]. Absent, expired, tampered or undecodable
// sessions, and a record the store no longer has, are [ErrNoSession];
// other errors of the gorilla store (a read that failed) are returned.
func (g *GorillaStore) Load(r *http.Request) (*Session, error) {
	if c, err := r.Cookie(g.name); err == nil && len(c.Value) > maxCookieValue {
		// No browser sends it; not every store's decoder says so.
		return nil, ErrNoSession
	}
	gs, err := g.store.New(r, g.name)
	if err != nil {
		return nil, g.loadError(err)
	}
	if gs == nil {
		return nil, errors.New("session: gorilla store: New returned no session")
	}
	if gs.IsNew {
		return nil, ErrNoSession
	}
	s, ok := decodeGorilla(gs)
	if !ok || !s.Valid(g.now()) {
		return nil, ErrNoSession
	}
	return s, nil
}

// loadError classifies an error of the gorilla store's New.
func (g *GorillaStore) loadError(err error) error {
	var multi securecookie.MultiError
	var sc securecookie.Error
	switch {
	case errors.As(err, &multi) && !multi.IsUsage() && !multi.IsInternal():
		// DecodeMulti's errors: tampered, expired timestamp, unknown key,
		// and securecookie's length error, which is an untyped error.
		return ErrNoSession
	case errors.As(err, &sc) && sc.IsDecode():
		return ErrNoSession
	case errors.Is(err, fs.ErrNotExist):
		// The record behind a valid cookie is gone (deleted, cleaned
		// up): a FilesystemStore reports os.ReadFile's error.
		return ErrNoSession
	}
	return fmt.Errorf("session: gorilla store: %w", err)
}

// tooLong reports whether err, from a gorilla store's Save, is
// securecookie's length error: a MultiError of untyped errors, the only
// untyped error a SecureCookie's Encode returns (its other errors are
// typed usage errors, of keys NewGorillaStore checked and of a []byte,
// which always serializes).
func tooLong(err error) bool {
	var multi securecookie.MultiError
	if !errors.As(err, &multi) || len(multi) == 0 {
		return false
	}
	for _, e := range multi {
		var sc securecookie.Error
		if errors.As(e, &sc) {
			return false
		}
	}
	return true
}

// decodeGorilla returns the session held in gs's value.
func decodeGorilla(gs *sessions.Session) (*Session, bool) {
	data, ok := gs.Values[gorillaKey].([]byte)
	if !ok {
		return nil, false
	}
	s, err := decodeSession(data)
	return s, err == nil
}

// Save implements [Store]. A session the gorilla store cannot hold (for
// securecookie-based stores, an encoding beyond the codecs' MaxLength,
// 4096 bytes by default) is [ErrTooLarge]; gorilla's stores encode before
// they write anything, so nothing is written then.
func (g *GorillaStore) Save(w http.ResponseWriter, r *http.Request, s *Session) error {
	if s == nil {
		return errors.New("session: gorilla store: Save of a nil session")
	}
	now := g.now()
	if !s.Valid(now) {
		return errors.New("session: gorilla store: Save of an expired session")
	}
	if err := encodable(s); err != nil {
		return err
	}
	maxAge := max(int(s.Expires.Sub(now)/time.Second), 1)
	// New, not Get (see GorillaStore). Its error only says the request
	// carried no usable session: then the store starts a new record.
	gs, err := g.store.New(r, g.name)
	if gs == nil {
		if err == nil {
			err = errors.New("New returned no session")
		}
		return fmt.Errorf("session: gorilla store: %w", err)
	}
	// A record holding another session (an earlier sign-in, or an ID
	// planted before this one) is not reused: the store mints a new ID,
	// and the old record is deleted once the new one is written.
	var replaced string
	if old, ok := decodeGorilla(gs); err != nil || !ok || old.ID != s.ID {
		if err == nil {
			replaced = gs.ID
		}
		gs.ID, gs.IsNew = "", true
	}
	gs.Values = map[any]any{gorillaKey: appendSession(nil, s)}
	gs.Options = g.options(maxAge)
	if err := g.store.Save(r, w, gs); err != nil {
		if tooLong(err) {
			return fmt.Errorf("%w: %w", ErrTooLarge, err)
		}
		return fmt.Errorf("session: gorilla store: save: %w", err)
	}
	if replaced != "" {
		old := sessions.NewSession(g.store, g.name)
		old.ID = replaced
		old.Options = g.options(-1)
		// Best effort, headers discarded: the new session's cookie is
		// already set, and the old record no longer has a cookie.
		_ = g.store.Save(r, discardHeaders{}, old)
	}
	return nil
}

// Clear implements [Store]: it expires the cookie and, for server-side
// stores, deletes the record (gorilla stores delete on a negative MaxAge).
func (g *GorillaStore) Clear(w http.ResponseWriter, r *http.Request) error {
	// An error of New leaves a session with whatever ID the cookie
	// carried, which is what the deletion needs.
	gs, err := g.store.New(r, g.name)
	if gs == nil {
		if err == nil {
			err = errors.New("New returned no session")
		}
		return fmt.Errorf("session: gorilla store: %w", err)
	}
	gs.Values = map[any]any{}
	gs.Options = g.options(-1)
	if err := g.store.Save(r, w, gs); err != nil {
		return fmt.Errorf("session: gorilla store: clear: %w", err)
	}
	return nil
}

// options returns fresh cookie options for one gorilla session.
func (g *GorillaStore) options(maxAge int) *sessions.Options {
	return &sessions.Options{
		Path:     "/",
		MaxAge:   maxAge,
		Secure:   g.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
}

// discardHeaders is a ResponseWriter whose headers go nowhere: deleting a
// replaced record must not add a Set-Cookie beside the new session's.
type discardHeaders struct{}

func (discardHeaders) Header() http.Header         { return http.Header{} }
func (discardHeaders) Write(b []byte) (int, error) { return len(b), nil }
func (discardHeaders) WriteHeader(int)             {}
