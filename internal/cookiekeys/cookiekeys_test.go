package cookiekeys

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	random := func(n int) []byte { // not base64 text: every byte is 0x80 or above
		k := make([]byte, n)
		for i := range k {
			k[i] = 0x80 | byte(i)
		}
		return k
	}
	b64 := func(n int) []byte { return []byte(base64.StdEncoding.EncodeToString(random(n))) }
	const hint = "session.ParseKeys decodes the base64 that `openssl rand -base64 32` prints"
	for _, tt := range []struct {
		name string
		keys [][]byte
		want string // the whole error; "" for none
	}{
		{"32 bytes", [][]byte{random(32)}, ""},
		{"64 bytes", [][]byte{random(64)}, ""},
		{"two", [][]byte{random(32), random(48)}, ""},
		{"none", nil, "no keys: pass one or more keys of 32 to 64 random bytes, newest first; " + hint},
		{"empty list", [][]byte{}, "no keys: pass one or more keys of 32 to 64 random bytes, newest first; " + hint},
		{"short", [][]byte{random(31)}, "the key at Keys[0] is 31 bytes: want 32 to 64 random bytes (raw bytes, not base64 text); " + hint},
		{"long", [][]byte{random(32), random(65)}, "the key at Keys[1] is 65 bytes: want 32 to 64 random bytes (raw bytes, not base64 text); " + hint},
		{"empty key", [][]byte{{}}, "the key at Keys[0] is 0 bytes: want 32 to 64 random bytes (raw bytes, not base64 text); " + hint},
		{"base64 of 64 bytes", [][]byte{b64(64)}, "the key at Keys[0] is 88 bytes of base64 text: Keys are raw bytes, 32 to 64 of them; " + hint},
		{"base64 of 16 bytes", [][]byte{random(32), b64(16)}, "the key at Keys[1] is 24 bytes of base64 text: Keys are raw bytes, 32 to 64 of them; " + hint},
		{"url base64 unpadded", [][]byte{[]byte(base64.RawURLEncoding.EncodeToString(random(16)))}, "the key at Keys[0] is 22 bytes of base64 text: Keys are raw bytes, 32 to 64 of them; " + hint},
		{"zero", [][]byte{random(32), make([]byte, 40)}, "the key at Keys[1] is all zero bytes: want random bytes; " + hint},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.keys)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Validate:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestValidateNeverQuotesKeys checks that no error holds a key's text.
func TestValidateNeverQuotesKeys(t *testing.T) {
	secret := []byte("c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==")
	for _, keys := range [][][]byte{{secret}, {secret[:20]}, {bytes.Repeat([]byte("k"), 70)}} {
		err := Validate(keys)
		if err == nil {
			t.Fatalf("Validate(%d bytes) accepted it", len(keys[0]))
		}
		if strings.Contains(err.Error(), string(keys[0][:12])) {
			t.Errorf("the error quotes the key: %v", err)
		}
	}
}

func TestLooksLikeBase64(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"QUJDREVGR0hJSktMTU5PUA==", true},
		{"QUJDREVGR0hJSktMTU5PUA", true},
		{"ab-_cdEFgh0123456789", true},
		{"QUJDREVGR0hJSktMTU5PUA===", false}, // three padding characters
		{"QUJD", false},                      // too short to tell
		{"QUJDREVG R0hJSktMTU5PUA==", false},
		{"QUJDREVGR0hJSk=tMTU5PUA", false},
	} {
		if got := looksLikeBase64([]byte(tt.in)); got != tt.want {
			t.Errorf("looksLikeBase64(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
