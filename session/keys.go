package session

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/portcullis-go/portcullis/internal/cookiekeys"
)

// ParseKeys decodes a list of cookie keys as kept in an environment
// variable or a secret store: comma separated, base64, newest first, such
// as SESSION_KEYS. Its result is what middleware.Config.Keys,
// [CookieConfig].Keys and the redisstore package's Config.Keys take: raw
// bytes, in the same order. One key is made with
//
//	openssl rand -base64 32
//
// Each entry may use the standard or the URL-safe alphabet, padded or not,
// with spaces or line breaks around it; it must decode (canonically) to 32
// to 64 bytes that are not all zero, and appear once. ParseKeys refuses an
// empty list, an empty entry (a stray comma) and whitespace inside an
// entry. Its errors name the entry (1-based, "key 2 of 3") and what to do,
// and never hold any part of a key.
//
// ParseKeys reads no environment variable, and it makes no key when s is
// empty: a program decides for itself what to do then (a production one
// should refuse to start).
func ParseKeys(s string) ([][]byte, error) {
	const makeOne = "`openssl rand -base64 32` makes one"
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("session: no keys: want one or more base64 keys, comma separated, newest first; " + makeOne)
	}
	entries := strings.Split(s, ",")
	keys := make([][]byte, 0, len(entries))
	for i, e := range entries {
		at := fmt.Sprintf("session: key %d of %d", i+1, len(entries))
		e = strings.TrimSpace(e)
		if e == "" {
			return nil, fmt.Errorf("%s is empty: remove the extra comma", at)
		}
		k, err := decodeKey(e)
		if err != nil {
			return nil, fmt.Errorf("%s %v; %s", at, err, makeOne)
		}
		switch {
		case len(k) < cookiekeys.MinKeyLen || len(k) > cookiekeys.MaxKeyLen:
			return nil, fmt.Errorf("%s decodes to %d bytes; want %d to %d random bytes: %s",
				at, len(k), cookiekeys.MinKeyLen, cookiekeys.MaxKeyLen, makeOne)
		case cookiekeys.AllZero(k):
			return nil, fmt.Errorf("%s is all zero bytes; want random bytes: %s", at, makeOne)
		}
		for j, prev := range keys {
			if bytes.Equal(prev, k) {
				return nil, fmt.Errorf("%s is the same key as key %d: list each key once", at, j+1)
			}
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// decodeKey decodes one trimmed entry in the alphabet its characters name,
// padded or not, and only in its canonical spelling. Its error says what is
// wrong without quoting the entry.
func decodeKey(e string) ([]byte, error) {
	if strings.ContainsFunc(e, func(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' }) {
		return nil, errors.New("holds a space or line break inside: is it two keys without a comma between them?")
	}
	std := strings.ContainsAny(e, "+/")
	url := strings.ContainsAny(e, "-_")
	if std && url {
		return nil, errors.New("is not base64: it mixes the standard (+ /) and URL-safe (- _) alphabets")
	}
	enc := base64.StdEncoding
	if url {
		enc = base64.URLEncoding
	}
	if !strings.HasSuffix(e, "=") {
		enc = enc.WithPadding(base64.NoPadding)
	}
	k, err := enc.Strict().DecodeString(e)
	if err != nil {
		var at base64.CorruptInputError
		if errors.As(err, &at) {
			return nil, fmt.Errorf("is not base64 (at character %d)", int64(at)+1)
		}
		return nil, errors.New("is not base64")
	}
	return k, nil
}
