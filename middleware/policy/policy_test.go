package policy

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/portcullis-go/portcullis/session"
)

// Outcomes of a Check, as the middleware tells them apart.
const (
	pass    = "pass"
	deny    = "denied"
	scope   = "insufficient scope"
	stepup  = "step-up"
	unknown = "could not decide"
)

// outcomeOf classifies err the way doc.go tells the middleware to.
func outcomeOf(err error) string {
	var su *StepUpRequired
	switch {
	case err == nil:
		return pass
	case errors.As(err, &su):
		return stepup
	case errors.Is(err, ErrInsufficientScope):
		return scope
	case errors.Is(err, ErrDenied):
		return deny
	}
	return unknown
}

// withEmail is a cookie-session request of a user with a verified email.
func withEmail(email string) *Request {
	return &Request{User: &session.User{Provider: "google", Subject: "1", Email: email}}
}

// withGroups is a cookie-session request of a user in groups.
func withGroups(groups ...string) *Request {
	return &Request{User: &session.User{Provider: "corp", Subject: "1", Groups: groups}}
}

func TestFunc(t *testing.T) {
	errDown := errors.New("directory down")
	tests := []struct {
		name string
		f    Func
		want string
	}{
		{"nil error passes", func(*Request) error { return nil }, pass},
		{"wrapped ErrDenied is a denial", func(*Request) error { return errors.Join(errors.New("not on call"), ErrDenied) }, deny},
		{"other error could not decide", func(*Request) error { return errDown }, unknown},
		{"step-up", func(*Request) error { return &StepUpRequired{MaxAge: 1} }, stepup},
		{"nil Func refuses", nil, deny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := outcomeOf(tt.f.Check(withEmail("jane@acme.com"))); got != tt.want {
				t.Errorf("Check = %s, want %s", got, tt.want)
			}
		})
	}
	t.Run("sees the request", func(t *testing.T) {
		r := withEmail("jane@acme.com")
		var seen *Request
		_ = Func(func(got *Request) error { seen = got; return nil }).Check(r)
		if seen != r {
			t.Errorf("Func got %p, want %p", seen, r)
		}
	})
	t.Run("error passed through", func(t *testing.T) {
		if err := Func(func(*Request) error { return errDown }).Check(nil); err != errDown {
			t.Errorf("Check = %v, want %v", err, errDown)
		}
	})
}

// TestNoRequest: every built-in refuses a nil Request, and every one that
// judges the user refuses a Request without one, rather than panicking.
func TestNoRequest(t *testing.T) {
	ps := map[string]Policy{
		"EmailDomains": EmailDomains("acme.com"),
		"Emails":       Emails("jane@acme.com"),
		"Groups":       Groups("eng"),
		"Providers":    Providers("google"),
		"IPRanges":     IPRanges(netip.MustParsePrefix("10.0.0.0/8")),
		"StepUp":       StepUp(StepUpRequired{ACR: []string{"gold"}}),
		"AnyOf":        AnyOf(Groups("eng"), Providers("google")),
		"AllOf":        AllOf(Groups("eng"), Providers("google")),
	}
	if err := Scopes("read").Check(nil); err == nil {
		t.Error("Scopes.Check(nil) passed")
	}
	for name, p := range ps {
		for _, r := range []*Request{nil, {}} {
			if err := p.Check(r); err == nil {
				t.Errorf("%s.Check(%v) passed", name, r)
			}
		}
	}
}

// TestZeroAllocs: a passing Check of a built-in allocates nothing, and
// neither does a plain denial.
func TestZeroAllocs(t *testing.T) {
	r := &Request{
		User:     &session.User{Provider: "google", Subject: "1", Email: "Jane.Doe@Eng.Acme.com", Groups: []string{"staff", "eng"}},
		ClientIP: netip.MustParseAddr("::ffff:10.1.2.3"),
		Bearer:   true, Scopes: []string{"read", "write"},
		ACR: "gold", AMR: []string{"pwd", "mfa"},
	}
	tests := []struct {
		name string
		p    Policy
	}{
		{"EmailDomains", EmailDomains("example.org", "*.acme.com")},
		{"EmailDomains denial", EmailDomains("example.org")},
		{"Emails", Emails("jane.doe@eng.acme.com")},
		{"Groups", Groups("eng")},
		{"Groups denial", Groups("ops")},
		{"Providers", Providers("google")},
		{"IPRanges", IPRanges(netip.MustParsePrefix("10.0.0.0/8"))},
		{"Scopes", Scopes("write", "read")},
		{"StepUp", StepUp(StepUpRequired{ACR: []string{"gold"}, AMR: []string{"mfa"}})},
		{"AnyOf", AnyOf(EmailDomains("example.org"), Groups("eng"))},
		{"AllOf", AllOf(EmailDomains("*.acme.com"), Groups("eng"), Scopes("read"))},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(100, func() { _ = tt.p.Check(r) }); n != 0 {
			t.Errorf("%s: %v allocations per Check, want 0", tt.name, n)
		}
	}
}
