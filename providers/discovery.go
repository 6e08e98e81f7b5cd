package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis-go/portcullis/internal/bounded"
)

// Providers that are down. An OpenID Connect provider's endpoints and keys
// come from its discovery document (OpenID Connect Discovery 1.0 §4),
// which [OIDC] fetches once, when it can:
//
//   - at construction, within the constructor's context. A document that
//     is reached but wrong fails the constructor (a configuration error);
//     a provider that cannot be reached does not: the constructor returns
//     it, and the document is fetched on first use instead;
//   - on use: every method that needs the document fetches it when it is
//     not known yet. One fetch runs at a time (concurrent callers wait for
//     it, each for as long as its context allows), bounded by
//     discoveryTimeout. After a failure no fetch starts for a backoff that
//     doubles from discoveryFirstBackoff to discoveryMaxBackoff; meanwhile
//     every caller gets an error at once, wrapping ErrUnavailable, that
//     says how long the backoff has left (RetryAfter). Nothing runs in the
//     background: an unused provider costs nothing, and there is nothing
//     to stop.
//
// "Cannot be reached" is no answer at all (a refused or dropped
// connection, a timeout, a TLS failure) or an answer that says "later":
// HTTP 408, 425, 429 or 5xx. Anything else is an answer, and a wrong one
// means the configuration or the provider needs fixing: another HTTP
// status (404: the issuer URL is wrong), a body that is not a JSON object,
// an "issuer" other than the configured one, endpoints that are not https,
// no signing algorithm in common with the pinned ones. Reached for the
// first time after construction, such a document leaves the provider
// unavailable like an outage would, logged at error level once per
// attempt, and is fetched again after the backoff: an operator may fix
// the provider while the application runs.
//
// Once fetched, the document is kept for the life of the provider; its
// keys are refreshed by the key caches (keyset.go).
const (
	// discoveryTimeout bounds one fetch of the discovery document.
	discoveryTimeout = 10 * time.Second
	// discoveryFirstBackoff is the wait after a first failed fetch; it
	// doubles with each further failure, up to discoveryMaxBackoff.
	discoveryFirstBackoff = time.Second
	discoveryMaxBackoff   = time.Minute
)

// errUnusableDocument marks a discovery failure that got an answer, and a
// wrong one: the configuration or the provider must change.
var errUnusableDocument = errors.New("the discovery document is unusable")

// discovery holds a provider's metadata, or fetches it: the one place
// that knows whether it is known. A provider configured without discovery
// (plain OAuth 2.0) has it from the start and no fetch.
type discovery struct {
	name  string
	known atomic.Pointer[metadata]
	// fetch makes one attempt: it fetches the document and builds the
	// metadata, or fails with an error wrapping errUnusableDocument when
	// the answer is wrong. nil when the metadata is known from the start.
	fetch func(ctx context.Context) (*metadata, error)
	log   *slog.Logger
	now   func() time.Time
	group bounded.Group[struct{}, *metadata]

	mu       sync.Mutex
	failures int       // consecutive failed attempts
	retryAt  time.Time // no attempt before this
	lastErr  error     // the cause of the last failure
}

// knownMetadata returns the discovery of a provider whose metadata is m.
func knownMetadata(name string, m *metadata) *discovery {
	d := &discovery{name: name}
	d.known.Store(m)
	return d
}

// newDiscovery returns the discovery of provider name, which fetch makes
// attempts at. log may be nil.
func newDiscovery(name string, log *slog.Logger, now func() time.Time, fetch func(ctx context.Context) (*metadata, error)) *discovery {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &discovery{name: name, fetch: fetch, log: log, now: now}
}

// first makes the constructor's attempt, within ctx. It returns an error
// only for an answer that is wrong; when the provider cannot be reached it
// records the failure (the backoff starts) and returns nil.
func (d *discovery) first(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	m, err := d.fetch(ctx)
	switch {
	case err == nil:
		d.known.Store(m)
	case errors.Is(err, errUnusableDocument):
		return err
	default:
		d.failed(ctx, err)
	}
	return nil
}

// get returns the metadata: at once when it is known; otherwise from the
// attempt under way or a new one, waiting for it as long as ctx allows.
// During the backoff after a failure, and when ctx is already done, it
// starts nothing and fails at once. Its errors are *unavailableError.
func (d *discovery) get(ctx context.Context) (*metadata, error) {
	if m := d.known.Load(); m != nil {
		return m, nil
	}
	if err := d.backingOff(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, &unavailableError{name: d.name, cause: err}
	}
	m, err, _ := d.group.Do(ctx, struct{}{}, d.attempt)
	if err != nil {
		var ue *unavailableError
		if !errors.As(err, &ue) {
			// This caller's ctx ended while the attempt goes on.
			err = &unavailableError{name: d.name, cause: err}
		}
		return nil, err
	}
	return m, nil
}

// backingOff returns the error of a call during the backoff, or nil.
func (d *discovery) backingOff() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if wait := d.retryAt.Sub(d.now()); wait > 0 {
		return &unavailableError{name: d.name, retryAfter: wait, cause: d.lastErr}
	}
	return nil
}

// attempt runs in the single-flight: it checks again that the metadata is
// still unknown and no backoff has started (an attempt may have ended
// since get looked), then fetches.
func (d *discovery) attempt(ctx context.Context) (*metadata, error) {
	if m := d.known.Load(); m != nil {
		return m, nil
	}
	if err := d.backingOff(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	m, err := d.fetch(ctx)
	if err != nil {
		return nil, d.failed(ctx, err)
	}
	d.known.Store(m)
	d.mu.Lock()
	failures := d.failures
	d.failures, d.lastErr, d.retryAt = 0, nil, time.Time{}
	d.mu.Unlock()
	d.log.LogAttrs(ctx, slog.LevelInfo, "portcullis: provider discovered; sign-in with it is available",
		slog.String("provider", d.name), slog.Int("failed_attempts", failures))
	return m, nil
}

// failed records a failed attempt, starts the backoff and logs it, once:
// at warn level when the provider could not be reached, at error level
// when its answer was wrong (someone must fix it).
func (d *discovery) failed(ctx context.Context, err error) *unavailableError {
	d.mu.Lock()
	d.failures++
	delay := min(discoveryFirstBackoff<<min(d.failures-1, 16), discoveryMaxBackoff)
	d.retryAt = d.now().Add(delay)
	d.lastErr = err
	failures := d.failures
	d.mu.Unlock()
	level, msg := slog.LevelWarn, "portcullis: provider unreachable: OpenID discovery failed; sign-in with it is unavailable until it answers"
	if errors.Is(err, errUnusableDocument) {
		level, msg = slog.LevelError, "portcullis: provider's discovery document is unusable; sign-in with it is unavailable until the provider or the configuration is fixed"
	}
	d.log.LogAttrs(context.WithoutCancel(ctx), level, msg,
		slog.String("provider", d.name), slog.String("error", err.Error()),
		slog.Int("failed_attempts", failures), slog.Duration("retry_in", delay))
	return &unavailableError{name: d.name, retryAfter: delay, cause: err}
}

// unavailableError is the error of every method that needs a provider's
// metadata while it is not known. It wraps ErrUnavailable and the cause,
// and its RetryAfter method says how long the backoff has left (0 when no
// backoff is running: the caller's context ended first).
type unavailableError struct {
	name       string
	retryAfter time.Duration
	cause      error
}

func (e *unavailableError) Error() string {
	s := "providers: " + e.name + ": provider metadata unavailable (OpenID discovery has not succeeded)"
	if e.retryAfter > 0 {
		s += fmt.Sprintf("; next attempt in %v", e.retryAfter.Round(time.Millisecond))
	}
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

func (e *unavailableError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrUnavailable}
	}
	return []error{ErrUnavailable, e.cause}
}

// RetryAfter returns how long until the next discovery attempt may start.
func (e *unavailableError) RetryAfter() time.Duration { return e.retryAfter }

// document holds the members of a discovery document that portcullis
// reads (OpenID Connect Discovery 1.0 §3, RFC 8414 §2, RFC 9207 §3).
type document struct {
	Issuer        string   `json:"issuer"`
	AuthURL       string   `json:"authorization_endpoint"`
	TokenURL      string   `json:"token_endpoint"`
	JWKS          string   `json:"jwks_uri"`
	UserInfo      string   `json:"userinfo_endpoint"`
	EndSession    string   `json:"end_session_endpoint"`
	Revocation    string   `json:"revocation_endpoint"`
	Introspection string   `json:"introspection_endpoint"`
	IssParam      bool     `json:"authorization_response_iss_parameter_supported"`
	ResponseTypes []string `json:"response_types_supported"`
	SigningAlgs   []string `json:"id_token_signing_alg_values_supported"`
	AuthMethods   []string `json:"token_endpoint_auth_methods_supported"`
}

// fetchDocument GETs issuer's discovery document with client (which
// bounds time and size and follows no redirect) and checks that its
// "issuer" is issuer, byte for byte. An answer that is wrong fails with
// an error wrapping errUnusableDocument; no answer, or one that says
// "later", with another error. It does the work of go-oidc's NewProvider
// itself because NewProvider's errors tell neither apart but by their
// text, which quotes the body.
func fetchDocument(ctx context.Context, client *http.Client, issuer string) (*document, error) {
	doc, err := fetchDocumentAt(ctx, client, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration")
	if err != nil {
		return nil, err
	}
	if doc.Issuer != issuer && strings.TrimSuffix(doc.Issuer, "/") == strings.TrimSuffix(issuer, "/") {
		// Auth0's issuer ends in "/", most others do not: the only
		// difference is the one a reader of the configuration misses.
		return nil, fmt.Errorf("%w: its issuer is %q, not the configured Issuer %q: use exactly %q", errUnusableDocument, doc.Issuer, issuer, doc.Issuer)
	}
	if doc.Issuer != issuer && strings.Contains(strings.ToLower(doc.Issuer), entraTenantPlaceholder) {
		// Microsoft Entra ID's common and organizations documents.
		return nil, fmt.Errorf("%w: its issuer %.256q is Microsoft Entra ID's multi-tenant template: use providers.Entra, whose Tenant and AllowedTenants say which tenants may sign in", errUnusableDocument, doc.Issuer)
	}
	if doc.Issuer != issuer {
		return nil, fmt.Errorf("%w: its issuer %.256q is not the configured Issuer %q (they must be equal, byte for byte)", errUnusableDocument, doc.Issuer, issuer)
	}
	return doc, nil
}

// fetchDocumentAt GETs the discovery document at u and decodes it,
// checking nothing of its contents; fetchDocument's errors.
func fetchDocumentAt(ctx context.Context, client *http.Client, u string) (*document, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errUnusableDocument, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err // *url.Error: names the URL
	}
	defer resp.Body.Close()
	switch s := resp.StatusCode; {
	case s == http.StatusOK:
	case s == http.StatusRequestTimeout, s == http.StatusTooEarly, s == http.StatusTooManyRequests, s >= 500:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("%s answered HTTP %d", u, s)
	default:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("%w: %s answered HTTP %d (is Issuer the provider's issuer URL?)", errUnusableDocument, u, s)
	}
	body, err := io.ReadAll(resp.Body)
	switch {
	case errors.Is(err, errResponseTooLarge):
		return nil, fmt.Errorf("%w: %s is larger than 1 MiB", errUnusableDocument, u)
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", u, err)
	}
	var doc document
	if !isJSONObject(body) || json.Unmarshal(body, &doc) != nil {
		return nil, fmt.Errorf("%w: %s is not a JSON discovery document", errUnusableDocument, u)
	}
	return &doc, nil
}
