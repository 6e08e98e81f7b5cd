package redisstore

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/portcullis-go/portcullis/internal/cookiekeys"
)

// The cookie value is id + "." + mac: id is 128 random bits in unpadded
// base64url (22 characters, as session.NewID makes them), mac is the
// HMAC-SHA256 of the id under a key derived from a configured key, in
// unpadded base64url (43 characters).
const (
	idLen     = 22
	macLen    = 43
	cookieLen = idLen + 1 + macLen
	// hkdfInfo labels the derived keys; the cookie store's labels are
	// "portcullis/session/…", so no key is shared with it.
	hkdfInfo = "portcullis/redisstore-id/hmac-sha256"
)

// deriveKeys validates the configured keys and derives one MAC key from
// each, newest first.
func deriveKeys(keys [][]byte) ([][]byte, error) {
	if err := cookiekeys.Validate(keys); err != nil {
		return nil, err
	}
	out := make([][]byte, len(keys))
	for i, k := range keys {
		mk, err := hkdf.Key(sha256.New, k, nil, hkdfInfo, 32)
		if err != nil {
			return nil, err
		}
		out[i] = mk
	}
	return out, nil
}

func mac(key []byte, id string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	return h.Sum(nil)
}

// sign returns the cookie value for id, signed with the newest key.
func (s *Store) sign(id string) string {
	return id + "." + base64.RawURLEncoding.EncodeToString(mac(s.keys[0], id))
}

// validID reports whether id has the syntax of session.NewID: 22
// characters of unpadded base64url that decode canonically to 16 bytes. It
// is the only gate between request text and a Redis key.
func validID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(id)
	return err == nil && len(b) == 16
}

// parse returns the session id a cookie value carries when its syntax is
// valid and its MAC verifies under one of the keys. It makes no network
// call.
func (s *Store) parse(value string) (string, bool) {
	if len(value) != cookieLen {
		return "", false
	}
	id, sig, ok := strings.Cut(value, ".")
	if !ok || !validID(id) || len(sig) != macLen {
		return "", false
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return "", false
	}
	for _, k := range s.keys {
		if hmac.Equal(got, mac(k, id)) {
			return id, true
		}
	}
	return "", false
}

// requestID returns the verified session id of the request's cookie, when
// it carries exactly one cookie of the store's name.
func (s *Store) requestID(r *http.Request) (string, bool) {
	cs := r.CookiesNamed(s.name)
	if len(cs) != 1 {
		return "", false
	}
	return s.parse(cs[0].Value)
}

func (s *Store) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     s.name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		Secure:   s.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
}

// validCookieName reports whether name is a non-empty RFC 6265 token.
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
