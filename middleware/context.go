package middleware

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/session"
)

type stateKey struct{}

// requestState is the one owner of a request's session behind Require:
// the only code that changes it (refresh, idle activity, ending it) and
// the only code that writes it. Require, TokenSource and Client all go
// through it.
//
// It writes the session into h, the header map of the ResponseWriter
// Require received, as soon as a change is made while the handler runs
// (stage), replacing the Set-Cookie lines it wrote earlier in the request,
// and once more, for good, just before the response's first byte
// (commit). Writing at once is what makes a refresh reach the browser in
// frameworks whose handlers write to a writer of their own (gin's
// c.Writer, say) rather than the one Require hands on: that writer's
// headers are the same map, so whichever writer writes first carries the
// cookie.
//
// mu guards the fields below it; it is never held across a call out of
// this package (a provider, a store, a hook, a logger), so UserFrom and
// SessionFrom never wait on a refresh. wmu serializes the writes to h:
// TokenSource may be called from goroutines other than the handler's.
type requestState struct {
	a *Auth
	r *http.Request
	h http.Header
	// w is the ResponseWriter Require hands the handler, held by value so
	// that a request costs one allocation for both.
	w trackingWriter

	wmu sync.Mutex
	// staged are the Set-Cookie values the last write added to h (wmu).
	staged []string

	mu sync.Mutex
	s  *session.Session // the current session; nil once ended
	// sentRT is the refresh token of the session the browser sent.
	sentRT string
	// browserRT is the refresh token of the session the browser will
	// hold once the response goes out: sentRT, or that of the session
	// last written into h.
	browserRT string
	dirty     bool // s differs from what h holds
	ended     bool // the browser's session must be cleared
	serving   bool // the handler runs: each change is written into h at once
	written   bool // h holds a session cookie (or its clearing) of this request
	committed bool // the response has started: nothing more reaches the browser
}

func newRequestState(a *Auth, r *http.Request, h http.Header, s *session.Session) *requestState {
	return &requestState{a: a, r: r, h: h, s: s, sentRT: s.Tokens.RefreshToken, browserRT: s.Tokens.RefreshToken}
}

func (st *requestState) session() *session.Session {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.s
}

// replace makes ns the request's session: written into the response's
// headers at once while the handler runs, or at commit. When the response
// has already started, the browser keeps its cookie: the refresh token it
// holds is then pinned in the refresh memo to ns's tokens for the
// session's life (pinUnsaved), so it is answered from there, never
// replayed.
func (st *requestState) replace(ns *session.Session) {
	st.mu.Lock()
	late, now := st.committed, st.serving && !st.committed
	st.s, st.dirty = ns, true
	browserRT := st.browserRT
	st.mu.Unlock()
	switch {
	case late:
		st.pinUnsaved(browserRT, ns, "response_started")
	case now:
		st.stage()
	}
}

// pinUnsaved keeps, for the session's life, the answer to the refresh
// token the browser holds (browserRT) when a session with other tokens
// could not reach it: the next request with that token gets ns's tokens
// from the memo instead of redeeming a token the provider has rotated.
func (st *requestState) pinUnsaved(browserRT string, ns *session.Session, reason string) {
	if browserRT == "" || ns.Tokens.RefreshToken == browserRT {
		return
	}
	a := st.a
	p := a.s.providers[ns.User.Provider]
	switch err := a.refresher.pin(st.r.Context(), p, browserRT, ns.Tokens, ns.Expires); {
	case errors.Is(err, ErrStoreUnavailable):
		// Remembered by this instance only: the shared store did not answer.
		a.emit(st.r.Context(), Event{Kind: EventStoreError, Provider: ns.User.Provider, Reason: "refresh_shared_unavailable", User: UserRef(&ns.User)})
		return
	case err != nil:
		// Neither saved nor remembered: the memo is full of pinned entries.
		a.emit(st.r.Context(), Event{Kind: EventStoreError, Provider: ns.User.Provider, Reason: "refresh_memo_full", User: UserRef(&ns.User)})
		return
	}
	a.log.LogAttrs(st.r.Context(), levelWarn, "portcullis: refreshed tokens not saved; the browser's refresh token is answered from the memo",
		providerAttr(ns.User.Provider), reasonAttr(reason))
}

// end ends the session, reporting an event of the given kind and reason:
// the browser's cookies are cleared, at once while the handler runs, or
// at commit.
func (st *requestState) end(kind EventKind, reason string) {
	st.mu.Lock()
	s := st.s
	st.s, st.ended, st.dirty = nil, true, true
	now := st.serving && !st.committed
	st.mu.Unlock()
	if s != nil {
		st.a.emit(st.r.Context(), Event{Kind: kind, Provider: s.User.Provider, Reason: reason, User: UserRef(&s.User)})
	}
	if now {
		st.stage()
	}
}

// serve is called just before the handler runs: the changes made so far
// (a refresh, idle activity) are written into the response's headers, and
// each later change is written at once.
func (st *requestState) serve() {
	st.mu.Lock()
	st.serving = true
	st.mu.Unlock()
	st.stage()
}

// stage writes the session's change, if any, into the response's headers,
// unless the response has started.
func (st *requestState) stage() {
	st.wmu.Lock()
	defer st.wmu.Unlock()
	st.write(false)
}

// commit writes the session's change, if any, into the response's
// headers for the last time, just before the response starts. It runs
// once; later changes cannot reach the browser.
func (st *requestState) commit() {
	st.wmu.Lock()
	defer st.wmu.Unlock()
	if st.write(true) {
		// Again at the first byte: the handler may have set Cache-Control
		// since the cookie was written.
		privateResponse(st.h)
	}
}

// write, with wmu held, writes the session's change, if any, into h,
// replacing the Set-Cookie lines an earlier write of this request added
// (never the application's own). final marks the response as started;
// nothing is written once it is. It reports whether h holds a session
// cookie of this request.
func (st *requestState) write(final bool) bool {
	st.mu.Lock()
	if st.committed {
		st.mu.Unlock()
		return false
	}
	st.committed = final
	s, dirty, ended, prevRT := st.s, st.dirty, st.ended, st.browserRT
	st.dirty = false
	if dirty && !ended {
		// What the response will carry: a late change pins this token.
		st.browserRT = s.Tokens.RefreshToken
	}
	st.mu.Unlock()
	if !dirty {
		return st.isWritten()
	}
	cookies := headerOnly{}
	if ended {
		if err := st.a.s.Sessions.Clear(cookies, st.r); err != nil {
			st.a.emit(st.r.Context(), Event{Kind: EventStoreError, Reason: "session_store"})
			return st.isWritten()
		}
	} else if err := st.a.s.Sessions.Save(cookies, st.r, s); err != nil {
		st.a.emit(st.r.Context(), Event{Kind: EventStoreError, Provider: s.User.Provider, Reason: "session_save", User: UserRef(&s.User)})
		// The browser gets what h already holds, if anything.
		st.mu.Lock()
		st.browserRT = prevRT
		st.mu.Unlock()
		st.pinUnsaved(prevRT, s, "session_save")
		return st.isWritten()
	}
	lines := st.h.Values("Set-Cookie")
	kept := make([]string, 0, len(lines))
	staged := slices.Clone(st.staged)
	for _, v := range lines {
		if i := slices.Index(staged, v); i >= 0 {
			staged = slices.Delete(staged, i, i+1)
			continue
		}
		kept = append(kept, v)
	}
	st.staged = cookies.Values("Set-Cookie")
	for k, v := range cookies {
		if k != "Set-Cookie" {
			st.h[k] = v
		}
	}
	if all := append(kept, st.staged...); len(all) > 0 {
		st.h["Set-Cookie"] = all
	} else {
		delete(st.h, "Set-Cookie")
	}
	st.mu.Lock()
	st.written = true
	st.mu.Unlock()
	privateResponse(st.h)
	return true
}

func (st *requestState) isWritten() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.written
}

// headerOnly is the ResponseWriter a store writes a session's cookies to,
// to be copied into the response's headers.
type headerOnly http.Header

func (h headerOnly) Header() http.Header        { return http.Header(h) }
func (h headerOnly) Values(key string) []string { return http.Header(h).Values(key) }
func (headerOnly) WriteHeader(int)              {}
func (headerOnly) Write([]byte) (int, error) {
	return 0, errors.New("middleware: a session store wrote a response body")
}

// abandon is commit for a response whose headers will never be sent (a
// hijacked connection): a changed session cannot reach the browser, which
// keeps the session it sent.
func (st *requestState) abandon() {
	st.mu.Lock()
	if st.committed {
		st.mu.Unlock()
		return
	}
	st.committed = true
	s, sentRT := st.s, st.sentRT
	st.mu.Unlock()
	if s != nil {
		st.pinUnsaved(sentRT, s, "connection_hijacked")
	}
}

// privateResponse keeps a response that sets the session cookie out of
// shared caches (RFC 9111 §5.2.2.7): Cache-Control gains "private" unless
// it already forbids storing, "public" is dropped, and Vary names Cookie.
// It may run more than once on the same headers.
func privateResponse(h http.Header) {
	if !varies(h, "Cookie") {
		h.Add("Vary", "Cookie")
	}
	cc := h.Values("Cache-Control")
	var kept []string
	for _, v := range cc {
		for _, d := range strings.Split(v, ",") {
			d = strings.TrimSpace(d)
			name, _, _ := strings.Cut(strings.ToLower(d), "=")
			switch name {
			case "no-store", "private":
				return
			case "public", "":
				continue
			}
			kept = append(kept, d)
		}
	}
	h.Set("Cache-Control", strings.Join(append([]string{"private"}, kept...), ", "))
}

// varies reports whether h's Vary names field (or is "*").
func varies(h http.Header, field string) bool {
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f == "*" || strings.EqualFold(f, field) {
				return true
			}
		}
	}
	return false
}

// refresh refreshes the session's tokens (one token-endpoint call per
// refresh token across all requests) and returns the session the request
// goes on with: the refreshed one, or the current one when a transient
// failure leaves its token valid. A definitive refusal, or OnRefresh
// refusing, ends the session (ErrUnauthenticated); a transient failure
// with an expired token returns ErrProviderUnavailable and keeps the
// session for a later attempt.
func (st *requestState) refresh(ctx context.Context) (*session.Session, error) {
	a := st.a
	s := st.session()
	if s == nil {
		return nil, fail(ErrUnauthenticated, "session_ended", nil)
	}
	p := a.s.providers[s.User.Provider]
	now := a.now()
	tokens, remembered, shared, err := a.refresher.refresh(ctx, p, s)
	// An answer from the memo can be tokens that have expired since (a
	// pinned rotation, remembered for the session's life): refresh those
	// in turn, with their own refresh token, a bounded number of times.
	// (A fresh answer is used as it comes, even if a skewed clock calls
	// it expired: the provider has just issued it.)
	for i := 0; err == nil && remembered && i < maxRefreshChain && tokens.RefreshToken != "" && tokens.RefreshToken != s.Tokens.RefreshToken; i++ {
		next := *s
		next.Tokens = *tokens
		if !tokenExpired(&next, now) {
			break
		}
		tokens, remembered, shared, err = a.refresher.refresh(ctx, p, &next)
	}
	switch {
	case err == nil:
		ns := *s
		ns.Tokens = *tokens
		ns.LastSeen = now
		if a.s.OnRefresh != nil {
			if err := a.s.OnRefresh(ctx, &ns); err != nil {
				st.end(EventRefreshFailed, "on_refresh_refused")
				return nil, fail(ErrUnauthenticated, "on_refresh_refused", err)
			}
		}
		if remembered && tokenExpired(&ns, now) {
			// Never hand on a token known to have expired.
			a.emit(ctx, Event{Kind: EventRefreshFailed, Provider: p.Name(), Reason: "refresh_chain", User: UserRef(&s.User)})
			return nil, fail(ErrProviderUnavailable, "refresh_chain", nil)
		}
		st.replace(&ns)
		kind := EventRefresh
		if remembered || shared {
			kind = EventRefreshCoalesced
		}
		a.emit(ctx, Event{Kind: kind, Provider: p.Name(), User: UserRef(&s.User)})
		return &ns, nil
	case errors.Is(err, providers.ErrDenied):
		st.end(EventRefreshFailed, "refresh_denied")
		return nil, fail(ErrUnauthenticated, "refresh_denied", err)
	}
	reason, kind := "refresh_unavailable", ErrProviderUnavailable
	var f *failure
	switch {
	case errors.Is(err, errBackoff):
		reason = "refresh_backoff"
	case errors.Is(err, errMemoFull):
		reason = "refresh_memo_full"
	case errors.Is(err, errSharedWait):
		reason = "refresh_shared_wait"
	case errors.As(err, &f) && f.kind == ErrStoreUnavailable:
		reason, kind = f.reason, ErrStoreUnavailable
	}
	ev := EventRefreshFailed
	if kind == ErrStoreUnavailable {
		ev = EventStoreError
	}
	a.emit(ctx, Event{Kind: ev, Provider: p.Name(), Reason: reason, User: UserRef(&s.User)})
	if !tokenExpired(s, now) {
		return s, nil
	}
	return nil, fail(kind, reason, err)
}

// touch records activity for the idle timeout when it is due: at most
// once per IdleTimeout/4 (and at least a minute apart), which bounds how
// often a busy session rewrites its cookie.
func (st *requestState) touch(now time.Time) {
	a := st.a
	if a.s.IdleTimeout == 0 {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.s == nil || now.Sub(st.s.LastSeen) < max(a.s.IdleTimeout/4, time.Minute) {
		return
	}
	ns := *st.s
	ns.LastSeen = now
	st.s, st.dirty = &ns, true
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

type signInClaimsKey struct{}

// SignInClaims returns the claims the provider asserted for the sign-in
// in progress ([providers.Identity.Claims]: the verified ID token's, with
// UserInfo's when it is on), for an application that maps them itself:
// into Groups or Account, or into a claim of its own kept in
// session.User.Claims. It answers in the contexts SignInPolicy (through
// Request.HTTP), LinkAccount and OnLogin run with, and reports false
// anywhere else: the claims are not kept beyond the sign-in, except
// those named in the provider's KeepClaims. The map is nil for providers
// without claims (GitHub, plain OAuth 2.0). It must not be modified.
//
//	OnLogin: func(ctx context.Context, s *session.Session) error {
//		claims, _ := middleware.SignInClaims(ctx)
//		var roles struct{ Roles []string }
//		if json.Unmarshal(claims["realm_access"], &roles) == nil {
//			s.User.Groups = roles.Roles
//		}
//		return nil
//	}
func SignInClaims(ctx context.Context) (map[string]json.RawMessage, bool) {
	c, ok := ctx.Value(signInClaimsKey{}).(signInClaims)
	return c.claims, ok
}

// signInClaims is the context value of SignInClaims.
type signInClaims struct{ claims map[string]json.RawMessage }

// withSignInClaims returns ctx carrying claims for SignInClaims.
func withSignInClaims(ctx context.Context, claims map[string]json.RawMessage) context.Context {
	return context.WithValue(ctx, signInClaimsKey{}, signInClaims{claims})
}

// trackingWriter commits the request's session just before the response
// starts.
type trackingWriter struct {
	http.ResponseWriter
	st   *requestState
	once sync.Once
}

// start runs the commit once, before the first byte of the response.
func (t *trackingWriter) start() {
	t.once.Do(t.st.commit)
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

// Hijack hands the connection to the handler (a WebSocket upgrade, say):
// the response's headers are then never sent, so a changed session cannot
// reach the browser and is remembered instead (requestState.abandon).
// http.ResponseController finds it before Unwrap.
func (t *trackingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	t.once.Do(t.st.abandon)
	return http.NewResponseController(t.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }
