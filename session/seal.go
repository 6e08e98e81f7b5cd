package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/portcullis-go/portcullis/internal/cookiekeys"
)

// The session cookie's seal: one AES-256-GCM encryption (the standard
// library's, NIST SP 800-38D) under a key derived per purpose, with the
// cookie name and the session's expiry bound as associated data, and one
// base64url pass (RFC 4648 §5, unpadded). The sealed bytes are
//
//	version  1 byte   (sealVersion)
//	key id   1 byte   (derived from the key: which key sealed it)
//	expires  4 bytes  (big-endian Unix seconds, rounded up, of Session.Expires)
//	nonce    12 bytes (random, per seal)
//	ciphertext of the session encoding (codec.go), 16-byte tag
//
// The header (version, key id, expires) and the cookie name are the
// associated data: a value sealed for another cookie name, with another
// expiry, or under another format version fails authentication. The expiry
// is readable before decryption, so an expired or over-long cookie is
// refused without spending the decryption on it; after decryption the
// session's own Expires must agree with it.
//
// Why not securecookie: see docs/ARCHITECTURE.md ("The session cookie
// format"). In short, securecookie base64-encodes twice, adds a
// timestamp, and runs HMAC-SHA256 and AES-CTR as two passes: a 1,428-byte
// session became a 2,652-byte cookie costing 4 to 5 crypto floors to open.
const (
	sealVersion = 1
	sealHeader  = 1 + 1 + 4 + 12
	sealTag     = 16
	sealMin     = sealHeader + sealTag
)

var sealEncoding = base64.RawURLEncoding.Strict()

// errSeal is every refusal of a sealed value: the callers answer
// ErrNoSession and say no more.
var errSeal = errors.New("session: sealed value refused")

// sealKey is one configured key, expanded for the session purpose.
type sealKey struct {
	id   byte
	aead cipher.AEAD
}

// sealer seals with the first key and opens with any.
type sealer struct {
	keys []sealKey
	// nonce fills a seal's nonce: crypto/rand, or a fixed sequence in
	// tests that need the same value in every fuzzing worker.
	nonce func([]byte)
}

// newSealer derives one AES-256-GCM key per configured key, newest first,
// for purpose ("session"), with HKDF-SHA256 (RFC 5869): the info strings
// differ from the securecookie ones internal/cookiekeys derives, so no
// key serves two constructions.
func newSealer(keys [][]byte, purpose string) (*sealer, error) {
	if err := cookiekeys.Validate(keys); err != nil {
		return nil, err
	}
	s := &sealer{keys: make([]sealKey, len(keys)), nonce: func(b []byte) {
		rand.Read(b) // never returns an error; see crypto/rand.Read
	}}
	for i, k := range keys {
		enc, err := hkdf.Key(sha256.New, k, nil, "portcullis/"+purpose+"/aes-256-gcm", 32)
		if err != nil {
			return nil, err
		}
		id, err := hkdf.Key(sha256.New, k, nil, "portcullis/"+purpose+"/aes-256-gcm/key-id", 1)
		if err != nil {
			return nil, err
		}
		block, err := aes.NewCipher(enc)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		s.keys[i] = sealKey{id: id[0], aead: aead}
	}
	return s, nil
}

// expirySeconds is t in whole Unix seconds, rounded up, as the header
// holds it; ok is false outside the header's range.
func expirySeconds(t time.Time) (uint32, bool) {
	sec := t.Unix()
	if t.Nanosecond() != 0 {
		sec++
	}
	if sec <= 0 || sec > 1<<32-1 {
		return 0, false
	}
	return uint32(sec), true
}

// seal returns the base64url text of plaintext sealed for the cookie name
// until expires.
func (s *sealer) seal(name string, expires time.Time, plaintext []byte) (string, error) {
	exp, ok := expirySeconds(expires)
	if !ok {
		return "", fmt.Errorf("session: expiry %v is outside the cookie format's range", expires)
	}
	k := &s.keys[0]
	buf := make([]byte, sealHeader, sealHeader+len(plaintext)+sealTag)
	buf[0], buf[1] = sealVersion, k.id
	binary.BigEndian.PutUint32(buf[2:6], exp)
	s.nonce(buf[6:sealHeader])
	var adBuf [sealHeader + 128]byte
	ad := append(append(adBuf[:0], buf[:6]...), name...)
	buf = k.aead.Seal(buf, buf[6:sealHeader], plaintext, ad)
	return sealEncoding.EncodeToString(buf), nil
}

// open decodes and authenticates text sealed for the cookie name, refusing
// it when expired at now or when its expiry lies beyond now+lifetime. It
// returns the plaintext (in a fresh buffer) and the header's expiry in Unix
// seconds. The plaintext's capacity extends past its length by room
// enough to re-encode every token in it (tokenRoom): the session decoded
// from it then takes one buffer, not one more per token.
func (s *sealer) open(name, text string, now time.Time, lifetime time.Duration) ([]byte, int64, error) {
	if len(text) < sealEncoding.EncodedLen(sealMin) {
		return nil, 0, errSeal
	}
	n := sealEncoding.DecodedLen(len(text))
	buf := make([]byte, n, n+tokenRoom(n-sealMin))
	// Decode only reads its input: the text's bytes are not copied first.
	n, err := sealEncoding.Decode(buf, unsafe.Slice(unsafe.StringData(text), len(text)))
	if err != nil || n < sealMin || buf[0] != sealVersion {
		return nil, 0, errSeal
	}
	buf = buf[:n]
	exp := int64(binary.BigEndian.Uint32(buf[2:6]))
	if sec := now.Unix(); exp <= sec || exp > sec+int64(lifetime/time.Second)+1 {
		return nil, 0, errSeal
	}
	var adBuf [sealHeader + 128]byte
	ad := append(append(adBuf[:0], buf[:6]...), name...)
	nonce, ct := buf[6:sealHeader], buf[sealHeader:]
	for i := range s.keys {
		k := &s.keys[i]
		if k.id != buf[1] {
			continue
		}
		if pt, err := k.aead.Open(ct[:0], nonce, ct, ad); err == nil {
			return pt, exp, nil
		}
	}
	return nil, 0, errSeal
}
