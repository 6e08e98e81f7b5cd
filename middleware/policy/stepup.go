package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// clockSkew is how far in the future an auth_time may be before [StepUp]
// stops believing it; the same minute the providers package allows "iat".
const clockSkew = time.Minute

// Refusals of [StepUp] that stepping up cannot cure.
const errFutureAuthTime denial = "policy: denied: auth_time is in the future"

// errNoClock is StepUp's answer to a Request without Now: a wiring
// mistake, so "could not decide", not a denial.
var errNoClock = errors.New("policy: StepUp: Request.Now is zero")

// StepUpRequired is the refusal of [StepUp]: the user must authenticate
// again, more recently or more strongly (OpenID Connect Core 1.0
// §3.1.2.1). It is an error, and it also works as the requirement handed to
// [StepUp]. The middleware answers it by starting a new login with max_age
// (and prompt=login) from MaxAge and acr_values from ACR, and checks the
// result; AMR has no request parameter and is only checked.
//
// A StepUpRequired wraps [ErrDenied], so that a caller that does not know
// it still refuses; callers that do test it with [errors.As] first.
type StepUpRequired struct {
	// MaxAge, when positive, is the oldest authentication accepted,
	// with a minute of clock skew: the same leeway the callback allows
	// when it verifies a step-up's auth_time, so that a session it has
	// just accepted always passes.
	MaxAge time.Duration
	// ACR, when not empty, lists the acceptable authentication context
	// classes, most preferred first; the user's acr must be one of them.
	ACR []string
	// AMR, when not empty, lists authentication methods (RFC 8176) that
	// must all have been used, such as "mfa" or "hwk".
	AMR []string
}

// Error describes what is required, for logs.
func (e *StepUpRequired) Error() string {
	if e == nil {
		return "policy: step-up required: <nil>"
	}
	var b strings.Builder
	b.WriteString("policy: step-up required:")
	if e.MaxAge > 0 {
		fmt.Fprintf(&b, " authentication within %v", e.MaxAge)
	}
	if len(e.ACR) > 0 {
		fmt.Fprintf(&b, " acr one of %q", e.ACR)
	}
	if len(e.AMR) > 0 {
		fmt.Fprintf(&b, " amr all of %q", e.AMR)
	}
	return b.String()
}

// Unwrap returns [ErrDenied].
func (e *StepUpRequired) Unwrap() error { return ErrDenied }

func (e *StepUpRequired) clone() *StepUpRequired {
	return &StepUpRequired{MaxAge: e.MaxAge, ACR: slices.Clone(e.ACR), AMR: slices.Clone(e.AMR)}
}

// stepUp is the Policy of [StepUp].
type stepUp struct{ want *StepUpRequired }

// StepUp admits a request whose authentication meets required, and
// otherwise refuses it with a [*StepUpRequired] (a copy of required):
//
//   - MaxAge > 0: AuthTime is known and Now−AuthTime <= MaxAge, with the
//     minute of clock skew the callback allows when it verifies a
//     step-up, so a session it has just accepted always passes;
//   - ACR not empty: the request's ACR is one of required.ACR;
//   - AMR not empty: the request's AMR holds every one of required.AMR.
//
// An AuthTime more than a minute after Now is refused with a plain denial
// (a new login would not cure a provider's wrong clock), and a Request
// with a zero Now with an error that is not a denial (the middleware's
// clock is missing: the policy cannot decide).
//
// maxStepUpAge bounds StepUpRequired.MaxAge: a year, longer than any
// session, and what the middleware's step-up login accepts.
const maxStepUpAge = 366 * 24 * time.Hour

// A requirement of nothing (all fields zero), a negative MaxAge, or an ACR
// or AMR value that cannot travel in an authorization request (empty,
// longer than 255 bytes, or holding a space, '"', '\' or a byte outside
// printable ASCII) is a configuration error: the policy refuses everyone
// and [Validate] reports it.
func StepUp(required StepUpRequired) Policy {
	switch {
	case required.MaxAge < 0:
		return misconfigured("StepUp: negative MaxAge %v", required.MaxAge)
	case required.MaxAge > maxStepUpAge:
		// The login that meets a step-up carries max_age in its URL, and
		// the middleware refuses one over a year.
		return misconfigured("StepUp: MaxAge %v is over a year", required.MaxAge)
	case required.MaxAge == 0 && len(required.ACR) == 0 && len(required.AMR) == 0:
		return misconfigured("StepUp: requires nothing")
	}
	for _, v := range required.ACR {
		if !stepUpValue(v) {
			return misconfigured("StepUp: ACR %q is not a valid acr value", v)
		}
	}
	for _, v := range required.AMR {
		if !stepUpValue(v) {
			return misconfigured("StepUp: AMR %q is not a valid amr value", v)
		}
	}
	return stepUp{required.clone()}
}

func (p stepUp) Check(r *Request) error {
	if r == nil {
		return p.want.clone()
	}
	if p.want.MaxAge > 0 {
		switch {
		case r.Now.IsZero():
			return errNoClock
		case r.AuthTime.IsZero():
			return p.want.clone()
		case r.AuthTime.After(r.Now.Add(clockSkew)):
			return errFutureAuthTime
		case r.Now.Sub(r.AuthTime) > p.want.MaxAge+clockSkew:
			return p.want.clone()
		}
	}
	if len(p.want.ACR) > 0 && !slices.Contains(p.want.ACR, r.ACR) {
		return p.want.clone()
	}
	for _, m := range p.want.AMR {
		if !slices.Contains(r.AMR, m) {
			return p.want.clone()
		}
	}
	return nil
}

// stepUpValue reports whether v can be an acr or amr value: 1–255 bytes
// of printable ASCII without spaces (acr_values is space separated),
// quotes or backslashes. The providers package requires the same.
func stepUpValue(v string) bool {
	if v == "" || len(v) > 255 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// mergeStepUps returns the one step-up that satisfies all of ups: the
// smallest positive MaxAge, the ACR classes every constraining ACR list
// allows (in the first list's order), and every AMR method any of them
// requires. ok is false when no ACR satisfies them all.
func mergeStepUps(ups []*StepUpRequired) (merged *StepUpRequired, ok bool) {
	merged = &StepUpRequired{}
	acrSet := false
	for _, u := range ups {
		if u.MaxAge > 0 && (merged.MaxAge == 0 || u.MaxAge < merged.MaxAge) {
			merged.MaxAge = u.MaxAge
		}
		if len(u.ACR) > 0 {
			if !acrSet {
				merged.ACR, acrSet = slices.Clone(u.ACR), true
			} else {
				merged.ACR = slices.DeleteFunc(merged.ACR, func(a string) bool { return !slices.Contains(u.ACR, a) })
			}
		}
		for _, m := range u.AMR {
			if !slices.Contains(merged.AMR, m) {
				merged.AMR = append(merged.AMR, m)
			}
		}
	}
	if acrSet && len(merged.ACR) == 0 {
		return nil, false
	}
	return merged, true
}
