package policy

import (
	"errors"
	"slices"
	"testing"
	"time"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func TestStepUp(t *testing.T) {
	fresh := StepUpRequired{MaxAge: 10 * time.Minute}
	gold := StepUpRequired{ACR: []string{"gold", "platinum"}}
	mfa := StepUpRequired{AMR: []string{"mfa", "hwk"}}
	all := StepUpRequired{MaxAge: time.Minute, ACR: []string{"gold"}, AMR: []string{"mfa"}}
	tests := []struct {
		name     string
		required StepUpRequired
		authTime time.Time
		now      time.Time
		acr      string
		amr      []string
		want     string
	}{
		{"recent", fresh, now.Add(-5 * time.Minute), now, "", nil, pass},
		{"exactly MaxAge and the skew", fresh, now.Add(-11 * time.Minute), now, "", nil, pass},
		{"just older than MaxAge and the skew", fresh, now.Add(-11*time.Minute - time.Second), now, "", nil, stepup},
		{"auth time unknown", fresh, time.Time{}, now, "", nil, stepup},
		{"auth time slightly ahead (skew)", fresh, now.Add(30 * time.Second), now, "", nil, pass},
		{"auth time far in the future", fresh, now.Add(time.Hour), now, "", nil, deny},
		{"no clock", fresh, now, time.Time{}, "", nil, unknown},
		{"acr one of", gold, time.Time{}, now, "platinum", nil, pass},
		{"acr not listed", gold, time.Time{}, now, "silver", nil, stepup},
		{"acr unknown", gold, time.Time{}, now, "", nil, stepup},
		{"acr case-sensitive", gold, time.Time{}, now, "Gold", nil, stepup},
		{"amr holds all", mfa, time.Time{}, now, "", []string{"pwd", "hwk", "mfa"}, pass},
		{"amr holds one", mfa, time.Time{}, now, "", []string{"mfa"}, stepup},
		{"amr empty", mfa, time.Time{}, now, "", nil, stepup},
		{"all met", all, now.Add(-time.Second), now, "gold", []string{"mfa"}, pass},
		{"all but age", all, now.Add(-time.Hour), now, "gold", []string{"mfa"}, stepup},
		{"all but acr", all, now.Add(-time.Second), now, "silver", []string{"mfa"}, stepup},
		{"all but amr", all, now.Add(-time.Second), now, "gold", []string{"pwd"}, stepup},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := withEmail("jane@acme.com")
			r.AuthTime, r.Now, r.ACR, r.AMR = tt.authTime, tt.now, tt.acr, tt.amr
			err := StepUp(tt.required).Check(r)
			if got := outcomeOf(err); got != tt.want {
				t.Fatalf("Check = %v (%s), want %s", err, got, tt.want)
			}
			var su *StepUpRequired
			if errors.As(err, &su) && !equalStepUp(su, &tt.required) {
				t.Errorf("StepUpRequired = %+v, want %+v", su, tt.required)
			}
		})
	}
	t.Run("refusal is a copy", func(t *testing.T) {
		req := StepUpRequired{ACR: []string{"gold"}}
		p := StepUp(req)
		req.ACR[0] = "bronze" // the caller's slice, after construction
		var su *StepUpRequired
		if !errors.As(p.Check(&Request{Now: now, ACR: "bronze"}), &su) {
			t.Fatal("bronze passed a gold requirement")
		}
		su.ACR[0] = "bronze" // the refusal, after Check
		if err := p.Check(&Request{Now: now, ACR: "gold"}); err != nil {
			t.Errorf("gold refused after the refusal was modified: %v", err)
		}
	})
	t.Run("wraps ErrDenied", func(t *testing.T) {
		if !errors.Is(&StepUpRequired{MaxAge: time.Minute}, ErrDenied) {
			t.Error("a StepUpRequired does not wrap ErrDenied")
		}
	})
	t.Run("Error", func(t *testing.T) {
		const want = `policy: step-up required: authentication within 1m0s acr one of ["gold"] amr all of ["mfa"]`
		if got := all.Error(); got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
	})
}

func equalStepUp(a, b *StepUpRequired) bool {
	return a.MaxAge == b.MaxAge && slices.Equal(a.ACR, b.ACR) && slices.Equal(a.AMR, b.AMR)
}
