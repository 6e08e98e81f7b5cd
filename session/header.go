package session

import (
	"net/http"
	"strings"
)

// maxCookiesParsed is net/http's default bound on the cookies it parses in
// one request (GODEBUG httpcookiemaxnum): above it, Request.Cookies returns
// none, and so does findCookie.
const maxCookiesParsed = 3000

// findCookie finds the raw value of the cookie called name in h's Cookie
// lines, as net/http's Request.CookiesNamed would read it, without
// checking the value's bytes: n is how many cookies carry that name, valid
// values or not, and value is the last one's (quotes removed). The value's bytes are checked
// by validCookieValue only when they are not byte for byte a value the
// store decoded before (those passed the check then): for a 2 KB session
// cookie that check is most of what net/http spends on a request.
//
// name must be a valid cookie name (validCookieName). The parts are split
// and trimmed exactly as net/http's readCookies does: on ';', ASCII space
// trimmed around the part and around the name, the value cut at the first
// '='. FuzzFindCookie checks the equivalence on any header.
func findCookie(h http.Header, name string) (value string, n int) {
	lines := h["Cookie"]
	// net/http counts the parts as one per line and one per ';'.
	parts := len(lines)
	for _, line := range lines {
		line = trimSpace(line)
		for len(line) > 0 {
			var part string
			var more bool
			part, line, more = strings.Cut(line, ";")
			if more {
				parts++
			}
			part = trimSpace(part)
			if len(part) < len(name) || part[:len(name)] != name {
				continue
			}
			k, v, _ := strings.Cut(part, "=")
			if trimSpace(k) != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			value, n = v, n+1
		}
	}
	if parts > maxCookiesParsed {
		return "", 0
	}
	return value, n
}

// validCookieValue reports whether net/http would accept v as a cookie
// value (after quotes are removed).
func validCookieValue(v string) bool {
	for i := 0; i < len(v); i++ {
		b := v[i]
		if b < 0x20 || b >= 0x7f || b == '"' || b == ';' || b == '\\' {
			return false
		}
	}
	return true
}

// trimSpace is textproto.TrimString: ASCII space, tab, CR and LF.
func trimSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }
