package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// Fixed answers for the combinators' tests.
var (
	errDown  = errors.New("directory down")
	passes   = Func(func(*Request) error { return nil })
	denies   = Func(func(*Request) error { return errGroup })
	fails    = Func(func(*Request) error { return errDown })
	wrapsDen = Func(func(*Request) error { return errors.Join(errors.New("custom"), ErrDenied) })
)

// stepsUp is a policy that always asks for su.
func stepsUp(su StepUpRequired) Policy {
	return Func(func(*Request) error { return su.clone() })
}

func TestAnyOf(t *testing.T) {
	fresh := StepUpRequired{MaxAge: time.Minute}
	gold := StepUpRequired{ACR: []string{"gold"}}
	tests := []struct {
		name   string
		ps     []Policy
		want   string
		wantSU *StepUpRequired // the step-up returned, when want is stepup
	}{
		{"one passes", []Policy{passes}, pass, nil},
		{"first passes", []Policy{passes, denies}, pass, nil},
		{"last passes", []Policy{denies, fails, stepsUp(fresh), passes}, pass, nil},
		{"all deny", []Policy{denies, wrapsDen}, deny, nil},
		{"one denies", []Policy{denies}, deny, nil},
		{"step-up over denial", []Policy{denies, stepsUp(fresh)}, stepup, &fresh},
		{"first step-up", []Policy{stepsUp(gold), denies, stepsUp(fresh)}, stepup, &gold},
		{"step-up over could-not-decide", []Policy{fails, stepsUp(fresh)}, stepup, &fresh},
		{"could-not-decide over denial", []Policy{denies, fails}, unknown, nil},
		{"real policies, email passes", []Policy{EmailDomains("acme.com"), Groups("eng")}, pass, nil},
		{"real policies, group passes", []Policy{EmailDomains("example.org"), Groups("staff")}, pass, nil},
		{"real policies, none", []Policy{EmailDomains("example.org"), Groups("eng")}, deny, nil},
		{"nested", []Policy{denies, AllOf(passes, AnyOf(denies, passes))}, pass, nil},
	}
	r := withEmail("jane@acme.com")
	r.User.Groups = []string{"staff"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := AnyOf(tt.ps...)
			if err := Validate(p); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			err := p.Check(r)
			if got := outcomeOf(err); got != tt.want {
				t.Fatalf("Check = %v (%s), want %s", err, got, tt.want)
			}
			if tt.wantSU != nil {
				if su, ok := err.(*StepUpRequired); !ok || !equalStepUp(su, tt.wantSU) {
					t.Errorf("Check = %#v, want %+v", err, tt.wantSU)
				}
			}
		})
	}
	t.Run("denial names every refusal", func(t *testing.T) {
		err := AnyOf(EmailDomains("example.org"), Groups("eng")).Check(r)
		if msg := err.Error(); !strings.Contains(msg, string(errEmailDomain)) || !strings.Contains(msg, string(errGroup)) {
			t.Errorf("Error() = %q, want both refusals", msg)
		}
		if !errors.Is(err, errEmailDomain) || !errors.Is(err, errGroup) {
			t.Errorf("%v does not wrap both refusals", err)
		}
	})
	t.Run("stops at the first pass", func(t *testing.T) {
		called := false
		_ = AnyOf(passes, Func(func(*Request) error { called = true; return nil })).Check(r)
		if called {
			t.Error("AnyOf checked a policy after one passed")
		}
	})
	t.Run("configuration is copied", func(t *testing.T) {
		ps := []Policy{passes}
		p := AnyOf(ps...)
		ps[0] = denies
		if err := p.Check(r); err != nil {
			t.Errorf("after changing the caller's slice: %v", err)
		}
	})
}

func TestAllOf(t *testing.T) {
	tests := []struct {
		name   string
		ps     []Policy
		want   string
		wantSU *StepUpRequired
	}{
		{"one passes", []Policy{passes}, pass, nil},
		{"all pass", []Policy{passes, passes, passes}, pass, nil},
		{"one denies", []Policy{passes, denies, passes}, deny, nil},
		{"custom denial", []Policy{passes, wrapsDen}, deny, nil},
		{"denial over step-up", []Policy{stepsUp(StepUpRequired{MaxAge: time.Minute}), denies}, deny, nil},
		{"denial over could-not-decide", []Policy{fails, denies}, deny, nil},
		{"could-not-decide over step-up", []Policy{stepsUp(StepUpRequired{MaxAge: time.Minute}), fails}, unknown, nil},
		{"could-not-decide", []Policy{passes, fails}, unknown, nil},
		{"one step-up", []Policy{passes, stepsUp(StepUpRequired{ACR: []string{"gold"}})}, stepup,
			&StepUpRequired{ACR: []string{"gold"}}},
		{"smallest MaxAge", []Policy{
			stepsUp(StepUpRequired{MaxAge: time.Hour}),
			stepsUp(StepUpRequired{MaxAge: 5 * time.Minute}),
			stepsUp(StepUpRequired{MaxAge: 10 * time.Minute}),
		}, stepup, &StepUpRequired{MaxAge: 5 * time.Minute}},
		{"MaxAge kept from the one that sets it", []Policy{
			stepsUp(StepUpRequired{ACR: []string{"gold"}}),
			stepsUp(StepUpRequired{MaxAge: 5 * time.Minute}),
		}, stepup, &StepUpRequired{MaxAge: 5 * time.Minute, ACR: []string{"gold"}}},
		{"ACR intersection, first list's order", []Policy{
			stepsUp(StepUpRequired{ACR: []string{"platinum", "gold", "silver"}}),
			stepsUp(StepUpRequired{ACR: []string{"silver", "gold", "platinum"}}),
			stepsUp(StepUpRequired{ACR: []string{"gold", "platinum", "bronze"}}),
		}, stepup, &StepUpRequired{ACR: []string{"platinum", "gold"}}},
		{"ACR unconstrained by the others", []Policy{
			stepsUp(StepUpRequired{AMR: []string{"mfa"}}),
			stepsUp(StepUpRequired{ACR: []string{"gold", "silver"}}),
		}, stepup, &StepUpRequired{ACR: []string{"gold", "silver"}, AMR: []string{"mfa"}}},
		{"empty ACR intersection is a denial", []Policy{
			stepsUp(StepUpRequired{ACR: []string{"gold"}}),
			stepsUp(StepUpRequired{ACR: []string{"silver"}}),
		}, deny, nil},
		{"AMR union", []Policy{
			stepsUp(StepUpRequired{AMR: []string{"mfa", "pwd"}}),
			stepsUp(StepUpRequired{AMR: []string{"hwk", "mfa"}}),
		}, stepup, &StepUpRequired{AMR: []string{"mfa", "pwd", "hwk"}}},
		{"everything merged", []Policy{
			passes,
			stepsUp(StepUpRequired{MaxAge: time.Hour, ACR: []string{"gold", "silver"}, AMR: []string{"mfa"}}),
			stepsUp(StepUpRequired{MaxAge: time.Minute, ACR: []string{"silver"}, AMR: []string{"hwk"}}),
		}, stepup, &StepUpRequired{MaxAge: time.Minute, ACR: []string{"silver"}, AMR: []string{"mfa", "hwk"}}},
		{"real StepUp policies", []Policy{
			StepUp(StepUpRequired{MaxAge: time.Hour}),
			StepUp(StepUpRequired{AMR: []string{"mfa"}}),
		}, stepup, &StepUpRequired{MaxAge: time.Hour, AMR: []string{"mfa"}}},
		{"real policies pass", []Policy{EmailDomains("acme.com"), Groups("staff"), Scopes("read")}, pass, nil},
		{"real policies, one denies", []Policy{EmailDomains("acme.com"), Groups("eng")}, deny, nil},
		{"nested AnyOf step-up", []Policy{passes, AnyOf(denies, stepsUp(StepUpRequired{AMR: []string{"mfa"}}))}, stepup,
			&StepUpRequired{AMR: []string{"mfa"}}},
	}
	r := withEmail("jane@acme.com")
	r.User.Groups = []string{"staff"}
	r.Now = now
	r.AuthTime = now.Add(-2 * time.Hour)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := AllOf(tt.ps...)
			if err := Validate(p); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			err := p.Check(r)
			if got := outcomeOf(err); got != tt.want {
				t.Fatalf("Check = %v (%s), want %s", err, got, tt.want)
			}
			if tt.wantSU != nil {
				if su, ok := err.(*StepUpRequired); !ok || !equalStepUp(su, tt.wantSU) {
					t.Errorf("Check = %#v, want %+v", err, tt.wantSU)
				}
			}
		})
	}
	t.Run("merge leaves the step-ups alone", func(t *testing.T) {
		a := &StepUpRequired{ACR: []string{"gold", "silver"}, AMR: []string{"mfa"}}
		b := &StepUpRequired{ACR: []string{"silver"}, AMR: []string{"hwk"}}
		p := AllOf(Func(func(*Request) error { return a }), Func(func(*Request) error { return b }))
		_ = p.Check(r)
		if !slices.Equal(a.ACR, []string{"gold", "silver"}) || !slices.Equal(a.AMR, []string{"mfa"}) || !slices.Equal(b.AMR, []string{"hwk"}) {
			t.Errorf("merging changed its inputs: %+v %+v", a, b)
		}
	})
	t.Run("checks every policy after a step-up", func(t *testing.T) {
		called := false
		_ = AllOf(stepsUp(StepUpRequired{MaxAge: time.Minute}), Func(func(*Request) error { called = true; return nil })).Check(r)
		if !called {
			t.Error("AllOf stopped at a step-up")
		}
	})
	t.Run("a nil *StepUpRequired is not a step-up", func(t *testing.T) {
		err := AllOf(Func(func(*Request) error { return (*StepUpRequired)(nil) })).Check(r)
		if err == nil {
			t.Error("a typed nil *StepUpRequired passed")
		}
	})
}
