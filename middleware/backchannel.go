package middleware

import (
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"sync"
	"time"

	"github.com/portcullis-go/portcullis/session"
)

// Bounds of the back-channel logout endpoint.
const (
	// maxBackchannelBody bounds the request body (SECURITY.md BCL-08).
	maxBackchannelBody = 64 << 10
	// maxReplayEntries bounds the replay cache. Only verified tokens enter
	// it, and each stays at most 11 minutes.
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
// Not done: encrypted (JWE) logout tokens; a replay cache shared between
// instances (each instance refuses replays it has seen; a replayed token can
// only end the same sessions again).
type backchannel struct {
	a      *Auth
	replay replayCache
}

func newBackchannel(a *Auth) *backchannel {
	return &backchannel{a: a, replay: replayCache{seen: map[[2]string]time.Time{}}}
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
		attrs := []slog.Attr{reasonAttr(reasonOf(err))}
		if b.a.s.providers[name] != nil {
			attrs = append(attrs, providerAttr(name))
		}
		b.a.log.LogAttrs(r.Context(), levelWarn, "portcullis: back-channel logout refused", attrs...)
		status := http.StatusBadRequest
		if reasonOf(err) == "body_too_large" {
			status = http.StatusRequestEntityTooLarge
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
// the ended sessions. With a "sid" that provider session ends; with only
// a "sub", every session of the user created before the token arrived
// (not before its "iat": the provider's clock may lag ours, and a session
// created after the provider's logout but before this request belongs to
// a provider session that has just ended too). Each entry is kept for a
// session lifetime, the longest any matching session can live.
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
	now := a.now()
	fresh, recorded := b.replay.add(name, tok.JTI, tok.Expiry.Add(time.Minute), now)
	if !fresh {
		return fail(ErrInvalidRequest, "replayed_jti", nil)
	}
	if !recorded {
		a.log.LogAttrs(r.Context(), levelError, "portcullis: back-channel replay cache full; token not remembered",
			providerAttr(name), reasonAttr("replay_cache_full"))
	}
	rev := session.Revocation{Provider: name, Expires: now.Add(a.s.SessionLifetime)}
	if tok.SID != "" {
		rev.SID = tok.SID
	} else {
		rev.Subject, rev.Before = tok.Subject, now
	}
	if err := a.ended(r.Context(), "backchannel", rev); err != nil {
		// Nothing was ended: let the provider retry the same token.
		b.replay.forget(name, tok.JTI)
		return fail(ErrInvalidRequest, "revocation_store", err)
	}
	return nil
}

// replayCache remembers the (provider, jti) of accepted logout tokens
// until the token would be refused anyway, so that each works once
// (§2.6 step 9; SECURITY.md BCL-07).
type replayCache struct {
	mu     sync.Mutex
	seen   map[[2]string]time.Time // (provider, jti) → forget after
	lastGC time.Time
}

// add records (provider, jti) until expires. fresh is false when it is
// already recorded; recorded is false when the cache is full of live
// entries: the token is then accepted without being remembered, because
// refusing a logout is worse than letting it be replayed.
func (c *replayCache) add(provider, jti string, expires, now time.Time) (fresh, recorded bool) {
	k := [2]string{provider, jti}
	c.mu.Lock()
	defer c.mu.Unlock()
	if exp, ok := c.seen[k]; ok && !now.After(exp) {
		return false, false
	}
	if now.Sub(c.lastGC) > time.Minute || len(c.seen) >= maxReplayEntries {
		c.lastGC = now
		for k, exp := range c.seen {
			if now.After(exp) {
				delete(c.seen, k)
			}
		}
	}
	if len(c.seen) >= maxReplayEntries {
		return true, false
	}
	c.seen[k] = expires
	return true, true
}

func (c *replayCache) forget(provider, jti string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.seen, [2]string{provider, jti})
}
