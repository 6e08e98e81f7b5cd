package policy

// errProvider is the refusal of [Providers].
const errProvider denial = "policy: denied: signed in with a provider not allowed here"

// providers is the Policy of [Providers].
type providers map[string]struct{}

// Providers admits a user who signed in with one of the named providers:
// [session.User]'s Provider, the name the provider was configured under
// (such as "google" or "corp"), compared exactly. It is how a route says
// "staff only" when staff sign in with one provider and customers with
// another.
//
// An empty list, or an empty name, is a configuration error: the policy
// refuses everyone and [Validate] reports it. Providers does not check that
// the names are configured in the middleware.
func Providers(names ...string) Policy {
	if len(names) == 0 {
		return misconfigured("Providers: no provider names")
	}
	p := providers{}
	for _, n := range names {
		if n == "" {
			return misconfigured("Providers: empty provider name")
		}
		p[n] = struct{}{}
	}
	return p
}

func (p providers) Check(r *Request) error {
	u := user(r)
	if u == nil {
		return errProvider
	}
	if _, ok := p[u.Provider]; ok && u.Provider != "" {
		return nil
	}
	return errProvider
}
