package policy

// Refusals of [Groups].
const (
	errNoGroups   denial = "policy: denied: the provider asserted no groups"
	errGroup      denial = "policy: denied: not in an allowed group"
	errIncomplete denial = "policy: denied: no allowed group among those listed, and the provider's group list was incomplete"
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
// hands back, and it must not open the route. A user whose group list is
// incomplete ([session.User.GroupsIncomplete]: the provider listed only
// some groups, as Microsoft Entra ID does past 200, or portcullis dropped
// some beyond its bound) is admitted by a listed group that matches, and
// otherwise refused with a refusal of its own that says the list was
// incomplete: the group that would admit the user may be one of those
// missing, so the refusal may be wrong, and the fix is on the provider's
// side (fewer groups in the token, app roles, or groups assigned to the
// application). An empty names list, or an empty name, is a
// configuration error: the policy refuses everyone and [Validate] reports
// it.
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
	if u == nil {
		return errNoGroups
	}
	for _, g := range u.Groups {
		if _, ok := p[g]; ok {
			return nil
		}
	}
	switch {
	case u.GroupsIncomplete:
		return errIncomplete
	case len(u.Groups) == 0:
		return errNoGroups
	}
	return errGroup
}
