package policy

import (
	"testing"

	"github.com/portcullis-go/portcullis/session"
)

// BenchmarkPolicyCheck measures a typical route policy on a typical user:
// one who passes by email domain, and one who passes only by group (the
// email check refuses first).
func BenchmarkPolicyCheck(b *testing.B) {
	p := AnyOf(EmailDomains("acme.com", "*.acme.com"), Groups("contractors", "auditors"))
	users := []struct {
		name string
		user session.User
	}{
		{"domain", session.User{Provider: "google", Subject: "110169484474386276334", Email: "jane.doe@acme.com",
			Groups: []string{"staff", "engineering", "oncall"}}},
		{"group", session.User{Provider: "google", Subject: "110169484474386276335", Email: "bob@partner.example",
			Groups: []string{"staff", "contractors"}}},
	}
	for _, u := range users {
		b.Run(u.name, func(b *testing.B) {
			r := &Request{User: &u.user}
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Check(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
