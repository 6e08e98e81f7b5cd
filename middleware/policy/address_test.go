package policy

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseEmail(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		in            string
		local, domain string // want, when accepted
		ok            bool
	}{
		{"jane@acme.com", "jane", "acme.com", true},
		{"Jane.Doe+tag@Eng.ACME.com", "Jane.Doe+tag", "Eng.ACME.com", true},
		{"o'brien!#$%&*/=?^_`{|}~-@acme.com", "o'brien!#$%&*/=?^_`{|}~-", "acme.com", true},
		{"jane@xn--bcher-kva.de", "jane", "xn--bcher-kva.de", true},
		{"jane@a-b.c-d.com", "jane", "a-b.c-d.com", true},
		{"jürgen@acme.com", "jürgen", "acme.com", true}, // UTF-8 local part, compared byte for byte
		{long(64) + "@acme.com", long(64), "acme.com", true},
		{"j@" + long(63) + ".com", "j", long(63) + ".com", true},

		// Exactly one '@' (AZ-01, AZ-02).
		{in: "attacker@evil.com@acme.com"},
		{in: "x@acme.com@evil.com"},
		{in: "jane.acme.com"},
		{in: "@acme.com"},
		{in: "jane@"},
		{in: ""},
		// Local part.
		{in: `"eve@evil.com"@acme.com`},
		{in: `"eve"@acme.com`},
		{in: `ev"e@acme.com`},
		{in: "eve\\@acme.com"},
		{in: "eve smith@acme.com"},
		{in: "eve\x00@acme.com"},
		{in: "eve\n@acme.com"},
		{in: "eve\x7f@acme.com"},
		{in: "eve\u0085@acme.com"}, // C1 control
		{in: "eve\xff@acme.com"},   // invalid UTF-8
		{in: "eve(comment)@acme.com"},
		{in: "<eve>@acme.com"},
		{in: "eve,bob@acme.com"},
		{in: "eve;@acme.com"},
		{in: "eve:@acme.com"},
		{in: "[eve]@acme.com"},
		{in: long(65) + "@acme.com"},
		// Domain.
		{in: "eve@acme.com."},
		{in: "eve@.acme.com"},
		{in: "eve@acme..com"},
		{in: "eve@acme"},
		{in: "eve@-acme.com"},
		{in: "eve@acme-.com"},
		{in: "eve@ac_me.com"},
		{in: "eve@acme.com "},
		{in: "eve@acme.com\x00"},
		{in: "eve@acme.com\n"},
		{in: "eve@acme.com/x"},
		{in: "eve@acme.com:443"},
		{in: "eve@[10.0.0.1]"},
		{in: "eve@10.0.0.1"},
		{in: "eve@cоmpany.com"},    // Cyrillic о (AZ-04)
		{in: "eve@acme.com\u200b"}, // zero-width space
		{in: "eve@bücher.de"},
		{in: "eve@ａcme.com"}, // fullwidth a
		{in: "eve@" + long(64) + ".com"},
		{in: "e@" + strings.Repeat("a.", 126) + "com"}, // domain 255 bytes
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			local, domain, ok := parseEmail(tt.in)
			if ok != tt.ok || local != tt.local || domain != tt.domain {
				t.Errorf("parseEmail(%q) = %q, %q, %v; want %q, %q, %v", tt.in, local, domain, ok, tt.local, tt.domain, tt.ok)
			}
		})
	}
}

func TestDomainProblem(t *testing.T) {
	if p := domainProblem("bücher.de"); !strings.Contains(p, "punycode") {
		t.Errorf("domainProblem(Unicode) = %q, want it to mention punycode", p)
	}
	max := strings.Repeat("a.", 125) + "com" // 253 bytes
	if p := domainProblem(max); p != "" {
		t.Errorf("domainProblem(253 bytes) = %q, want accepted", p)
	}
	if p := domainProblem("a" + max); p == "" {
		t.Error("domainProblem(254 bytes) accepted")
	}
}

func FuzzParseEmail(f *testing.F) {
	for _, s := range []string{
		"jane@acme.com", "USER@Company.COM", "attacker@evil.com@company.com", `"a@b"@c.com`,
		"eve@acme.com.", "eve@cоmpany.com", "jürgen@acme.com", "a@xn--bcher-kva.de", "a@b.c", "a\x00@b.com",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		local, domain, ok := parseEmail(s)
		if !ok {
			if local != "" || domain != "" {
				t.Fatalf("parseEmail(%q) refused but returned %q, %q", s, local, domain)
			}
			return
		}
		if strings.Count(s, "@") != 1 || local+"@"+domain != s {
			t.Fatalf("parseEmail(%q) = %q, %q: not one '@' splitting s", s, local, domain)
		}
		if local == "" || len(local) > maxLocalLen || len(domain) > maxDomainLen || !utf8.ValidString(local) {
			t.Fatalf("parseEmail(%q): bad lengths or encoding", s)
		}
		if strings.ContainsAny(local, "\" \\") {
			t.Fatalf("parseEmail(%q): quote, space or backslash in local part", s)
		}
		for _, r := range s {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
				t.Fatalf("parseEmail(%q): control character %U accepted", s, r)
			}
		}
		for i := 0; i < len(domain); i++ {
			if c := domain[i]; c >= utf8.RuneSelf || !(c == '.' || c == '-' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
				t.Fatalf("parseEmail(%q): domain byte %#x accepted", s, c)
			}
		}
		if strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") || !strings.Contains(domain, ".") {
			t.Fatalf("parseEmail(%q): domain %q is not two or more non-empty labels", s, domain)
		}
		// Lower-casing is stable: the lower-cased address parses to the
		// lower-cased parts, and lower-casing twice changes nothing.
		ll, ld, lok := parseEmail(lowerASCII(s))
		if !lok || ll != lowerASCII(local) || ld != lowerASCII(domain) {
			t.Fatalf("parseEmail(lower(%q)) = %q, %q, %v", s, ll, ld, lok)
		}
		if lowerASCII(ld) != ld || strings.ToLower(ld) != ld {
			t.Fatalf("lower-casing %q is not stable", ld)
		}
		// A configured domain is accepted exactly when it is a valid
		// email domain, and an EmailDomains of it admits the address.
		if p := domainProblem(domain); p != "" {
			t.Fatalf("domain %q of an accepted address: %s", domain, p)
		}
		if err := EmailDomains(domain).Check(withEmail(s)); err != nil {
			t.Fatalf("EmailDomains(%q) refused %q: %v", domain, s, err)
		}
		if err := Emails(s).Check(withEmail(lowerASCII(s))); err != nil {
			t.Fatalf("Emails(%q) refused its lower-cased form: %v", s, err)
		}
	})
}
