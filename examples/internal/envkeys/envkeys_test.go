package envkeys

import (
	"bytes"
	"encoding/base64"
	"log/slog"
	"strings"
	"testing"
)

func TestSessionKeys(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	t.Run("set", func(t *testing.T) {
		var logs bytes.Buffer
		keys, err := SessionKeys(" "+base64.StdEncoding.EncodeToString(key)+" ", slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil || len(keys) != 1 || !bytes.Equal(keys[0], key) {
			t.Fatalf("SessionKeys = %q, %v; want the one key", keys, err)
		}
		if logs.Len() != 0 {
			t.Errorf("logged %q, want nothing", logs.String())
		}
	})
	t.Run("unset", func(t *testing.T) {
		var logs bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&logs, nil))
		a, err := SessionKeys("", logger)
		if err != nil {
			t.Fatal(err)
		}
		b, err := SessionKeys("", logger)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) != 1 || len(a[0]) != 32 || len(b) != 1 || bytes.Equal(a[0], b[0]) {
			t.Errorf("SessionKeys(\"\") = %d keys of %d bytes, the same twice: %v; want a new 32-byte key each time", len(a), len(a[0]), bytes.Equal(a[0], b[0]))
		}
		if n := strings.Count(logs.String(), "level=WARN"); n != 2 || !strings.Contains(logs.String(), "SESSION_KEYS is not set") {
			t.Errorf("logged %q, want the warning twice", logs.String())
		}
	})
	t.Run("bad", func(t *testing.T) {
		short := base64.StdEncoding.EncodeToString(key[:16])
		_, err := SessionKeys(short, slog.New(slog.DiscardHandler))
		want := "SESSION_KEYS: session: key 1 of 1 decodes to 16 bytes; want 32 to 64 random bytes: `openssl rand -base64 32` makes one"
		if err == nil || err.Error() != want {
			t.Errorf("SessionKeys(16 bytes): %v, want %q", err, want)
		}
	})
}
