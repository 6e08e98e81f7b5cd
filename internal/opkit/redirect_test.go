package opkit

import (
	"net/url"
	"testing"
)

func TestAppendQuery(t *testing.T) {
	for _, tc := range []struct {
		name, uri string
		params    url.Values
		want      string
	}{
		{"no query", "https://app.example/cb", url.Values{"state": {"s 1"}, "code": {"c"}}, "https://app.example/cb?code=c&state=s+1"},
		{"registered query kept byte for byte", "http://127.0.0.1:1/cb?tenant=a%20b&x=1", url.Values{"code": {"c"}}, "http://127.0.0.1:1/cb?tenant=a%20b&x=1&code=c"},
		{"error response", "https://app.example/cb", url.Values{"error": {"access_denied"}, "iss": {"https://op.example"}}, "https://app.example/cb?error=access_denied&iss=https%3A%2F%2Fop.example"},
		{"no params", "https://app.example/cb?x=1", nil, "https://app.example/cb?x=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := AppendQuery(tc.uri, tc.params); got != tc.want {
				t.Errorf("AppendQuery = %q, want %q", got, tc.want)
			}
		})
	}
}
