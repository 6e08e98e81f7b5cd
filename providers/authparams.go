package providers

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/oauth2"
)

// Configured authorization request parameters (OIDCConfig.AuthParams,
// GoogleConfig.AuthParams, OAuth2Config.AuthParams): what a provider needs
// beyond the protocol, such as Auth0's "audience", RFC 8707's "resource",
// "organization", "login_hint", "domain_hint" or "prompt". They are added
// to every authorization request, before the parameters of the login
// itself, so a login's own values win: the consent restart's
// prompt=consent (Flow.Prompt) and a step-up's prompt=login replace a
// configured "prompt" for that login only.

// authParamOwner returns, for a parameter portcullis sets itself, why it
// cannot be configured; "" for any other parameter. Names are compared
// without regard to case, so "State" cannot slip past as a second state.
func authParamOwner(name string) string {
	switch strings.ToLower(name) {
	case "scope":
		return "portcullis sets it from Scopes"
	case "client_id":
		return "portcullis sets it from ClientID"
	case "redirect_uri":
		return "portcullis sets it to the callback URL"
	case "response_type", "response_mode", "state", "nonce", "code_challenge", "code_challenge_method":
		return "portcullis sets it for every login"
	case "request", "request_uri":
		return "portcullis does not send request objects, and they would replace its parameters"
	case "max_age", "acr_values":
		return "a step-up sets it (policy.StepUp)"
	}
	return ""
}

// authCodeOptions checks the configured parameters of provider name and
// returns them as options, in name order. reserved lists further names
// the provider's own configuration sets, each with the field to use
// instead. Each parameter must have exactly one non-empty value: OAuth 2.0
// parameters must not be repeated (RFC 6749 §3.1).
func authCodeOptions(name string, params url.Values, reserved map[string]string) ([]oauth2.AuthCodeOption, error) {
	var opts []oauth2.AuthCodeOption
	for _, k := range slices.Sorted(maps.Keys(params)) {
		v := params[k]
		switch {
		case k == "":
			return nil, fmt.Errorf("providers: %s: AuthParams has an empty parameter name", name)
		case authParamOwner(k) != "":
			return nil, fmt.Errorf("providers: %s: AuthParams cannot set %q: %s", name, k, authParamOwner(k))
		case reserved[strings.ToLower(k)] != "":
			return nil, fmt.Errorf("providers: %s: AuthParams cannot set %q: use %s", name, k, reserved[strings.ToLower(k)])
		case len(v) != 1:
			return nil, fmt.Errorf("providers: %s: AuthParams %q has %d values, want exactly one (a parameter must not be repeated, RFC 6749 §3.1)", name, k, len(v))
		case v[0] == "":
			return nil, fmt.Errorf("providers: %s: AuthParams %q has an empty value", name, k)
		}
		opts = append(opts, oauth2.SetAuthURLParam(k, v[0]))
	}
	return opts, nil
}
