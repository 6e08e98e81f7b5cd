package policy

import (
	"errors"
	"net/http"
	"net/netip"
	"time"

	"github.com/portcullis-go/portcullis/session"
)

// Request is what a policy judges. The middleware builds it from the
// session (or from a bearer token) for every request of a protected route,
// and for every new sign-in.
type Request struct {
	// HTTP is the request; nil when a sign-in is judged without one.
	HTTP *http.Request
	// User is who asks: Provider, Subject, Email, Groups. Its Email is a
	// provider-verified address or "": portcullis never stores an
	// unverified one.
	User *session.User
	// AuthTime is when the user authenticated at the provider
	// ("auth_time"); zero if unknown.
	AuthTime time.Time
	// ACR is the authentication context class ("acr"); "" if unknown.
	ACR string
	// AMR lists the authentication methods used ("amr", RFC 8176).
	AMR []string
	// Scopes are a bearer token's scopes; nil for cookie sessions.
	Scopes []string
	// Bearer reports that a bearer token, not a session cookie,
	// authenticated the request.
	Bearer bool
	// ClientIP is the client's address by the middleware's trusted-proxy
	// rule; the zero Addr when unknown.
	ClientIP netip.Addr
	// Now is the middleware's clock.
	Now time.Time
}

// Policy decides whether a [Request] may pass. Check returns nil to let it
// pass. Any other result is a refusal: an error wrapping [ErrDenied] (403,
// or for a bearer token [ErrInsufficientScope]), a [*StepUpRequired] (sign
// in again, more recently or more strongly), or anything else, which means
// the policy could not decide (the middleware answers 503). Check must be
// safe for concurrent use and must not modify the Request.
type Policy interface {
	Check(*Request) error
}

// Func is a plain function used as a [Policy], for anything the built-in
// policies do not express. Any error it returns refuses the request: one
// that wraps [ErrDenied] or is a [*StepUpRequired] is a decision, any
// other is "could not decide" (a database that did not answer), which the
// middleware turns into a 503, never into a pass.
type Func func(*Request) error

// Check calls f(r). A nil Func refuses every request, and [Validate]
// reports it.
func (f Func) Check(r *Request) error {
	if f == nil {
		return errNilFunc
	}
	return f(r)
}

// ErrDenied is wrapped by every refusal of the built-in policies
// (test with [errors.Is]): the user is known, and may not pass.
var ErrDenied = errors.New("policy: denied")

// denial is a refusal that wraps [ErrDenied]. Built-in policies refuse
// with constants of this type: naming the rule, never the user's data, and
// costing no allocation.
type denial string

func (d denial) Error() string { return string(d) }
func (d denial) Unwrap() error { return ErrDenied }

// user returns r's user, or nil when there is none to judge.
func user(r *Request) *session.User {
	if r == nil {
		return nil
	}
	return r.User
}
