package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// errACRConflict is [AllOf]'s refusal when its step-ups ask for ACR
// classes no single authentication can have.
const errACRConflict denial = "policy: denied: the required step-ups have no acr in common"

// An outcome is how [AnyOf] and [AllOf] read a policy's answer.
type outcome int

const (
	passed    outcome = iota // nil
	denied                   // wraps ErrDenied, and is not a step-up
	stepUpNow                // a *StepUpRequired
	undecided                // anything else: the policy could not decide
)

// classify reads err. The built-ins' refusals are recognised without
// allocating; anything else goes through errors.As and errors.Is.
func classify(err error) (outcome, *StepUpRequired) {
	switch e := err.(type) {
	case nil:
		return passed, nil
	case denial:
		return denied, nil
	case *StepUpRequired:
		if e == nil {
			return undecided, nil
		}
		return stepUpNow, e
	}
	if su := (*StepUpRequired)(nil); errors.As(err, &su) {
		if su == nil {
			return undecided, nil
		}
		return stepUpNow, su
	}
	if errors.Is(err, ErrDenied) {
		return denied, nil
	}
	return undecided, nil
}

// anyOf is the Policy of [AnyOf].
type anyOf []Policy

// AnyOf admits a request that one of ps admits, trying them in order and
// stopping at the first that passes:
//
//	policy.AnyOf(policy.EmailDomains("acme.com"), policy.Groups("contractors"))
//
// When all refuse, AnyOf returns the most useful refusal: the first
// [*StepUpRequired] if any (stepping up would let the request pass), else
// the first error that is not a decision (the request might have passed:
// the middleware answers 503), else a denial that wraps every policy's.
//
// AnyOf with no policies, a nil one, a misconfigured one (see [Validate]),
// or one that admits every cookie session ([Scopes], or an [AllOf] of
// nothing but Scopes) is a configuration error: it refuses everyone and
// Validate reports it.
func AnyOf(ps ...Policy) Policy {
	if p := checkChildren("AnyOf", ps); p != nil {
		return p
	}
	for i, p := range ps {
		if passesCookies(p) {
			return misconfigured("AnyOf: policy %d admits every cookie session (Scopes judges bearer tokens only: combine it with AllOf)", i)
		}
	}
	return anyOf(slices.Clone(ps))
}

func (ps anyOf) Check(r *Request) error {
	var (
		step    *StepUpRequired
		unknown error
		buf     [4]error
	)
	refusals := buf[:0]
	for _, p := range ps {
		err := p.Check(r)
		switch o, su := classify(err); o {
		case passed:
			return nil
		case stepUpNow:
			if step == nil {
				step = su
			}
		case undecided:
			if unknown == nil {
				unknown = err
			}
		default:
			refusals = append(refusals, err)
		}
	}
	switch {
	case step != nil:
		return step
	case unknown != nil:
		return unknown
	}
	return noneAdmitted(slices.Clone(refusals))
}

// noneAdmitted is [AnyOf]'s denial: every policy's, wrapped.
type noneAdmitted []error

func (e noneAdmitted) Error() string {
	msgs := make([]string, len(e))
	for i, err := range e {
		msgs[i] = err.Error()
	}
	return "policy: denied by every policy of AnyOf: [" + strings.Join(msgs, "; ") + "]"
}

func (e noneAdmitted) Unwrap() []error { return e }

// allOf is the Policy of [AllOf].
type allOf struct {
	ps          []Policy
	cookiesPass bool // every policy is a Scopes: see passesCookies
}

// AllOf admits a request that every one of ps admits:
//
//	policy.AllOf(policy.Providers("corp"), policy.Groups("finance"), policy.StepUp(policy.StepUpRequired{AMR: []string{"mfa"}}))
//
// A plain denial (an error wrapping [ErrDenied] that is not a
// [*StepUpRequired]) wins over everything else: AllOf stops at the first,
// so nobody is sent to step up only to be refused afterwards; otherwise it
// checks every policy.
// Then an error that is not a decision wins (the middleware answers 503).
// When the only refusals are step-ups, AllOf returns one
// [*StepUpRequired] that meets them all: the smallest MaxAge, the ACR
// classes every one of them accepts (none in common is a denial: no
// authentication could pass), and every AMR method any of them requires.
//
// AllOf with no policies, a nil one, or a misconfigured one (see
// [Validate]) is a configuration error: it refuses everyone and Validate
// reports it.
func AllOf(ps ...Policy) Policy {
	if p := checkChildren("AllOf", ps); p != nil {
		return p
	}
	all := true
	for _, p := range ps {
		all = all && passesCookies(p)
	}
	return allOf{ps: slices.Clone(ps), cookiesPass: all}
}

func (p allOf) Check(r *Request) error {
	var (
		unknown error
		buf     [4]*StepUpRequired
	)
	ups := buf[:0]
	for _, c := range p.ps {
		err := c.Check(r)
		switch o, su := classify(err); o {
		case denied:
			return err
		case stepUpNow:
			ups = append(ups, su)
		case undecided:
			if unknown == nil {
				unknown = err
			}
		}
	}
	switch {
	case unknown != nil:
		return unknown
	case len(ups) == 0:
		return nil
	case len(ups) == 1:
		return ups[0]
	}
	merged, ok := mergeStepUps(ups)
	if !ok {
		return errACRConflict
	}
	return merged
}

// checkChildren returns the misconfigured policy that an [AnyOf] or
// [AllOf] of ps is, or nil when ps are fine.
func checkChildren(name string, ps []Policy) Policy {
	if len(ps) == 0 {
		return misconfigured("%s: no policies", name)
	}
	var problems []string
	for i, p := range ps {
		if err := validate(p); err != nil {
			var ce *configError
			if errors.As(err, &ce) {
				problems = append(problems, fmt.Sprintf("policy %d: %s", i, ce.detail))
			}
		}
	}
	if len(problems) > 0 {
		return misconfigured("%s: %s", name, strings.Join(problems, "; "))
	}
	return nil
}
