package middleware

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"

	"github.com/portcullis-go/portcullis/session"
)

// The structured events portcullis logs. Attributes are limited to the
// provider name, a fixed reason and the user's stable ID
// ("provider|subject"); tokens, codes, cookies, state and claims are never
// logged.
const (
	levelInfo  = slog.LevelInfo
	levelWarn  = slog.LevelWarn
	levelError = slog.LevelError
)

func providerAttr(name string) slog.Attr { return slog.String("provider", name) }
func reasonAttr(reason string) slog.Attr { return slog.String("reason", reason) }

// userAttr logs the user as "u_" and the first 16 hex digits of
// SHA-256("provider|subject"): log lines of one user can be correlated, and
// an operator who knows the user can compute the reference with
// [UserRef], but the log itself holds no claim.
func userAttr(u *session.User) slog.Attr { return slog.String("user", UserRef(u)) }

// UserRef returns the pseudonymous reference under which portcullis logs u.
func UserRef(u *session.User) string {
	h := sha256.Sum256([]byte(u.ID()))
	return "u_" + hex.EncodeToString(h[:8])
}
