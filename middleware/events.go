package middleware

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"

	"github.com/portcullis-go/portcullis/session"
)

// An Event is one security-relevant thing that happened: a sign-in, a
// refusal, a refresh, a logout, a store failure. Each is logged on
// Config.Logger and handed to Config.Observer, through one function, with
// the fields below only: no token, code, state, cookie, claim, email or
// text from a provider is ever part of one. Every field but User takes
// values from a small fixed set, so an event can be counted by Kind,
// Provider, Reason, Logout and Error without unbounded label values.
//
// One request emits one event for what decided its outcome; a request
// that meets two separate facts emits both (a refresh that succeeded, then
// a session store that could not save it).
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// Provider is the name of the configured provider involved, and ""
	// when none is (or when a request named one that is not configured:
	// a path segment is the requester's choice and never becomes a
	// Provider).
	Provider string
	// Reason is a fixed code saying why, for the refusals and failures
	// (such as "state_mismatch", "code_exchange_refused",
	// "refresh_denied", "session_store"), and "" for successes.
	Reason string
	// Logout is the kind of logout: how sessions ended (EventLogout),
	// which logout was refused (EventCSRFFailed, EventLogoutRefused) or
	// met a store failure (EventStoreError): "local" (POST
	// {PathPrefix}/logout), "everywhere" ([Auth.EndSessions]) or
	// "backchannel" (OpenID Connect Back-Channel Logout).
	Logout string
	// Error is the OAuth 2.0 error code the provider answered with
	// (EventLoginFailed), only when it is one of the registered codes
	// (RFC 6749 §4.1.2.1 and §5.2, OpenID Connect Core §3.1.2.6), such as
	// "access_denied"; never the provider's description.
	Error string
	// User is the pseudonymous reference of the user ([UserRef]), when
	// the event concerns a known user, and "" otherwise. It is not a
	// claim, but it identifies one user across events: do not use it as a
	// metric label.
	User string
	// Status is the HTTP status portcullis answers the request with when
	// this event decides it: the redirect of a sign-in, the answer of the
	// back-channel endpoint, or for a refusal [Status] of the error given
	// to the ErrorHandler (which may answer differently: a navigation that
	// is not signed in is redirected). It is 0 when the request goes on to
	// the application's handler, when the event happened while that
	// handler ran, and when there is no request ([Auth.EndSessions]).
	Status int
}

// EventKind is the kind of an [Event]. The values are stable: dashboards
// and alerts may name them.
type EventKind string

// The kinds of [Event]s.
const (
	// EventLoginStarted: a browser was sent to a provider to sign in
	// (also when a callback restarts a login to ask for consent).
	EventLoginStarted EventKind = "login_started"
	// EventLogin: a sign-in finished; a new session was saved.
	EventLogin EventKind = "login"
	// EventLoginFailed: a callback was refused: the provider's error,
	// a code exchange or token check that failed, a malformed request.
	EventLoginFailed EventKind = "login_failed"
	// EventStateInvalid: a callback whose state does not hold: missing,
	// without its flow cookie (expired, forged, another browser's), used
	// already, or for another provider (a mix-up); or a return from a
	// provider's logout page with a state this browser did not start.
	EventStateInvalid EventKind = "state_invalid"
	// EventCSRFFailed: a cross-origin request to a state-changing
	// endpoint (POST {PathPrefix}/logout) was refused.
	EventCSRFFailed EventKind = "csrf_failed"
	// EventRateLimited: a client went over Config.LoginRateLimit.
	EventRateLimited EventKind = "rate_limited"
	// EventPolicyDenied: a signed-in user, or one who has just signed
	// in, was refused: a route's policy, Config.SignInPolicy,
	// LinkAccount, OnLogin, or the provider's configuration (allowed
	// domains).
	EventPolicyDenied EventKind = "policy_denied"
	// EventRefresh: this request's call to the token endpoint refreshed
	// the session's tokens.
	EventRefresh EventKind = "refresh"
	// EventRefreshCoalesced: the request got refreshed tokens from
	// another request's refresh (one running at the same moment, or one
	// a moment ago), without calling the provider itself.
	EventRefreshCoalesced EventKind = "refresh_coalesced"
	// EventRefreshFailed: a refresh failed. With reason
	// "refresh_denied" or "on_refresh_refused" the session ended;
	// otherwise it is kept for a later attempt.
	EventRefreshFailed EventKind = "refresh_failed"
	// EventSessionEnded: a session ended for another reason than a
	// logout or a refresh: its access token expired without a refresh
	// token under Config.RequireToken ("token_expired").
	EventSessionEnded EventKind = "session_ended"
	// EventLogout: sessions ended and the revocation list recorded it.
	EventLogout EventKind = "logout"
	// EventLogoutRefused: a back-channel logout request was refused
	// (its token did not verify, was replayed, or the request was
	// malformed).
	EventLogoutRefused EventKind = "logout_refused"
	// EventBearerRefused: an API request's bearer token was refused
	// (missing, malformed, invalid, or its introspection failed).
	EventBearerRefused EventKind = "bearer_refused"
	// EventStoreError: a store portcullis depends on failed or is full:
	// the session store, the revocation list, the record of used
	// callbacks, the back-channel replay set, the refresh memo, a
	// policy's or LinkAccount's lookup.
	EventStoreError EventKind = "store_error"
)

// Observer is told about every [Event], after it is logged. Implement it
// to count events (see examples/metrics for Prometheus), raise alerts or
// keep an audit trail.
//
// Observe runs synchronously where the event happens: on the request path,
// before the response is written, and in the background goroutine that
// revokes tokens after a logout. It must be fast and must not block; hand
// slow work (a network call) to a goroutine or a queue of its own. It is
// called concurrently. A panic in Observe is recovered and logged at error
// level: an observer cannot break a request or the background work. ctx
// is the request's context (the caller's for [Auth.EndSessions]).
//
// Observer is an interface, not a function, because an observer is usually
// a value holding its own state (a metrics exporter and its counters, an
// audit writer), as a [log/slog.Handler] is.
type Observer interface {
	Observe(ctx context.Context, e Event)
}

// Attribute names of the events' log records. They are stable, like the
// kinds, and listed in the package documentation.
const (
	attrEvent    = "event"
	attrProvider = "provider"
	attrReason   = "reason"
	attrLogout   = "logout"
	attrError    = "error"
	attrUser     = "user"
	attrStatus   = "status"
)

// Log levels of the records portcullis writes.
const (
	levelDebug = slog.LevelDebug
	levelInfo  = slog.LevelInfo
	levelWarn  = slog.LevelWarn
	levelError = slog.LevelError
)

// record is the level and message of the kind's log record.
func (k EventKind) record() (slog.Level, string) {
	switch k {
	case EventLoginStarted:
		return levelInfo, "portcullis: login started"
	case EventLogin:
		return levelInfo, "portcullis: login succeeded"
	case EventLoginFailed:
		return levelWarn, "portcullis: login failed"
	case EventStateInvalid:
		return levelWarn, "portcullis: state invalid"
	case EventCSRFFailed:
		return levelWarn, "portcullis: cross-origin request refused"
	case EventRateLimited:
		return levelWarn, "portcullis: sign-in rate limited"
	case EventPolicyDenied:
		return levelWarn, "portcullis: access denied"
	case EventRefresh:
		return levelInfo, "portcullis: refresh succeeded"
	case EventRefreshCoalesced:
		return levelDebug, "portcullis: refresh shared"
	case EventRefreshFailed:
		return levelWarn, "portcullis: refresh failed"
	case EventSessionEnded:
		return levelWarn, "portcullis: session ended"
	case EventLogout:
		return levelInfo, "portcullis: logout"
	case EventLogoutRefused:
		return levelWarn, "portcullis: back-channel logout refused"
	case EventBearerRefused:
		return levelWarn, "portcullis: bearer token refused"
	case EventStoreError:
		return levelError, "portcullis: store failed"
	}
	return levelError, "portcullis: event"
}

// emit is the one way an event leaves portcullis: it logs e and tells the
// Observer. A Provider that is not configured is dropped, so no requester
// can put a value of its choice into a log field or a metric label.
func (a *Auth) emit(ctx context.Context, e Event) {
	if a.s.providers[e.Provider] == nil {
		e.Provider = ""
	}
	level, msg := e.Kind.record()
	a.log.LogAttrs(ctx, level, msg, e.attrs()...)
	if a.s.Observer != nil {
		a.observe(ctx, e)
	}
}

// attrs are the log attributes of e: its non-empty fields, in a fixed
// order.
func (e *Event) attrs() []slog.Attr {
	attrs := make([]slog.Attr, 1, 7)
	attrs[0] = slog.String(attrEvent, string(e.Kind))
	for _, f := range [...]struct{ name, value string }{
		{attrProvider, e.Provider}, {attrReason, e.Reason}, {attrLogout, e.Logout},
		{attrError, e.Error}, {attrUser, e.User},
	} {
		if f.value != "" {
			attrs = append(attrs, slog.String(f.name, f.value))
		}
	}
	if e.Status != 0 {
		attrs = append(attrs, slog.Int(attrStatus, e.Status))
	}
	return attrs
}

// observe calls the Observer, recovering a panic.
func (a *Auth) observe(ctx context.Context, e Event) {
	defer func() {
		if v := recover(); v != nil {
			a.log.LogAttrs(ctx, levelError, "portcullis: Observer panicked",
				slog.String(attrEvent, string(e.Kind)), slog.String("panic", fmt.Sprint(v)))
		}
	}()
	a.s.Observer.Observe(ctx, e)
}

// failureKind is the kind of event a refused request emits: policy_denied
// for ErrForbidden, store_error for ErrStoreUnavailable, state_invalid for
// a callback whose state does not hold, and def otherwise.
func failureKind(err error, def EventKind) EventKind {
	switch {
	case errors.Is(err, ErrForbidden):
		return EventPolicyDenied
	case errors.Is(err, ErrStoreUnavailable):
		return EventStoreError
	}
	switch reasonOf(err) {
	case "state_missing", "state_mismatch", "state_reused", "provider_mismatch":
		// The callback's state checks.
		return EventStateInvalid
	}
	return def
}

// reasonAttr is the attribute of a diagnostic log record's fixed reason
// (records that are not events, such as an evicted refresh memo entry).
func reasonAttr(reason string) slog.Attr { return slog.String(attrReason, reason) }

// providerAttr is the attribute of a diagnostic record's provider name.
func providerAttr(name string) slog.Attr { return slog.String(attrProvider, name) }

// UserRef returns the pseudonymous reference under which portcullis logs
// u and reports it in [Event].User: "u_" and the first 16 hex digits of
// SHA-256("provider|subject"). Events of one user can be correlated, and an
// operator who knows the user can compute the reference, but an event holds
// no claim. It is a pseudonym, not a secret: whoever can enumerate a
// provider's subjects (small numeric IDs, say) can recompute it.
func UserRef(u *session.User) string {
	h := sha256.Sum256([]byte(u.ID()))
	return "u_" + hex.EncodeToString(h[:8])
}
