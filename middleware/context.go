package middleware

import (
	"context"
	"net/http"
	"sync"

	"github.com/portcullis-go/portcullis/session"
)

type stateKey struct{}

// requestState is what Require puts in the request context: the session,
// and what a refresh through [Auth.TokenSource] during the handler needs to
// reach the browser. mu guards s and the pending change; it is never held
// across a call out of this package (a provider, a hook, a logger), so
// UserFrom and SessionFrom never wait on a refresh.
type requestState struct {
	a *Auth
	r *http.Request
	// w is the ResponseWriter Require hands the handler, held by value so
	// that a request costs one allocation for both.
	w  trackingWriter
	mu sync.Mutex
	s  *session.Session
	// pending is a refreshed session not yet saved, and ended a session
	// ended by a refused refresh; the trackingWriter writes either before
	// the response's first byte, so that no goroutine but the handler's
	// touches the response headers.
	pending *session.Session
	ended   bool
	// presented is the refresh token of the session the browser sent.
	presented string
}

func (st *requestState) session() *session.Session {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.s
}

// flush writes a pending session change into w's headers; called once,
// by the trackingWriter, before the response starts.
func (st *requestState) flush(w http.ResponseWriter) {
	st.mu.Lock()
	pending, ended := st.pending, st.ended
	st.pending, st.ended = nil, false
	st.mu.Unlock()
	switch {
	case ended:
		st.a.s.Sessions.Clear(w, st.r)
	case pending != nil:
		if err := st.a.s.Sessions.Save(w, st.r, pending); err != nil {
			st.a.log.LogAttrs(st.r.Context(), levelError, "portcullis: refreshed session could not be saved", reasonAttr("session_save"))
			if st.presented != "" {
				st.a.refresher.keep(st.a.s.providers[pending.User.Provider], st.presented, pending.Expires)
			}
		}
	}
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

// trackingWriter writes the request's pending session change just before
// the response starts, and records that it has started.
type trackingWriter struct {
	http.ResponseWriter
	st    *requestState
	mu    sync.Mutex
	wrote bool
}

func (t *trackingWriter) started() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.wrote
}

// start runs once, before the first byte of the response.
func (t *trackingWriter) start() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.wrote {
		t.wrote = true
		t.st.flush(t.ResponseWriter)
	}
}

func (t *trackingWriter) WriteHeader(code int) {
	t.start()
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	t.start()
	return t.ResponseWriter.Write(b)
}

// Flush lets handlers stream through Require.
func (t *trackingWriter) Flush() {
	t.start()
	http.NewResponseController(t.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }
