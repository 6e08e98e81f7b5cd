package providers

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Step-up authentication (OpenID Connect Core 1.0 §3.1.2.1): a login can
// ask the provider for an authentication at most MaxAge old, of one of the
// ACRValues classes, or with given AMR methods; the answer is then verified
// against what was asked, so a provider that ignores the request fails the
// login instead of passing an old or weak authentication as a strong one.

// stepUpParams returns the authorization request parameters of f's step-up
// request: max_age with prompt=login (re-authentication even when the
// provider's own session is recent enough for max_age alone: that is what
// a step-up is for), and acr_values. AMR has no request parameter; it is
// only verified.
func stepUpParams(f Flow) []oauth2.AuthCodeOption {
	var opts []oauth2.AuthCodeOption
	if f.MaxAge > 0 {
		opts = append(opts,
			oauth2.SetAuthURLParam("max_age", strconv.FormatInt(int64(max(f.MaxAge/time.Second, 1)), 10)),
			oauth2.SetAuthURLParam("prompt", "login"))
	}
	if len(f.ACRValues) > 0 {
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", strings.Join(f.ACRValues, " ")))
	}
	return opts
}

// wantsStepUp reports whether f asks for a step-up.
func wantsStepUp(f Flow) bool { return f.MaxAge > 0 || len(f.ACRValues) > 0 || len(f.AMR) > 0 }

// checkStepUp verifies an identity against f's step-up request: auth_time
// present and within MaxAge (and a minute of clock skew), acr one of
// ACRValues, amr holding every AMR value. A failure wraps ErrNotAllowed:
// the user did authenticate, but not as the route requires.
func checkStepUp(f Flow, id *Identity, now time.Time) error {
	if f.MaxAge > 0 && (id.AuthTime.IsZero() || now.Sub(id.AuthTime) > f.MaxAge+clockSkew) {
		return fmt.Errorf("%w: the provider did not re-authenticate the user (auth_time missing or older than max_age)", ErrNotAllowed)
	}
	if len(f.ACRValues) > 0 && !slices.Contains(f.ACRValues, id.ACR) {
		return fmt.Errorf("%w: the provider did not authenticate the user at a requested acr", ErrNotAllowed)
	}
	for _, m := range f.AMR {
		if !slices.Contains(id.AMR, m) {
			return fmt.Errorf("%w: the authentication lacks a required amr method", ErrNotAllowed)
		}
	}
	return nil
}
