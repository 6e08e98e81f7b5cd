package providers

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

func TestRefreshErrorClassification(t *testing.T) {
	re := func(status int, code string) error {
		return &oauth2.RetrieveError{Response: &http.Response{StatusCode: status}, ErrorCode: code, ErrorDescription: "<b>provider text</b>"}
	}
	for _, tc := range []struct {
		name   string
		err    error
		denied bool
	}{
		{"invalid_grant 400", re(400, "invalid_grant"), true},
		{"invalid_client 401", re(401, "invalid_client"), true},
		{"unauthorized_client 400", re(400, "unauthorized_client"), true},
		{"4xx without a code", re(403, ""), true},
		{"GitHub bad_refresh_token with HTTP 200", re(200, "bad_refresh_token"), true},
		{"500", re(500, ""), false},
		{"503 temporarily_unavailable", re(503, "temporarily_unavailable"), false},
		{"server_error with HTTP 400", re(400, "server_error"), false},
		{"temporarily_unavailable with HTTP 200", re(200, "temporarily_unavailable"), false},
		{"network", errors.New("dial tcp: connection refused"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := refreshError("p", tc.err)
			if errors.Is(err, ErrRefreshDenied) != tc.denied {
				t.Fatalf("%v: denied %v, want %v", err, !tc.denied, tc.denied)
			}
			if msg := err.Error(); strings.Contains(msg, "provider text") || strings.Contains(msg, "<b>") {
				t.Fatalf("error keeps the provider's description: %s", msg)
			}
		})
	}
}

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
