package middleware

import (
	"context"
	"net/http"
	"sync"

	"github.com/portcullis-go/portcullis/session"
)

type stateKey struct{}

// requestState is what Require puts in the request context: the session,
// and what a later refresh through [Auth.TokenSource] needs to save it.
type requestState struct {
	mu sync.Mutex
	s  *session.Session
	w  *trackingWriter
	r  *http.Request
}

func (st *requestState) session() *session.Session {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.s
}

func stateFrom(ctx context.Context) (*requestState, bool) {
	st, ok := ctx.Value(stateKey{}).(*requestState)
	return st, ok && st != nil
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
// when the access token expires. After a refresh through
// [Auth.TokenSource] it returns the refreshed session. It must not be
// modified.
func SessionFrom(ctx context.Context) (*session.Session, bool) {
	st, ok := stateFrom(ctx)
	if !ok {
		return nil, false
	}
	s := st.session()
	return s, s != nil
}

// trackingWriter records whether the response has started, so that a
// refresh during the handler knows whether it can still set a cookie.
type trackingWriter struct {
	http.ResponseWriter
	mu    sync.Mutex
	wrote bool
}

func (t *trackingWriter) started() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.wrote
}

func (t *trackingWriter) mark() {
	t.mu.Lock()
	t.wrote = true
	t.mu.Unlock()
}

func (t *trackingWriter) WriteHeader(code int) {
	t.mark()
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	t.mark()
	return t.ResponseWriter.Write(b)
}

// Flush lets handlers stream through Require.
func (t *trackingWriter) Flush() {
	t.mark()
	http.NewResponseController(t.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }
