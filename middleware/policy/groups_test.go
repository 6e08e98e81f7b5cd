package policy

import (
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
