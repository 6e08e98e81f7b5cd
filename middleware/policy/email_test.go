package policy

import (
	"strings"
	"testing"
)

func TestEmailDomains(t *testing.T) {
	tests := []struct {
		name    string
		domains []string
		email   string
		want    string
	}{
		{"exact", []string{"acme.com"}, "jane@acme.com", pass},
		{"second of several", []string{"example.org", "acme.com"}, "jane@acme.com", pass},
		{"user case folded", []string{"acme.com"}, "Jane@ACME.Com", pass},
		{"configured case folded", []string{"ACME.com"}, "jane@acme.com", pass},
		{"punycode", []string{"xn--bcher-kva.de"}, "jane@XN--BCHER-KVA.de", pass},
		{"wildcard admits subdomain", []string{"*.acme.com"}, "jane@eng.acme.com", pass},
		{"wildcard admits deeper subdomain", []string{"*.acme.com"}, "jane@a.b.acme.com", pass},
		{"wildcard case folded", []string{"*.Acme.COM"}, "jane@ENG.acme.com", pass},
		{"wildcard and exact listed", []string{"acme.com", "*.acme.com"}, "jane@acme.com", pass},
		{"other domain", []string{"acme.com"}, "jane@example.org", deny},
		{"wildcard does not admit the domain itself", []string{"*.acme.com"}, "jane@acme.com", deny},
		{"wildcard does not admit a suffix", []string{"*.acme.com"}, "jane@evilacme.com", deny},
		{"exact does not admit subdomains", []string{"acme.com"}, "jane@eng.acme.com", deny},
		{"parent domain", []string{"eng.acme.com"}, "jane@acme.com", deny},
		{"no email", []string{"acme.com"}, "", deny},
		{"not an address", []string{"acme.com"}, "acme.com", deny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := EmailDomains(tt.domains...)
			if err := Validate(p); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if got := outcomeOf(p.Check(withEmail(tt.email))); got != tt.want {
				t.Errorf("EmailDomains(%q) on %q: %s, want %s", tt.domains, tt.email, got, tt.want)
			}
		})
	}
}

// TestEmailDomainsBypasses runs SECURITY.md's AZ-01..AZ-05 against
// EmailDomains("company.com") (and its wildcard form where it matters).
func TestEmailDomainsBypasses(t *testing.T) {
	p := EmailDomains("company.com")
	wild := EmailDomains("*.company.com")
	tests := []struct {
		id, email string
		p         Policy
	}{
		{"AZ-01", "attacker@evil.com@company.com", p},
		{"AZ-01", "attacker@evil.com@foo.company.com", wild},
		{"AZ-01", `"attacker@evil.com"@company.com`, p},
		{"AZ-01", "attacker%evil.com@evil.com@company.com", p},
		{"AZ-02", "x@company.com@evil.com", p},
		{"AZ-02", "x@company.com@", p},
		{"AZ-03", "user@evilcompany.com", p},
		{"AZ-03", "user@evilcompany.com", wild},
		{"AZ-03", "user@company.com.evil.com", p},
		{"AZ-03", "user@company.com.evil.com", wild},
		{"AZ-03", "user@company.com.", p},
		{"AZ-03", "user@foo.company.com.", wild},
		{"AZ-03", "user@company.com ", p},
		{"AZ-03", "user@company.com\x00", p},
		{"AZ-03", "user@company.com\n.evil.com", p},
		{"AZ-03", "user@company.com/evil.com", p},
		{"AZ-03", "user@company.com#.evil.com", p},
		{"AZ-03", "user@company.com:evil.com", p},
		{"AZ-03", "user@[company.com]", p},
		{"AZ-03", "user@company..com", p},
		{"AZ-03", "user@.company.com", wild},
		{"AZ-03", "user@company.com(comment)", p},
		{"AZ-04", "user@cоmpany.com", p}, // Cyrillic о
		{"AZ-04", "user@compаny.com", p}, // Cyrillic а
		{"AZ-04", "user@ｃompany.com", p}, // fullwidth c
		{"AZ-04", "user@company.com\u200b", p},
		{"AZ-04", "user@company\u3002com", p},   // ideographic full stop
		{"AZ-04", "user@xn--cmpany-1ve.com", p}, // punycode of the look-alike
		{"AZ-05", "", p},
		{"AZ-05", "", wild},
	}
	for _, tt := range tests {
		t.Run(tt.id+"/"+tt.email, func(t *testing.T) {
			if err := tt.p.Check(withEmail(tt.email)); outcomeOf(err) != deny {
				t.Errorf("%q: %v (%s), want a denial", tt.email, err, outcomeOf(err))
			}
		})
	}
	t.Run("AZ-03/case-insensitive", func(t *testing.T) {
		if err := p.Check(withEmail("USER@Company.COM")); err != nil {
			t.Errorf("USER@Company.COM refused: %v", err)
		}
	})
	t.Run("AZ-04/Unicode configuration", func(t *testing.T) {
		err := Validate(EmailDomains("cоmpany.com"))
		if err == nil || !strings.Contains(err.Error(), "xn--") {
			t.Errorf("Validate(EmailDomains(Unicode)) = %v, want an error naming the punycode form", err)
		}
	})
	t.Run("AZ-05/no user", func(t *testing.T) {
		if err := p.Check(&Request{}); outcomeOf(err) != deny {
			t.Errorf("no user: %v, want a denial", err)
		}
	})
}

func TestEmails(t *testing.T) {
	tests := []struct {
		name      string
		addresses []string
		email     string
		want      string
	}{
		{"exact", []string{"jane@acme.com"}, "jane@acme.com", pass},
		{"second of several", []string{"bob@acme.com", "jane@acme.com"}, "jane@acme.com", pass},
		{"domain case folded", []string{"jane@acme.com"}, "jane@ACME.COM", pass},
		{"local part case folded", []string{"jane.doe@acme.com"}, "Jane.Doe@acme.com", pass},
		{"configured case folded", []string{"JANE@Acme.com"}, "jane@acme.com", pass},
		{"UTF-8 local part exact", []string{"jürgen@acme.com"}, "jürgen@acme.com", pass},
		{"UTF-8 local part does not fold", []string{"jürgen@acme.com"}, "jÜrgen@acme.com", deny},
		{"Kelvin sign is not k", []string{"kate@acme.com"}, "\u212Aate@acme.com", deny},
		{"other local part", []string{"jane@acme.com"}, "bob@acme.com", deny},
		{"other domain", []string{"jane@acme.com"}, "jane@example.org", deny},
		{"subdomain", []string{"jane@acme.com"}, "jane@eng.acme.com", deny},
		{"not canonicalized", []string{"jane@acme.com"}, "jane+x@acme.com", deny},
		{"suffix of local part", []string{"jane@acme.com"}, "xjane@acme.com", deny},
		{"two @ (AZ-01)", []string{"jane@acme.com"}, "eve@evil.com@jane@acme.com", deny},
		{"quoted (AZ-01)", []string{"jane@acme.com"}, `"eve@evil.com"jane@acme.com`, deny},
		{"trailing dot (AZ-03)", []string{"jane@acme.com"}, "jane@acme.com.", deny},
		{"homoglyph (AZ-04)", []string{"jane@acme.com"}, "jane@аcme.com", deny},
		{"no email (AZ-05)", []string{"jane@acme.com"}, "", deny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Emails(tt.addresses...)
			if err := Validate(p); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if got := outcomeOf(p.Check(withEmail(tt.email))); got != tt.want {
				t.Errorf("Emails(%q) on %q: %s, want %s", tt.addresses, tt.email, got, tt.want)
			}
		})
	}
}
