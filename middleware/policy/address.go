package policy

import (
	"strings"
	"unicode/utf8"
)

// Limits of RFC 5321 §4.5.3.1: a local part of at most 64 bytes, a domain
// of at most 253 (255 minus the length bytes of the wire form), labels of
// at most 63, and a whole address of at most 254.
const (
	maxLocalLen   = 64
	maxDomainLen  = 253
	maxLabelLen   = 63
	maxAddressLen = 254
)

// parseEmail splits an email address into its local part and its domain,
// both as written (not lower-cased), and reports whether the address has
// the one shape the email policies accept. It is the only parser of
// addresses in the package, shared by [EmailDomains] and [Emails] for both
// the configured and the user's addresses, and it never allocates.
//
// s is accepted if and only if:
//
//   - it is at most 254 bytes and holds exactly one '@' (AZ-01, AZ-02: no
//     "the text after the last @", no "the second field of a split");
//   - the local part is 1–64 bytes of valid UTF-8 with no control
//     character (C0, DEL, C1), no space, and none of '"' '\' ( ) < > [ ]
//     , ; : — so no quoted local part, no comment, nothing another parser
//     could read as a second address;
//   - the domain passes [domainProblem]: ASCII only (a homoglyph such as
//     a Cyrillic "о" is refused outright, AZ-04), LDH labels of 1–63
//     bytes not starting or ending with '-', at least two labels, no
//     empty label, no trailing dot, a last label that is not all digits,
//     at most 253 bytes.
//
// Callers compare the domain, and in [Emails] the local part, with ASCII
// case folding only (AZ-03): Unicode folding would let "K" (U+212A KELVIN
// SIGN) match "k".
func parseEmail(s string) (local, domain string, ok bool) {
	local, domain, problem := checkEmail(s)
	return local, domain, problem == ""
}

// checkEmail is [parseEmail], with the reason for a refusal: "" when s is
// accepted, otherwise a constant phrase that completes "the address …".
func checkEmail(s string) (local, domain, problem string) {
	if len(s) > maxAddressLen {
		return "", "", "is longer than 254 bytes"
	}
	at := strings.IndexByte(s, '@')
	if at < 0 {
		return "", "", "has no '@'"
	}
	local, domain = s[:at], s[at+1:]
	if strings.IndexByte(domain, '@') >= 0 {
		return "", "", "has more than one '@'"
	}
	if p := localProblem(local); p != "" {
		return "", "", p
	}
	if p := domainProblem(domain); p != "" {
		return "", "", "has a domain that " + p
	}
	return local, domain, ""
}

// localProblem returns why local cannot be the local part of an accepted
// address, or "".
func localProblem(local string) string {
	switch {
	case local == "":
		return "has an empty local part"
	case len(local) > maxLocalLen:
		return "has a local part longer than 64 bytes"
	}
	ascii := true
	for i := 0; i < len(local); i++ {
		switch c := local[i]; {
		case c < 0x20 || c == 0x7f:
			return "has a control character"
		case c >= utf8.RuneSelf:
			ascii = false
		case c == ' ' || c == '"' || c == '\\' || c == '(' || c == ')' || c == '<' || c == '>' ||
			c == '[' || c == ']' || c == ',' || c == ';' || c == ':':
			return "has a space, a quote or a special character in its local part"
		}
	}
	if ascii {
		return ""
	}
	if !utf8.ValidString(local) {
		return "has a local part that is not valid UTF-8"
	}
	for _, r := range local {
		if r >= 0x80 && r <= 0x9f {
			return "has a control character"
		}
	}
	return ""
}

// domainProblem returns why d is not a domain the email policies accept,
// or "". The reason is a constant phrase that completes "the domain …".
// d is not lower-cased; both cases of ASCII letters are accepted.
func domainProblem(d string) string {
	switch {
	case d == "":
		return "is empty"
	case len(d) > maxDomainLen:
		return "is longer than 253 bytes"
	}
	for i := 0; i < len(d); i++ {
		if d[i] >= utf8.RuneSelf {
			return "is not ASCII (write an internationalized domain in its punycode xn-- form)"
		}
	}
	if d[len(d)-1] == '.' {
		return "ends with a dot"
	}
	labels, start := 1, 0
	for i := 0; i <= len(d); i++ {
		if i < len(d) && d[i] != '.' {
			continue
		}
		label := d[start:i]
		if p := labelProblem(label); p != "" {
			return p
		}
		if i == len(d) {
			if allDigits(label) {
				return "ends in an all-numeric label"
			}
			break
		}
		labels, start = labels+1, i+1
	}
	if labels < 2 {
		return "has a single label"
	}
	return ""
}

// labelProblem returns why label is not an LDH label (RFC 1035 §2.3.1,
// RFC 5890 §2.3.1), or "".
func labelProblem(label string) string {
	switch {
	case label == "":
		return "has an empty label"
	case len(label) > maxLabelLen:
		return "has a label longer than 63 bytes"
	case label[0] == '-' || label[len(label)-1] == '-':
		return "has a label that starts or ends with '-'"
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return "has a character other than a letter, a digit, '-' or '.'"
		}
	}
	return ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// appendLowerASCII appends s to dst with ASCII letters lower-cased and
// every other byte as it is.
func appendLowerASCII(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// lowerASCII returns s with ASCII letters lower-cased; used when a policy
// is built, never per request.
func lowerASCII(s string) string { return string(appendLowerASCII(make([]byte, 0, len(s)), s)) }
