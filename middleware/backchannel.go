package middleware

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"time"

	"github.com/portcullis-go/portcullis/internal/bounded"
)

// Bounds of the back-channel logout endpoint.
const (
	// maxBackchannelBody bounds the request body (SECURITY.md BCL-08).
	maxBackchannelBody = 64 << 10
	// maxReplayEntries bounds the replay set (see replaySet for what
	// happens when it is full). Only verified tokens enter it, and each
	// stays at most 11 minutes: filling it takes about 100 tokens a second
	// for that long.
	maxReplayEntries = 1 << 16
)

// backchannel is the Back-Channel Logout endpoint,
// POST {PathPrefix}/backchannel-logout/{provider}: the URI to register at
// each OpenID provider as its backchannel_logout_uri
// (https://openid.net/specs/openid-connect-backchannel-1_0.html). The
// provider posts a logout token there, server to server, when the user's
// session at the provider ends; the sessions it names are put on the
// revocation list, so their cookies stop working at the next request.
//
// The request is refused with 400 and {"error":"invalid_request"} when the
// provider is unknown or has no ID tokens, the Content-Type is not
// application/x-www-form-urlencoded, the body holds anything but exactly
// one logout_token, a logout_token is in the query string (a token in a URL
// leaks into logs; it is never read from there), the token does not verify
// ([providers.Provider.VerifyLogoutToken]) or its jti was already used
// with this provider; a body over 64 KiB gets 413, and a method other than
// POST 405. Every answer has Cache-Control: no-store (§2.8). A refusal is
// logged with a fixed reason and nothing from the request.
//
// It reads no cookie and is not subject to the cross-origin check of the
// browser endpoints: the caller is the provider, and the signed token is
// the only credential. It answers 405 itself rather than through a
// "POST " mux pattern, because the catch-all route of Handler would
// otherwise answer other methods with 400.
//
// Not done: encrypted (JWE) logout tokens. The replay set is shared
// between instances when Config.Shared is set; otherwise each instance
// refuses the replays it has seen, and another accepts them.
type backchannel struct {
	a      *Auth
	replay replaySet
}

func newBackchannel(a *Auth) *backchannel {
	if a.s.Shared != nil {
		return &backchannel{a: a, replay: sharedReplaySet{sh: a.s.Shared}}
	}
	return &backchannel{a: a, replay: newMemoryReplaySet(maxReplayEntries, func() time.Time { return a.now() })}
}

func (b *backchannel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeBackchannelError(w, http.StatusMethodNotAllowed)
		return
	}
	name := r.PathValue("provider")
	if err := b.logout(w, r, name); err != nil {
		status := http.StatusBadRequest
		if reasonOf(err) == "body_too_large" {
			status = http.StatusRequestEntityTooLarge
		}
		if !errors.Is(err, ErrStoreUnavailable) {
			// (A store failure was reported where it happened.)
			b.a.emit(r.Context(), Event{Kind: EventLogoutRefused, Provider: name, Reason: reasonOf(err), Logout: "backchannel", Status: status})
		}
		writeBackchannelError(w, status)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// writeBackchannelError writes the one error body of the endpoint (§2.8
// allows an OAuth 2.0 error response; it says nothing about the token).
func writeBackchannelError(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write([]byte(`{"error":"invalid_request"}` + "\n"))
}

// logout checks the request and the token, cheapest first, and records
// the ended sessions, all created before the token arrived (not before
// its "iat": the provider's clock may lag ours, and a session created
// after the provider's logout but before this request belongs to a
// provider session that has just ended too). With only a "sid" the
// sessions of that provider session end; with only a "sub", every session
// of the user; with both, the user's sessions of that provider session
// and the user's sessions without a sid (see session.Revocation). Each
// entry is kept for a session lifetime, the longest any matching session
// can live.
func (b *backchannel) logout(w http.ResponseWriter, r *http.Request, name string) error {
	a := b.a
	p := a.s.providers[name]
	switch {
	case p == nil:
		return fail(ErrInvalidRequest, "unknown_provider", nil)
	case p.Issuer() == "":
		return fail(ErrInvalidRequest, "no_id_tokens", nil)
	case r.URL.Query().Has("logout_token"):
		return fail(ErrInvalidRequest, "token_in_query", nil)
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return fail(ErrInvalidRequest, "content_type", nil)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBackchannelBody)
	if err := r.ParseForm(); err != nil {
		if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
			return fail(ErrInvalidRequest, "body_too_large", nil)
		}
		return fail(ErrInvalidRequest, "malformed_body", nil)
	}
	// Only the body: r.Form would also hold the query.
	raw := r.PostForm["logout_token"]
	if len(raw) != 1 || raw[0] == "" {
		return fail(ErrInvalidRequest, "logout_token_count", nil)
	}
	tok, err := p.VerifyLogoutToken(r.Context(), raw[0])
	if err != nil {
		return fail(ErrInvalidRequest, "invalid_logout_token", err)
	}
	ctx := r.Context()
	fresh, err := b.replay.add(ctx, name, tok.JTI, tok.Expiry.Add(time.Minute))
	switch {
	case err != nil:
		// See replaySet: the sessions are ended all the same.
		a.emit(ctx, Event{Kind: EventStoreError, Provider: name, Reason: reasonOf(err), Logout: "backchannel"})
	case !fresh:
		return fail(ErrInvalidRequest, "replayed_jti", nil)
	}
	rev := endedRevocation(name, tok.Subject, tok.SID, a.now(), a.s.SessionLifetime)
	if err := a.ended(ctx, "backchannel", rev); err != nil {
		// Nothing was ended: let the provider retry the same token.
		b.replay.forget(ctx, name, tok.JTI)
		return err
	}
	return nil
}

// replaySet remembers the (provider, jti) of accepted logout tokens until
// the token would be refused anyway, so that each works once (§2.6 step
// 9, which the specification makes optional; SECURITY.md BCL-07). It is
// this small so that a shared store (a Redis SET with NX and an expiry)
// can take the place of the in-memory one for several instances.
//
// add records (provider, jti) until expires: fresh is false when it is
// already recorded (a replay). err is non-nil when the set can neither
// record nor tell (full, or a shared store unreachable). forget removes
// the record, so that a token whose logout could not be recorded can be
// retried.
//
// When add fails, the token's sessions are ended anyway and the failure
// is logged at error level: the logout is the promise the user relies
// on, and refusing it would keep sessions alive that the provider ended
// (the provider may not retry; the specification does not ask it to).
// The cost is that the token, until it expires (at most about 11
// minutes), is not protected against replay: a replay of a token with
// only a "sid" ends the same sessions again, but one with a "sub" also
// ends the sessions the user opened since the first delivery (only those
// without a sid, for a token with both).
// Replaying needs a token the provider signed, which travels server to
// server; a set that is full means a flood of them.
type replaySet interface {
	add(ctx context.Context, provider, jti string, expires time.Time) (fresh bool, err error)
	forget(ctx context.Context, provider, jti string)
}

// memoryReplaySet is the in-memory replaySet: a bounded.Map with policy
// Refuse, bounded at maxReplayEntries live tokens. It never evicts a live
// entry to make room (that would silently allow the replay of a token
// it forgot); when full, add fails with reason "replay_set_full".
type memoryReplaySet struct {
	seen *bounded.Map[[2]string, struct{}]
}

func newMemoryReplaySet(max int, now func() time.Time) *memoryReplaySet {
	return &memoryReplaySet{seen: bounded.New[[2]string, struct{}](max, bounded.Refuse, now)}
}

func (s *memoryReplaySet) add(_ context.Context, provider, jti string, expires time.Time) (bool, error) {
	added, err := s.seen.Add([2]string{provider, jti}, struct{}{}, expires)
	if err != nil {
		return false, fail(ErrStoreUnavailable, "replay_set_full", err)
	}
	return added, nil
}

func (s *memoryReplaySet) forget(_ context.Context, provider, jti string) {
	s.seen.Delete([2]string{provider, jti})
}

// sharedReplaySet keeps the replay set in Config.Shared, so that a logout
// token works once whichever instance it reaches. It has no bound of its
// own: the store refuses when it is full, and add then fails as the
// memory set's does.
type sharedReplaySet struct{ sh SharedState }

func (s sharedReplaySet) add(ctx context.Context, provider, jti string, expires time.Time) (bool, error) {
	fresh, err := s.sh.Claim(ctx, sharedName("jti", provider, jti), []byte{1}, expires)
	if err != nil {
		return false, sharedFailure("replay_set_unavailable", err)
	}
	return fresh, nil
}

func (s sharedReplaySet) forget(ctx context.Context, provider, jti string) {
	// An error leaves the record: the provider's retry is then refused as
	// a replay, which is the memory set's behaviour when it is full.
	_ = s.sh.Release(ctx, sharedName("jti", provider, jti), []byte{1})
}
