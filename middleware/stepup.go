package middleware

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-go/portcullis/middleware/policy"
)

// A route whose policy asks for a step-up (policy.StepUp) sends a signed-in
// browser through its provider again: to
// {PathPrefix}/login/{provider}?return_to=…&max_age=…&acr_values=…&amr=…,
// which starts a flow carrying the request; the provider is asked for it
// (max_age with prompt=login, acr_values) and the callback verifies the
// answer (auth_time, acr, amr), answering 403 when the provider ignored it
// — so the user is never sent round again. The new session records the
// stronger authentication.
//
// The parameters come from the request, but they can only make a login
// stricter than no step-up at all, and each route checks its own
// requirement against the session that comes back.

// maxStepUpAge bounds a step-up's max_age: longer than any session.
const maxStepUpAge = 366 * 24 * time.Hour

// stepUp is the step-up request of a login: the zero value asks for none.
type stepUp struct {
	maxAge   time.Duration
	acr, amr []string
}

// stepUpOf returns the login request that meets a route's requirement.
func stepUpOf(req *policy.StepUpRequired) stepUp {
	return stepUp{maxAge: req.MaxAge, acr: req.ACR, amr: req.AMR}
}

// query appends su's parameters to the login query q.
func (su stepUp) query(q url.Values) {
	if su.maxAge > 0 {
		q.Set("max_age", strconv.FormatInt(int64(max(su.maxAge/time.Second, 1)), 10))
	}
	if len(su.acr) > 0 {
		q.Set("acr_values", strings.Join(su.acr, " "))
	}
	if len(su.amr) > 0 {
		q.Set("amr", strings.Join(su.amr, " "))
	}
}

// stepUpParam reads a login request's step-up parameters. Malformed ones
// are refused (false), never ignored: a login asked to be stricter must
// not silently be weaker.
func stepUpParam(q url.Values) (stepUp, bool) {
	var su stepUp
	for _, k := range [...]string{"max_age", "acr_values", "amr"} {
		if len(q[k]) > 1 {
			return stepUp{}, false
		}
	}
	if v := q.Get("max_age"); v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 || time.Duration(n)*time.Second > maxStepUpAge {
			return stepUp{}, false
		}
		su.maxAge = time.Duration(n) * time.Second
	}
	var ok bool
	if su.acr, ok = stepUpValues(q.Get("acr_values")); !ok {
		return stepUp{}, false
	}
	if su.amr, ok = stepUpValues(q.Get("amr")); !ok {
		return stepUp{}, false
	}
	return su, true
}

// stepUpValues splits a space-separated list of acr or amr values: at
// most maxStepUpValues, each 1 to 255 bytes of printable ASCII without
// quotes or backslashes.
func stepUpValues(s string) ([]string, bool) {
	if s == "" {
		return nil, true
	}
	vs := strings.Split(s, " ")
	if len(vs) > maxStepUpValues {
		return nil, false
	}
	for _, v := range vs {
		if v == "" || len(v) > 255 {
			return nil, false
		}
		for i := 0; i < len(v); i++ {
			if c := v[i]; c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' {
				return nil, false
			}
		}
	}
	return vs, true
}

// validStepUp reports whether a step-up requirement can be asked for: a
// max_age the login accepts and acr and amr values it would carry (the
// values also end up, quoted, in a WWW-Authenticate challenge). The
// built-in policy.StepUp only makes such requirements; a policy of the
// application's might not.
func validStepUp(su *policy.StepUpRequired) bool {
	if su.MaxAge < 0 || su.MaxAge > maxStepUpAge {
		return false
	}
	for _, list := range [...][]string{su.ACR, su.AMR} {
		if _, ok := stepUpValues(strings.Join(list, " ")); !ok || len(list) > maxStepUpValues {
			return false
		}
	}
	return true
}
