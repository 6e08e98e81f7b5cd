package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestScopes(t *testing.T) {
	tests := []struct {
		name     string
		required []string
		bearer   bool
		scopes   []string
		want     string
	}{
		{"one scope held", []string{"read"}, true, []string{"read"}, pass},
		{"every scope held", []string{"read", "write"}, true, []string{"write", "admin", "read"}, pass},
		{"one missing", []string{"read", "write"}, true, []string{"read"}, scope},
		{"none held", []string{"read"}, true, nil, scope},
		{"case-sensitive", []string{"read"}, true, []string{"READ"}, scope},
		{"no prefix match", []string{"read"}, true, []string{"read:all"}, scope},
		{"no space-joined match", []string{"read"}, true, []string{"read write"}, scope},
		{"URI scope", []string{"https://api.acme.com/reports"}, true, []string{"https://api.acme.com/reports"}, pass},
		{"cookie session passes", []string{"admin"}, false, nil, pass},
		{"cookie session passes whatever it holds", []string{"admin"}, false, []string{"read"}, pass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := withEmail("jane@acme.com")
			r.Bearer, r.Scopes = tt.bearer, tt.scopes
			err := Scopes(tt.required...).Check(r)
			if got := outcomeOf(err); got != tt.want {
				t.Fatalf("Scopes(%q) on %q (bearer %v): %s, want %s", tt.required, tt.scopes, tt.bearer, got, tt.want)
			}
			if err != nil && !errors.Is(err, ErrDenied) {
				t.Errorf("%v does not wrap ErrDenied", err)
			}
		})
	}
	t.Run("names the missing scope", func(t *testing.T) {
		r := &Request{Bearer: true, Scopes: []string{"read"}}
		if err := Scopes("read", "write").Check(r); err == nil || !strings.Contains(err.Error(), `"write"`) {
			t.Errorf("Check = %v, want it to name \"write\"", err)
		}
	})
	t.Run("ErrInsufficientScope wraps ErrDenied", func(t *testing.T) {
		if !errors.Is(ErrInsufficientScope, ErrDenied) {
			t.Error("errors.Is(ErrInsufficientScope, ErrDenied) is false")
		}
	})
}
