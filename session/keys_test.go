package session

import (
	"bytes"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
)

// keyBytes returns n bytes that differ per seed and are never all zero.
func keyBytes(seed byte, n int) []byte {
	k := make([]byte, n)
	for i := range k {
		k[i] = seed*37 + byte(i)*7 + 1
	}
	return k
}

func TestParseKeys(t *testing.T) {
	k1, k2, k64 := keyBytes(1, 32), keyBytes(2, 48), keyBytes(3, 64)
	// A key whose base64 holds '+' and '/' in the standard alphabet, so
	// that the URL-safe one differs from it.
	symbols := bytes.Repeat([]byte{0xfb, 0xff, 0xbf}, 11)[:32]
	std, url := base64.StdEncoding, base64.URLEncoding
	rawStd, rawURL := base64.RawStdEncoding, base64.RawURLEncoding
	const makeOne = "`openssl rand -base64 32` makes one"
	for _, tt := range []struct {
		name string
		in   string
		want [][]byte
		err  string // the whole error
	}{
		{"one, padded", std.EncodeToString(k1), [][]byte{k1}, ""},
		{"one, unpadded", rawStd.EncodeToString(k1), [][]byte{k1}, ""},
		{"64 bytes", std.EncodeToString(k64), [][]byte{k64}, ""},
		{"newest first", std.EncodeToString(k2) + "," + std.EncodeToString(k1), [][]byte{k2, k1}, ""},
		{"standard alphabet", std.EncodeToString(symbols), [][]byte{symbols}, ""},
		{"url-safe alphabet", url.EncodeToString(symbols), [][]byte{symbols}, ""},
		{"url-safe, unpadded", rawURL.EncodeToString(symbols), [][]byte{symbols}, ""},
		{"48 bytes need no padding", url.EncodeToString(k2), [][]byte{k2}, ""},
		{"mixed entries", rawURL.EncodeToString(symbols) + "," + std.EncodeToString(k1), [][]byte{symbols, k1}, ""},
		{"spaces and line breaks around", " \t" + std.EncodeToString(k1) + " ,\n " + std.EncodeToString(k2) + "\r\n", [][]byte{k1, k2}, ""},

		{"empty", "", nil, "session: no keys: want one or more base64 keys, comma separated, newest first; " + makeOne},
		{"blank", " \n\t", nil, "session: no keys: want one or more base64 keys, comma separated, newest first; " + makeOne},
		{"only a comma", ",", nil, "session: key 1 of 2 is empty: remove the extra comma"},
		{"trailing comma", std.EncodeToString(k1) + ",", nil, "session: key 2 of 2 is empty: remove the extra comma"},
		{"double comma", std.EncodeToString(k1) + ", ," + std.EncodeToString(k2), nil, "session: key 2 of 3 is empty: remove the extra comma"},
		{"too short", std.EncodeToString(k1) + "," + std.EncodeToString(keyBytes(4, 16)), nil,
			"session: key 2 of 2 decodes to 16 bytes; want 32 to 64 random bytes: " + makeOne},
		{"31 bytes", rawStd.EncodeToString(keyBytes(4, 31)), nil, "session: key 1 of 1 decodes to 31 bytes; want 32 to 64 random bytes: " + makeOne},
		{"too long", std.EncodeToString(keyBytes(4, 65)), nil, "session: key 1 of 1 decodes to 65 bytes; want 32 to 64 random bytes: " + makeOne},
		{"zeros", std.EncodeToString(make([]byte, 32)), nil, "session: key 1 of 1 is all zero bytes; want random bytes: " + makeOne},
		{"twice", std.EncodeToString(k1) + "," + rawURL.EncodeToString(k1), nil, "session: key 2 of 2 is the same key as key 1: list each key once"},
		{"not base64", "not base64!", nil, "session: key 1 of 1 holds a space or line break inside: is it two keys without a comma between them?; " + makeOne},
		{"bad character", std.EncodeToString(k1)[:10] + "!" + std.EncodeToString(k1)[11:], nil, "session: key 1 of 1 is not base64 (at character 11); " + makeOne},
		{"two keys glued by a space", std.EncodeToString(k1) + " " + std.EncodeToString(k2), nil,
			"session: key 1 of 1 holds a space or line break inside: is it two keys without a comma between them?; " + makeOne},
		{"mixed alphabets", "ab+cd-" + rawStd.EncodeToString(k1)[6:], nil,
			"session: key 1 of 1 is not base64: it mixes the standard (+ /) and URL-safe (- _) alphabets; " + makeOne},
		{"wrong padding", rawStd.EncodeToString(k1) + "==", nil, "session: key 1 of 1 is not base64 (at character 45); " + makeOne},
		{"padding in the middle", std.EncodeToString(keyBytes(5, 31)) + std.EncodeToString(k1), nil,
			"session: key 1 of 1 is not base64 (at character 45); " + makeOne},
		{"truncated", rawStd.EncodeToString(k1)[:41], nil, "session: key 1 of 1 is not base64 (at character 41); " + makeOne},
		{"not canonical", rawStd.EncodeToString(k1)[:42] + "B", nil, "session: key 1 of 1 is not base64 (at character 43); " + makeOne},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKeys(tt.in)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.err {
				t.Fatalf("ParseKeys error:\n got %q\nwant %q", gotErr, tt.err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("ParseKeys = %d keys, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !bytes.Equal(got[i], tt.want[i]) {
					t.Errorf("key %d = %x, want %x", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestParseKeysResultIsAccepted checks that what ParseKeys returns is what
// NewCookieStore takes.
func TestParseKeysResultIsAccepted(t *testing.T) {
	keys, err := ParseKeys(base64.StdEncoding.EncodeToString(keyBytes(1, 32)) + "," + base64.RawURLEncoding.EncodeToString(keyBytes(2, 64)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewCookieStore(CookieConfig{Keys: keys}); err != nil {
		t.Errorf("NewCookieStore with ParseKeys's keys: %v", err)
	}
}

// errorTexts are ParseKeys's errors with every number replaced by N.
var errorTexts = map[string]bool{
	"session: no keys: want one or more base64 keys, comma separated, newest first; `openssl rand -base64 N` makes one":                        true,
	"session: key N of N is empty: remove the extra comma":                                                                                     true,
	"session: key N of N holds a space or line break inside: is it two keys without a comma between them?; `openssl rand -base64 N` makes one": true,
	"session: key N of N is not base64: it mixes the standard (+ /) and URL-safe (- _) alphabets; `openssl rand -base64 N` makes one":          true,
	"session: key N of N is not base64 (at character N); `openssl rand -base64 N` makes one":                                                   true,
	"session: key N of N decodes to N bytes; want N to N random bytes: `openssl rand -base64 N` makes one":                                     true,
	"session: key N of N is all zero bytes; want random bytes: `openssl rand -base64 N` makes one":                                             true,
	"session: key N of N is the same key as key N: list each key once":                                                                         true,
}

var digits = regexp.MustCompile(`\b[0-9]+\b`)

// FuzzParseKeys checks that ParseKeys never panics, that every key it
// returns is acceptable, and that its errors never quote the input.
func FuzzParseKeys(f *testing.F) {
	for _, s := range []string{
		base64.StdEncoding.EncodeToString(keyBytes(1, 32)),
		base64.RawURLEncoding.EncodeToString(keyBytes(2, 40)) + ", " + base64.StdEncoding.EncodeToString(keyBytes(3, 64)),
		"", ",", "not base64!", "AAAA====", "a\nb",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		keys, err := ParseKeys(s)
		if err != nil {
			if keys != nil {
				t.Fatalf("ParseKeys returned keys and an error %v", err)
			}
			// Only numbers vary in an error: no part of the input is in it.
			if msg := digits.ReplaceAllString(err.Error(), "N"); !errorTexts[msg] {
				t.Fatalf("ParseKeys(%q): an error of no known form: %q", s, err)
			}
			return
		}
		if len(keys) == 0 || len(keys) != len(strings.Split(s, ",")) {
			t.Fatalf("ParseKeys(%q) = %d keys without an error", s, len(keys))
		}
		if _, err := NewCookieStore(CookieConfig{Keys: keys}); err != nil {
			t.Fatalf("ParseKeys(%q) returned keys NewCookieStore refuses: %v", s, err)
		}
		for i, k := range keys {
			for _, prev := range keys[:i] {
				if bytes.Equal(k, prev) {
					t.Fatalf("ParseKeys(%q) returned a key twice", s)
				}
			}
		}
	})
}
