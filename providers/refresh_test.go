package providers

import (
	"testing"
)

func TestSameIssuer(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"https://op.example", "https://op.example", true},
		{"https://op.example", "https://op.example/", false},
		{"https://op.example", "op.example", false},
		{"https://accounts.google.com", "accounts.google.com", true},
		{"accounts.google.com", "https://accounts.google.com", true},
		{"https://accounts.google.com/", "accounts.google.com", false},
		{"http://accounts.google.com", "accounts.google.com", false},
	} {
		if got := sameIssuer(tc.a, tc.b); got != tc.same {
			t.Errorf("sameIssuer(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}
