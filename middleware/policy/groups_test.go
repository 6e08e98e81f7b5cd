package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/session"
)

func TestGroups(t *testing.T) {
	tests := []struct {
		name   string
		names  []string
		groups []string
		want   string
	}{
		{"member", []string{"eng"}, []string{"eng"}, pass},
		{"one of several names", []string{"ops", "eng"}, []string{"eng"}, pass},
		{"one of several groups", []string{"eng"}, []string{"staff", "eng", "oncall"}, pass},
		{"org/team form", []string{"acme/platform"}, []string{"acme/platform"}, pass},
		{"not a member", []string{"eng"}, []string{"staff", "sales"}, deny},
		{"case-sensitive", []string{"Admins"}, []string{"admins"}, deny},
		{"no prefix match", []string{"eng"}, []string{"engineering"}, deny},
		{"no substring match", []string{"acme/platform"}, []string{"acme"}, deny},
		{"no trimming", []string{"eng"}, []string{"eng "}, deny},
		{"empty group is not a name", []string{"eng"}, []string{""}, deny},
		{"nil groups fail closed (AZ-06)", []string{"eng"}, nil, deny},
		{"empty groups fail closed (AZ-06)", []string{"eng"}, []string{}, deny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := outcomeOf(Groups(tt.names...).Check(withGroups(tt.groups...))); got != tt.want {
				t.Errorf("Groups(%q) on %q: %s, want %s", tt.names, tt.groups, got, tt.want)
			}
		})
	}
	t.Run("configuration is copied", func(t *testing.T) {
		names := []string{"eng"}
		p := Groups(names...)
		names[0] = "sales"
		if err := p.Check(withGroups("eng")); err != nil {
			t.Errorf("after changing the caller's slice: %v", err)
		}
	})
}

// TestGroupsIncomplete: a matching group admits a user whose list is
// incomplete; without one the refusal says the list was incomplete, never
// the plain "not in a group" or "no groups".
func TestGroupsIncomplete(t *testing.T) {
	for _, tc := range []struct {
		name       string
		groups     []string
		incomplete bool
		want       error // nil: admitted
	}{
		{"incomplete, a listed group matches", []string{"staff", "eng"}, true, nil},
		{"incomplete, no listed group matches", []string{"staff"}, true, errIncomplete},
		{"incomplete, none listed (Entra overage)", nil, true, errIncomplete},
		{"complete, no match", []string{"staff"}, false, errGroup},
		{"complete, none", nil, false, errNoGroups},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Request{User: &session.User{Provider: "corp", Subject: "1", Groups: tc.groups, GroupsIncomplete: tc.incomplete}}
			err := Groups("eng", "ops").Check(r)
			if err != tc.want {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
			if err != nil && !errors.Is(err, ErrDenied) {
				t.Errorf("%v does not wrap ErrDenied", err)
			}
			if err == errIncomplete && !strings.Contains(err.Error(), "incomplete") {
				t.Errorf("refusal %q does not say the list was incomplete", err)
			}
		})
	}
}

func TestProviders(t *testing.T) {
	tests := []struct {
		name     string
		names    []string
		provider string
		want     string
	}{
		{"listed", []string{"corp"}, "corp", pass},
		{"one of several", []string{"google", "corp"}, "corp", pass},
		{"not listed", []string{"corp"}, "github", deny},
		{"case-sensitive", []string{"corp"}, "Corp", deny},
		{"no prefix match", []string{"corp"}, "corp2", deny},
		{"empty provider", []string{"corp"}, "", deny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Request{User: &session.User{Provider: tt.provider, Subject: "1"}}
			if got := outcomeOf(Providers(tt.names...).Check(r)); got != tt.want {
				t.Errorf("Providers(%q) on %q: %s, want %s", tt.names, tt.provider, got, tt.want)
			}
		})
	}
}
