package policy_test

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/portcullis-go/portcullis/middleware/policy"
	"github.com/portcullis-go/portcullis/session"
)

// verdict prints how the middleware would read err.
func verdict(err error) string {
	var su *policy.StepUpRequired
	switch {
	case err == nil:
		return "pass"
	case errors.As(err, &su):
		return "step up: " + su.Error()
	case errors.Is(err, policy.ErrInsufficientScope):
		return "403 insufficient_scope"
	case errors.Is(err, policy.ErrDenied):
		return "403 denied"
	}
	return "503 could not decide"
}

func userWithEmail(email string) *policy.Request {
	return &policy.Request{User: &session.User{Provider: "google", Subject: "1", Email: email}}
}

// Staff at acme.com and any of its subdomains; nobody else, however the
// address is dressed up.
func ExampleEmailDomains() {
	staff := policy.EmailDomains("acme.com", "*.acme.com")
	for _, email := range []string{
		"Jane@ACME.com",
		"bob@eng.acme.com",
		"eve@acme.com.evil.com",
		"eve@evil.com@acme.com",
		"eve@аcme.com", // Cyrillic а
		"",             // no verified email
	} {
		fmt.Printf("%q: %s\n", email, verdict(staff.Check(userWithEmail(email))))
	}
	// Output:
	// "Jane@ACME.com": pass
	// "bob@eng.acme.com": pass
	// "eve@acme.com.evil.com": 403 denied
	// "eve@evil.com@acme.com": 403 denied
	// "eve@аcme.com": 403 denied
	// "": 403 denied
}

// A Unicode domain is a configuration mistake that Validate reports; the
// policy would refuse everyone.
func ExampleEmailDomains_unicode() {
	fmt.Println(policy.Validate(policy.EmailDomains("bücher.de")))
	fmt.Println(policy.Validate(policy.EmailDomains("xn--bcher-kva.de")))
	// Output:
	// policy: misconfigured: EmailDomains: "bücher.de" is not ASCII (write an internationalized domain in its punycode xn-- form)
	// <nil>
}

func ExampleEmails() {
	p := policy.Emails("cto@acme.com")
	fmt.Println(verdict(p.Check(userWithEmail("CTO@Acme.com"))))
	fmt.Println(verdict(p.Check(userWithEmail("cfo@acme.com"))))
	// Output:
	// pass
	// 403 denied
}

func ExampleGroups() {
	p := policy.Groups("engineering", "sre")
	for _, groups := range [][]string{{"staff", "sre"}, {"staff"}, nil} {
		r := &policy.Request{User: &session.User{Provider: "corp", Subject: "1", Groups: groups}}
		fmt.Println(groups, verdict(p.Check(r)))
	}
	// Output:
	// [staff sre] pass
	// [staff] 403 denied
	// [] 403 denied
}

func ExampleProviders() {
	p := policy.Providers("corp")
	for _, provider := range []string{"corp", "google"} {
		r := &policy.Request{User: &session.User{Provider: provider, Subject: "1"}}
		fmt.Println(provider, verdict(p.Check(r)))
	}
	// Output:
	// corp pass
	// google 403 denied
}

func ExampleIPRanges() {
	office := policy.IPRanges(netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32"))
	for _, ip := range []string{"10.1.2.3", "::ffff:10.1.2.3", "2001:db8::7", "192.0.2.1"} {
		r := &policy.Request{User: &session.User{Provider: "corp", Subject: "1"}, ClientIP: netip.MustParseAddr(ip)}
		fmt.Println(ip, verdict(office.Check(r)))
	}
	// Output:
	// 10.1.2.3 pass
	// ::ffff:10.1.2.3 pass
	// 2001:db8::7 pass
	// 192.0.2.1 403 denied
}

// Scopes judges bearer tokens; a signed-in user passes, so pair it with
// the policies for users.
func ExampleScopes() {
	p := policy.AllOf(policy.Scopes("reports:read"), policy.Groups("finance"))
	user := &session.User{Provider: "corp", Subject: "1", Groups: []string{"finance"}}
	fmt.Println("cookie:", verdict(p.Check(&policy.Request{User: user})))
	fmt.Println("token with scope:", verdict(p.Check(&policy.Request{User: user, Bearer: true, Scopes: []string{"reports:read"}})))
	fmt.Println("token without:", verdict(p.Check(&policy.Request{User: user, Bearer: true, Scopes: []string{"profile"}})))
	// Output:
	// cookie: pass
	// token with scope: pass
	// token without: 403 insufficient_scope
}

func ExampleStepUp() {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	p := policy.StepUp(policy.StepUpRequired{MaxAge: 15 * time.Minute, AMR: []string{"mfa"}})
	user := &session.User{Provider: "corp", Subject: "1"}
	fmt.Println(verdict(p.Check(&policy.Request{User: user, Now: now, AuthTime: now.Add(-5 * time.Minute), AMR: []string{"pwd", "mfa"}})))
	fmt.Println(verdict(p.Check(&policy.Request{User: user, Now: now, AuthTime: now.Add(-2 * time.Hour), AMR: []string{"pwd", "mfa"}})))
	// Output:
	// pass
	// step up: policy: step-up required: authentication within 15m0s amr all of ["mfa"]
}

func ExampleAnyOf() {
	p := policy.AnyOf(policy.EmailDomains("acme.com"), policy.Emails("auditor@partner.example"))
	fmt.Println(verdict(p.Check(userWithEmail("jane@acme.com"))))
	fmt.Println(verdict(p.Check(userWithEmail("auditor@partner.example"))))
	fmt.Println(p.Check(userWithEmail("eve@partner.example")))
	// Output:
	// pass
	// pass
	// policy: denied by every policy of AnyOf: [policy: denied: email domain not allowed; policy: denied: email not allowed]
}

// Step-ups of several policies merge into one login that meets them all;
// a plain denial anywhere wins, so nobody steps up only to be refused.
func ExampleAllOf() {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	p := policy.AllOf(
		policy.Groups("finance"),
		policy.StepUp(policy.StepUpRequired{MaxAge: time.Hour, ACR: []string{"gold", "silver"}}),
		policy.StepUp(policy.StepUpRequired{MaxAge: 10 * time.Minute, ACR: []string{"silver"}, AMR: []string{"mfa"}}),
	)
	for _, groups := range [][]string{{"finance"}, {"sales"}} {
		r := &policy.Request{User: &session.User{Provider: "corp", Subject: "1", Groups: groups}, Now: now}
		fmt.Println(groups, verdict(p.Check(r)))
	}
	// Output:
	// [finance] step up: policy: step-up required: authentication within 10m0s acr one of ["silver"] amr all of ["mfa"]
	// [sales] 403 denied
}

func ExampleFunc() {
	errDirectoryDown := errors.New("directory: timeout")
	onCall := map[string]bool{"corp|alice": true}
	p := policy.Func(func(r *policy.Request) error {
		if r.User.Subject == "down" {
			return errDirectoryDown // could not decide: 503, never a pass
		}
		if !onCall[r.User.ID()] {
			return fmt.Errorf("not on call: %w", policy.ErrDenied)
		}
		return nil
	})
	for _, sub := range []string{"alice", "bob", "down"} {
		fmt.Println(sub, verdict(p.Check(&policy.Request{User: &session.User{Provider: "corp", Subject: sub}})))
	}
	// Output:
	// alice pass
	// bob 403 denied
	// down 503 could not decide
}

// The middleware validates a policy when it is wired; a mistake deep
// inside is named.
func ExampleValidate() {
	p := policy.AllOf(policy.Providers("corp"), policy.AnyOf(policy.Groups("sre"), policy.Scopes("admin")))
	fmt.Println(policy.Validate(p))
	// Output:
	// policy: misconfigured: AllOf: policy 1: AnyOf: policy 1 admits every cookie session (Scopes judges bearer tokens only: combine it with AllOf)
}
