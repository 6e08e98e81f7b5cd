// Package cookiekeys turns the application's cookie keys into securecookie
// codecs. It is shared by the session store and the middleware's flow
// cookies, and is not public API.
//
// Each configured key (32 to 64 random bytes) is expanded with HKDF-SHA256
// into a 32-byte HMAC-SHA256 key and a 32-byte AES-256 key, with the purpose
// in the HKDF info: the session cookie and the flow cookie never share keys,
// so a value made for one cannot be replayed as the other even before
// securecookie's cookie-name binding is checked.
package cookiekeys

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/gorilla/securecookie"
)

// MinKeyLen and MaxKeyLen bound the length of a configured key.
const (
	MinKeyLen = 32
	MaxKeyLen = 64
)

// Validate checks that keys holds at least one key and that every key has
// an acceptable length and is not all zero bytes. Its errors name the key
// as Keys[i] and say what to pass — raw bytes, which is where a key kept as
// base64 text goes wrong — without quoting any part of a key; the caller
// adds its prefix (the package, the Config field).
func Validate(keys [][]byte) error {
	if len(keys) == 0 {
		return errors.New("no keys: pass one or more keys of 32 to 64 random bytes, newest first; " + decodeHint)
	}
	for i, k := range keys {
		switch {
		case len(k) < MinKeyLen || len(k) > MaxKeyLen:
			if looksLikeBase64(k) {
				return fmt.Errorf("the key at Keys[%d] is %d bytes of base64 text: Keys are raw bytes, %d to %d of them; %s",
					i, len(k), MinKeyLen, MaxKeyLen, decodeHint)
			}
			return fmt.Errorf("the key at Keys[%d] is %d bytes: want %d to %d random bytes (raw bytes, not base64 text); %s",
				i, len(k), MinKeyLen, MaxKeyLen, decodeHint)
		case AllZero(k):
			return fmt.Errorf("the key at Keys[%d] is all zero bytes: want random bytes; %s", i, decodeHint)
		}
	}
	return nil
}

// decodeHint tells how to get a key as raw bytes.
const decodeHint = "session.ParseKeys decodes the base64 that `openssl rand -base64 32` prints"

// AllZero reports whether k holds only zero bytes (true for an empty k).
func AllZero(k []byte) bool {
	for _, b := range k {
		if b != 0 {
			return false
		}
	}
	return true
}

// looksLikeBase64 reports whether k, of at least 16 bytes, is made only of
// base64 characters (either alphabet, padding at the end): a key passed as
// the text of `openssl rand -base64 N` instead of its decoded bytes.
// Random bytes are that by chance once in 2^32 keys or fewer.
func looksLikeBase64(k []byte) bool {
	if len(k) < 16 {
		return false
	}
	body := bytes.TrimRight(k, "=")
	if len(k)-len(body) > 2 {
		return false
	}
	for _, b := range body {
		switch {
		case 'A' <= b && b <= 'Z', 'a' <= b && b <= 'z', '0' <= b && b <= '9', b == '+', b == '/', b == '-', b == '_':
		default:
			return false
		}
	}
	return true
}

// Codecs returns one codec per key, newest first, for the given purpose.
// maxAge bounds the age of the authenticated timestamp securecookie embeds;
// maxLength bounds the encoded value (0: no bound).
func Codecs(keys [][]byte, purpose string, maxAge time.Duration, maxLength int) ([]securecookie.Codec, error) {
	if err := Validate(keys); err != nil {
		return nil, err
	}
	codecs := make([]securecookie.Codec, len(keys))
	for i, k := range keys {
		mac, err := hkdf.Key(sha256.New, k, nil, "portcullis/"+purpose+"/hmac-sha256", 32)
		if err != nil {
			return nil, err
		}
		enc, err := hkdf.Key(sha256.New, k, nil, "portcullis/"+purpose+"/aes-256", 32)
		if err != nil {
			return nil, err
		}
		sc := securecookie.New(mac, enc)
		sc.MaxAge(int(maxAge / time.Second))
		sc.MaxLength(maxLength)
		sc.SetSerializer(Raw{})
		codecs[i] = sc
	}
	return codecs, nil
}

// Raw is a securecookie.Serializer for values that are already bytes: the
// callers encode their own compact formats and pass []byte in, *[]byte out.
type Raw struct{}

// Serialize returns src, which must be a []byte.
func (Raw) Serialize(src any) ([]byte, error) {
	b, ok := src.([]byte)
	if !ok {
		return nil, errors.New("cookiekeys: value is not []byte")
	}
	return b, nil
}

// Deserialize stores src in dst, which must be a *[]byte.
func (Raw) Deserialize(src []byte, dst any) error {
	p, ok := dst.(*[]byte)
	if !ok {
		return errors.New("cookiekeys: destination is not *[]byte")
	}
	*p = src
	return nil
}
