package providers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// TestRefresh429Or4xxWithoutOAuthErrorIsTransient is the review finding
// "a 429, or a 4xx without an OAuth error, at refresh ends the session":
// only 400/401 with one of the four grant-ending codes, or an OAuth error
// inside a 200, is a denial; the rest is transient, with Retry-After.
func TestRefresh429Or4xxWithoutOAuthErrorIsTransient(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	re := func(status int, code string, header ...string) error {
		h := http.Header{}
		for i := 0; i+1 < len(header); i += 2 {
			h.Set(header[i], header[i+1])
		}
		return &oauth2.RetrieveError{
			Response:         &http.Response{StatusCode: status, Header: h},
			Body:             []byte("<html>secret-body</html>"),
			ErrorCode:        code,
			ErrorDescription: "<b>provider text</b>",
		}
	}
	for _, tc := range []struct {
		name       string
		err        error
		denied     bool
		retryAfter time.Duration
	}{
		{"invalid_grant 400", re(400, "invalid_grant"), true, 0},
		{"invalid_client 401", re(401, "invalid_client"), true, 0},
		{"unauthorized_client 400", re(400, "unauthorized_client"), true, 0},
		{"invalid_scope 400", re(400, "invalid_scope"), true, 0},
		{"GitHub bad_refresh_token with HTTP 200", re(200, "bad_refresh_token"), true, 0},
		{"429 rate limit", re(429, "", "Retry-After", "120"), false, 2 * time.Minute},
		{"429 with invalid_grant body", re(429, "invalid_grant"), false, 0},
		{"403 WAF page", re(403, ""), false, 0},
		{"403 with invalid_grant", re(403, "invalid_grant"), false, 0},
		{"404 without a code", re(404, ""), false, 0},
		{"408", re(408, ""), false, 0},
		{"425", re(425, ""), false, 0},
		{"400 invalid_request", re(400, "invalid_request"), false, 0},
		{"400 without a code", re(400, ""), false, 0},
		{"500", re(500, ""), false, 0},
		{"503 with an HTTP-date Retry-After", re(503, "", "Retry-After", now.Add(90*time.Second).Format(http.TimeFormat)), false, 90 * time.Second},
		{"503 with an absurd Retry-After", re(503, "", "Retry-After", "86400"), false, maxRetryAfter},
		{"503 with a garbage Retry-After", re(503, "", "Retry-After", "soon"), false, 0},
		{"temporarily_unavailable 400", re(400, "temporarily_unavailable"), false, 0},
		{"server_error 400", re(400, "server_error"), false, 0},
		{"temporarily_unavailable with HTTP 200", re(200, "temporarily_unavailable"), false, 0},
		{"network", fmt.Errorf("Post: %w", &timeoutError{}), false, 0},
		{"deadline", context.DeadlineExceeded, false, 0},
		{"unparseable 200", errors.New("oauth2: cannot parse json: invalid character '<'"), false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tokenError(tc.err, now)
			if errors.Is(err, ErrDenied) != tc.denied || errors.Is(err, ErrUnavailable) == tc.denied {
				t.Fatalf("%v: denied %v unavailable %v, want denied %v", err, errors.Is(err, ErrDenied), errors.Is(err, ErrUnavailable), tc.denied)
			}
			var pe *Error
			if errors.As(err, &pe) && pe.RetryAfter != tc.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", pe.RetryAfter, tc.retryAfter)
			} else if pe == nil && tc.retryAfter != 0 {
				t.Errorf("no *Error carrying Retry-After")
			}
			for _, leak := range []string{"provider text", "<b>", "secret-body", "invalid character"} {
				if strings.Contains(err.Error(), leak) {
					t.Fatalf("error keeps provider text %q: %s", leak, err)
				}
			}
		})
	}
}

type timeoutError struct{}

func (*timeoutError) Error() string   { return "i/o timeout" }
func (*timeoutError) Timeout() bool   { return true }
func (*timeoutError) Temporary() bool { return true }

func TestAuthorizationErrorKinds(t *testing.T) {
	for code, kind := range map[string]error{
		"access_denied":           ErrDenied,
		"login_required":          ErrDenied,
		"temporarily_unavailable": ErrUnavailable,
		"server_error":            ErrUnavailable,
		"bad\"code":               ErrDenied,
	} {
		e := authorizationError(code, "desc", "")
		if !errors.Is(e, kind) {
			t.Errorf("%s: not %v", code, kind)
		}
		if code == "bad\"code" && e.Code != "invalid" {
			t.Errorf("malformed code kept: %q", e.Code)
		}
	}
}
