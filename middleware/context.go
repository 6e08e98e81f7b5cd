package middleware

import (
	"context"

	"github.com/portcullis-go/portcullis/session"
)

type sessionKey struct{}

// withSession returns ctx carrying s.
func withSession(ctx context.Context, s *session.Session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

// UserFrom returns the signed-in user of a request that passed through
// [Auth.Require], and false otherwise. The user must not be modified.
func UserFrom(ctx context.Context) (*session.User, bool) {
	s, ok := SessionFrom(ctx)
	if !ok {
		return nil, false
	}
	return &s.User, true
}

// SessionFrom returns the session of a request that passed through
// [Auth.Require]: the user and their tokens, with Tokens.Expiry telling
// when the access token expires. It must not be modified.
func SessionFrom(ctx context.Context) (*session.Session, bool) {
	s, ok := ctx.Value(sessionKey{}).(*session.Session)
	return s, ok && s != nil
}
