package policy

// Refusals of [Groups].
const (
	errNoGroups denial = "policy: denied: the provider asserted no groups"
	errGroup    denial = "policy: denied: not in an allowed group"
)

// groups is the Policy of [Groups].
type groups map[string]struct{}

// Groups admits a user with at least one of names among [session.User]'s
// Groups: group, organisation or team names as the provider asserted them,
// compared exactly and case-sensitively (providers treat "Admins" and
// "admins" as different groups).
//
// A user with no groups is refused (AZ-06): an empty list is what a
// provider that was not asked for groups, or whose group lookup failed,
// hands back, and it must not open the route. An empty names list, or an
// empty name, is a configuration error: the policy refuses everyone and
// [Validate] reports it.
func Groups(names ...string) Policy {
	if len(names) == 0 {
		return misconfigured("Groups: no group names")
	}
	p := groups{}
	for _, n := range names {
		if n == "" {
			return misconfigured("Groups: empty group name")
		}
		p[n] = struct{}{}
	}
	return p
}

func (p groups) Check(r *Request) error {
	u := user(r)
	if u == nil || len(u.Groups) == 0 {
		return errNoGroups
	}
	for _, g := range u.Groups {
		if _, ok := p[g]; ok {
			return nil
		}
	}
	return errGroup
}
