package loopback

import (
	"testing"
)

// loopbackCases returns host names (as url.URL.Hostname returns them, or
// as written) and whether they name the local machine.
func loopbackCases() []struct {
	host string
	want bool
} {
	return []struct {
		host string
		want bool
	}{
		{"127.0.0.1", true},
		{"127.5.6.7", true},
		{"::1", true},
		{"[::1]", true},
		{"0:0:0:0:0:0:0:1", true},
		{"::ffff:127.0.0.1", true},
		{"localhost", true},
		{"LocalHost", true},
		// devoidc's own check refused these three, which the library accepts
		// for any provider URL.
		{"localhost.", true},
		{"app.localhost", true},
		{"OP.Localhost.", true},
		{"", false},
		{"10.0.0.1", false},
		{"0.0.0.0", false},
		{"::", false},
		{"128.0.0.1", false},
		{"127.0.0.1.nip.io", false},
		{"localhost.example.com", false},
		{"evillocalhost", false},
		{"op.example.com", false},
		{"localhost..", false},
	}
}

// TestIsLoopback shows the rule, and where devoidc's copy of it differed:
// it took "localhost" in any case but refused a final dot and names under
// .localhost.
func TestHost(t *testing.T) {
	for _, tc := range loopbackCases() {
		t.Run(tc.host, func(t *testing.T) {
			if got := Host(tc.host); got != tc.want {
				t.Errorf("Host(%q) = %v, want %v", tc.host, got, tc.want)
			}
		})
	}
}
