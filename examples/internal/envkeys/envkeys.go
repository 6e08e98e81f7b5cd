// Package envkeys gives the examples their session keys: the value of
// SESSION_KEYS decoded by [session.ParseKeys] or, when it is not set, one
// random key and a warning, so that an example runs with no configuration.
//
// It is the examples' own and is not importable by other modules. A
// program of yours calls session.ParseKeys directly and, in production,
// refuses to start without keys: a random key signs everyone out at each
// restart, and instances behind one load balancer would each have their
// own.
package envkeys

import (
	"crypto/rand"
	"fmt"
	"log/slog"

	"github.com/portcullis-go/portcullis/session"
)

// Warning is what SessionKeys logs when SESSION_KEYS is not set.
const Warning = "SESSION_KEYS is not set: using a random key; sessions end when the program restarts (set it to the output of `openssl rand -base64 32` to keep them)"

// SessionKeys decodes value, the content of SESSION_KEYS (comma separated,
// base64, newest first). An empty value gives one new random 32-byte key,
// with [Warning] logged on logger (slog's default logger when nil). Its
// errors start with "SESSION_KEYS: ".
func SessionKeys(value string, logger *slog.Logger) ([][]byte, error) {
	if value == "" {
		if logger == nil {
			logger = slog.Default()
		}
		logger.Warn(Warning)
		k := make([]byte, 32)
		rand.Read(k) // never fails (crypto/rand)
		return [][]byte{k}, nil
	}
	keys, err := session.ParseKeys(value)
	if err != nil {
		return nil, fmt.Errorf("SESSION_KEYS: %w", err)
	}
	return keys, nil
}
