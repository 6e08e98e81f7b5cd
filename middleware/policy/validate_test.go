package policy

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/session"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
		want string // in the error; "" for a valid policy
	}{
		{"nil", nil, "nil Policy"},
		{"nil Func", Func(nil), "nil Func"},
		{"user Func", passes, ""},
		{"user Policy type", userPolicy{}, ""},

		{"EmailDomains none", EmailDomains(), "EmailDomains: no domains"},
		{"EmailDomains empty", EmailDomains(""), "is empty"},
		{"EmailDomains Unicode", EmailDomains("bücher.de"), "punycode xn-- form"},
		{"EmailDomains homoglyph", EmailDomains("cоmpany.com"), "punycode"},
		{"EmailDomains one label", EmailDomains("com"), "single label"},
		{"EmailDomains wildcard TLD", EmailDomains("*.com"), "single label"},
		{"EmailDomains bare wildcard", EmailDomains("*"), "character other than"},
		{"EmailDomains wildcard inside", EmailDomains("eng.*.acme.com"), "character other than"},
		{"EmailDomains wildcard suffix", EmailDomains("*acme.com"), "character other than"},
		{"EmailDomains with @", EmailDomains("@acme.com"), "character other than"},
		{"EmailDomains address", EmailDomains("jane@acme.com"), "character other than"},
		{"EmailDomains trailing dot", EmailDomains("acme.com."), "ends with a dot"},
		{"EmailDomains empty label", EmailDomains("acme..com"), "empty label"},
		{"EmailDomains hyphen", EmailDomains("-acme.com"), "starts or ends with '-'"},
		{"EmailDomains long label", EmailDomains(strings.Repeat("a", 64) + ".com"), "longer than 63"},
		{"EmailDomains long domain", EmailDomains(strings.Repeat("a.", 126) + "com"), "longer than 253"},
		{"EmailDomains IP", EmailDomains("10.0.0.1"), "all-numeric"},
		{"EmailDomains space", EmailDomains(" acme.com"), "character other than"},
		{"EmailDomains one bad of several", EmailDomains("acme.com", "bad_domain.com"), `"bad_domain.com"`},
		{"EmailDomains valid", EmailDomains("acme.com", "*.acme.com", "xn--bcher-kva.de"), ""},

		{"Emails none", Emails(), "Emails: no addresses"},
		{"Emails domain only", Emails("acme.com"), "no '@'"},
		{"Emails two @", Emails("a@b@acme.com"), "more than one '@'"},
		{"Emails quoted", Emails(`"a b"@acme.com`), "special character"},
		{"Emails empty local", Emails("@acme.com"), "empty local part"},
		{"Emails control", Emails("a\x01@acme.com"), "control character"},
		{"Emails Unicode domain", Emails("jane@bücher.de"), "punycode"},
		{"Emails wildcard", Emails("jane@*.acme.com"), "character other than"},
		{"Emails valid", Emails("jane@acme.com", "Bob@Example.org"), ""},

		{"Groups none", Groups(), "Groups: no group names"},
		{"Groups empty name", Groups("eng", ""), "empty group name"},
		{"Groups valid", Groups("eng", "acme/platform"), ""},

		{"Providers none", Providers(), "Providers: no provider names"},
		{"Providers empty name", Providers(""), "empty provider name"},
		{"Providers valid", Providers("corp"), ""},

		{"IPRanges none", IPRanges(), "IPRanges: no ranges"},
		{"IPRanges zero prefix", IPRanges(netip.MustParsePrefix("10.0.0.0/8"), netip.Prefix{}), "range 1 is not a valid prefix"},
		{"IPRanges bad bits", IPRanges(netip.PrefixFrom(netip.MustParseAddr("10.0.0.0"), 33)), "not a valid prefix"},
		{"IPRanges valid", IPRanges(netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")), ""},

		{"Scopes none", Scopes(), "Scopes: no scopes"},
		{"Scopes empty", Scopes(""), "not a scope token"},
		{"Scopes space", Scopes("read write"), "not a scope token"},
		{"Scopes quote", Scopes(`re"ad`), "not a scope token"},
		{"Scopes non-ASCII", Scopes("lesen✓"), "not a scope token"},
		{"StepUp over a year", StepUp(StepUpRequired{MaxAge: 400 * 24 * time.Hour}), "over a year"},
		{"Scopes alone admits every cookie session", Scopes("read", "https://api.acme.com/x"), "Scopes only admits every cookie session"},
		{"AllOf of Scopes only", AllOf(Scopes("read"), Scopes("write")), "Scopes only admits every cookie session"},
		{"Scopes with a user policy", AllOf(Groups("admins"), Scopes("read", "https://api.acme.com/x")), ""},

		{"StepUp nothing", StepUp(StepUpRequired{}), "requires nothing"},
		{"StepUp negative MaxAge", StepUp(StepUpRequired{MaxAge: -time.Second}), "negative MaxAge"},
		{"StepUp empty ACR", StepUp(StepUpRequired{ACR: []string{""}}), "ACR"},
		{"StepUp ACR with space", StepUp(StepUpRequired{ACR: []string{"a b"}}), "ACR"},
		{"StepUp AMR with quote", StepUp(StepUpRequired{AMR: []string{`m"fa`}}), "AMR"},
		{"StepUp long AMR", StepUp(StepUpRequired{AMR: []string{strings.Repeat("m", 256)}}), "AMR"},
		{"StepUp valid", StepUp(StepUpRequired{MaxAge: time.Minute, ACR: []string{"urn:acme:gold"}, AMR: []string{"mfa"}}), ""},

		{"AnyOf none", AnyOf(), "AnyOf: no policies"},
		{"AnyOf nil", AnyOf(passes, nil), "AnyOf: policy 1: nil Policy"},
		{"AnyOf nil Func", AnyOf(Func(nil)), "AnyOf: policy 0: nil Func"},
		{"AnyOf misconfigured", AnyOf(Groups("eng"), EmailDomains()), "AnyOf: policy 1: EmailDomains: no domains"},
		{"AnyOf several misconfigured", AnyOf(Groups(), EmailDomains()), "policy 0: Groups: no group names; policy 1: EmailDomains"},
		{"AnyOf Scopes", AnyOf(Groups("eng"), Scopes("admin")), "policy 1 admits every cookie session"},
		{"AnyOf AllOf of Scopes", AnyOf(AllOf(Scopes("a"), Scopes("b")), Groups("eng")), "policy 0 admits every cookie session"},
		{"AnyOf AllOf with Scopes", AnyOf(AllOf(Scopes("a"), Groups("eng")), Groups("ops")), ""},
		{"AnyOf valid", AnyOf(Groups("eng"), Emails("jane@acme.com")), ""},

		{"AllOf none", AllOf(), "AllOf: no policies"},
		{"AllOf nil", AllOf(nil), "AllOf: policy 0: nil Policy"},
		{"AllOf misconfigured", AllOf(Groups("eng"), IPRanges(netip.Prefix{})), "AllOf: policy 1: IPRanges"},
		{"AllOf Scopes", AllOf(Scopes("a"), Groups("eng")), ""},
		{"nested misconfigured", AllOf(Groups("eng"), AnyOf(Providers("corp"), StepUp(StepUpRequired{}))),
			"AllOf: policy 1: AnyOf: policy 1: StepUp: requires nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.p)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tt.want)
			}
			if !errors.Is(err, ErrDenied) {
				t.Errorf("Validate = %v, does not wrap ErrDenied", err)
			}
			if tt.p == nil || strings.Contains(tt.want, "Scopes only") {
				// A Scopes-only policy is fine inside AllOf; only the
				// outermost one is refused, by Validate at wiring.
				return
			}
			// A misconfigured policy refuses everyone, with its error.
			r := &Request{
				User:     &session.User{Provider: "corp", Subject: "1", Email: "jane@acme.com", Groups: []string{"eng", "ops"}},
				ClientIP: netip.MustParseAddr("10.0.0.1"), Now: now, AuthTime: now,
				ACR: "urn:acme:gold", AMR: []string{"mfa"}, Bearer: true, Scopes: []string{"read", "admin", "a", "b"},
			}
			if cerr := tt.p.Check(r); cerr == nil || cerr.Error() != err.Error() || !errors.Is(cerr, ErrDenied) {
				t.Errorf("Check = %v, want the configuration error %v", cerr, err)
			}
		})
	}
}

// userPolicy is a Policy type written by a user.
type userPolicy struct{}

func (userPolicy) Check(*Request) error { return nil }
