package middleware

import (
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxReturnToLen is the longest return path accepted, in bytes.
const maxReturnToLen = 2048

// maxReturnToDecodes is how many layers of percent-encoding of the path part
// safeReturnTo inspects. A path that still decodes further is refused.
const maxReturnToDecodes = 3

// safeReturnTo reports whether v is a same-origin relative path that is safe to
// put in a Location header as is, and returns it unchanged when it is.
//
// It implements the return_to policy of SECURITY.md §5 (RD-01..RD-04). It never
// decodes, cleans or re-encodes v for the caller: an accepted value is used
// byte for byte, and a refused one yields ("", false) so that the caller falls
// back to "/". It is pure, does not allocate beyond [url.Parse], and does not
// panic.
//
// v is accepted if and only if all of these hold:
//
//  1. 1 <= len(v) <= 2048, v[0] == '/', and v[1], if present, is neither '/'
//     nor '\'. Browsers read "//host" and "/\host" as a network-path reference
//     to another host.
//  2. Every byte is printable ASCII (0x21–0x7E) other than '\'. Browsers delete
//     TAB, LF and CR anywhere in a URL, trim leading and trailing controls and
//     spaces, and read '\' as '/', so "/\t/evil.com" and "/ \evil.com" become
//     "//evil.com"; [http.Redirect] writes such values verbatim. Raw non-ASCII
//     is refused too: clients disagree about how to encode it. Percent-encoded
//     forms are plain ASCII and pass this rule; rule 4 looks at them.
//  3. Nowhere in v, query and fragment included, does oauth2-proxy's pattern
//     [/\\](?:[\s\v]*|\.{1,2})[/\\] match. Given rule 2 that means no "//",
//     "/./" or "/../". This is what keeps the path.Clean inside http.Redirect
//     from turning "/a/../\example.com" into "/\example.com".
//  4. The path part P of v (everything before the first '?', which is the part
//     http.Redirect cleans; a '#' that comes before any '?' is included) and
//     its decoded forms D1, D2 and D3 pass the segment check below, and D3 does
//     not decode any further. Each Dn decodes the previous form once. A '%'
//     that is not followed by two hex digits is kept as it is. So Dn equals
//     what [url.PathUnescape] gives whenever that succeeds, and it also matches
//     lenient decoders. The segment check: D is valid UTF-8 and has no control
//     character (C0, DEL or C1). Split D after its leading '/' at '/', '\' and
//     slash look-alikes (U+2044, U+2215, U+2216, U+2571, U+2572, U+27CB,
//     U+27CD, U+29F5, U+29F8, U+29F9, U+FE68, U+FF0F, U+FF3C). Every segment,
//     except an empty last one (a trailing slash), must hold at least one
//     character that is not a dot or dot look-alike (U+2024–U+2026, U+3002,
//     U+FE52, U+FF0E, U+FF61), not ignorable (space, '+', Unicode white space,
//     format characters such as U+200B and U+FEFF, variation selectors and
//     Hangul fillers), and not inside a ";param" tail.
//  5. [url.Parse] accepts v and the result has empty Scheme, Host, Opaque and
//     User.
//
// Why rule 4: a browser never decodes %2F or %5C, but servers, proxies and
// applications in front of the next hop often do. Go's own URL.Path does, and
// so do Tomcat's ";" handling, NFKC normalisation and double-decoding
// proxies. Rule 4 refuses every decoded form that could become "//host" or
// "/\host", or climb above the root: decoded "//", "/\", "/%09/", "/./",
// "/../", "/..;/", "/%EF%BC%8F" (fullwidth solidus), and a trailing "/..".
// It refuses them wherever they occur in the path, so "/a/..%2F%5Cevil.com"
// is refused as well as "/%2F%2Fevil.com". Encoded control bytes in the path
// ("/%0d%0aSet-Cookie:x=y", "/%00") are refused as well. As Location bytes
// they are harmless, but a decoding consumer that echoes the path into a
// header or a log would be open to injection, and no real path contains them.
//
// What stays accepted: an encoded slash or backslash that leaves every
// decoded segment non-empty ("/a/b%2Fc", "/a/b%5Cc"), and anything
// percent-encoded after the first '?' ("/search?q=a%2F%2Fb",
// "/x?redirect=https%3A%2F%2Fexample.com%2F", "/x?m=%0A"). The query is data,
// and no redirect machinery turns it into a path, so it is not decoded (rule 3
// still refuses a raw "//" there). Also accepted: ':', '@', ';', '~', '!' and
// '$' in segments ("/time/12:30", "/u/a@b", "/a;b=c"), encoded UTF-8
// ("/%E2%9C%93"), and a trailing slash.
//
// Rule 1's check of v[1] and rule 5 follow from rules 2 to 4. They stay
// because they are the policy as SECURITY.md §5 states it, and they keep the
// function safe if another rule is ever relaxed.
func safeReturnTo(v string) (string, bool) {
	if len(v) == 0 || len(v) > maxReturnToLen || v[0] != '/' {
		return "", false
	}
	if len(v) > 1 && (v[1] == '/' || v[1] == '\\') {
		return "", false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x21 || c > 0x7e || c == '\\' {
			return "", false
		}
	}
	if hasSlashDotSlash(v) {
		return "", false
	}
	p := v
	if i := strings.IndexByte(v, '?'); i >= 0 {
		p = v[:i]
	}
	if !safeDecodedPath(p) {
		return "", false
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || u.User != nil {
		return "", false
	}
	return v, true
}

// requestReturnTo builds the return path for an unauthenticated request to a protected
// route from r.URL.RequestURI() (escaped form, never r.URL.Path) and validates it with
// safeReturnTo; it returns "/" when the result is not safe.
//
// r.URL.Path is the decoded path: "GET /%2F%2Fevil.example" has Path
// "///evil.example". RequestURI keeps the escaping the client sent (or
// re-escapes it, so "/\evil" becomes "/%5Cevil"). Any "//" or "/\" that
// decoding would produce is then refused by rule 4 of safeReturnTo.
// Proxy-form request lines ("GET https://other.example/x") contribute only
// their path and query.
func requestReturnTo(r *http.Request) string {
	if r == nil || r.URL == nil {
		return "/"
	}
	if v, ok := safeReturnTo(r.URL.RequestURI()); ok {
		return v
	}
	return "/"
}

// hasSlashDotSlash reports whether s contains a match of oauth2-proxy's
// open-redirect pattern [/\\](?:[\s\v]*|\.{1,2})[/\\] (RE2 syntax, where \s is
// [\t\n\f\r ] and \v is 0x0B).
func hasSlashDotSlash(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isSlash(s[i]) {
			continue
		}
		j := i + 1
		for j < len(s) && isREspace(s[j]) {
			j++
		}
		if j < len(s) && isSlash(s[j]) {
			return true
		}
		if j = i + 1; j < len(s) && s[j] == '.' {
			if j+1 < len(s) && isSlash(s[j+1]) {
				return true
			}
			if j+2 < len(s) && s[j+1] == '.' && isSlash(s[j+2]) {
				return true
			}
		}
	}
	return false
}

func isSlash(c byte) bool { return c == '/' || c == '\\' }

func isREspace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// safeDecodedPath applies rule 4 of safeReturnTo to the path part p, which
// starts with '/' and is at most maxReturnToLen bytes long. It decodes in place
// in a stack buffer, so it does not allocate.
func safeDecodedPath(p string) bool {
	var buf [maxReturnToLen]byte
	d := buf[:copy(buf[:], p)]
	for n := 0; ; n++ {
		if !safeSegments(d) {
			return false
		}
		m := percentDecode(d)
		if m == len(d) {
			return true // nothing left to decode
		}
		if n == maxReturnToDecodes {
			return false // D3 would decode again: too many layers
		}
		d = d[:m]
	}
}

// percentDecode decodes every %XX sequence of d in place and returns the new
// length. A '%' that is not followed by two hex digits is copied unchanged.
func percentDecode(d []byte) int {
	w := 0
	for r := 0; r < len(d); r++ {
		c := d[r]
		if c == '%' && r+2 < len(d) && isHex(d[r+1]) && isHex(d[r+2]) {
			c = unhex(d[r+1])<<4 | unhex(d[r+2])
			r += 2
		}
		d[w] = c
		w++
	}
	return w
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

// safeSegments is the segment check of rule 4 of safeReturnTo. d[0] is the
// leading '/'.
func safeSegments(d []byte) bool {
	segLen := 0          // bytes in the current segment
	significant := false // the segment has a significant character
	param := false       // inside the segment's ";param" tail
	for i := 1; i < len(d); {
		r, size := rune(d[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				return false // invalid UTF-8, including overlong "/" (%C0%AF)
			}
		}
		i += size
		if unicode.IsControl(r) {
			return false
		}
		if isSlashLike(r) {
			if !significant {
				return false // empty, blank or dot segment before a separator
			}
			segLen, significant, param = 0, false, false
			continue
		}
		segLen += size
		switch {
		case param || significant:
		case r == ';':
			param = true
		case !isDotLike(r) && !isIgnorable(r):
			significant = true
		}
	}
	return segLen == 0 || significant
}

// isSlashLike reports whether r is '/', '\' or a character that Unicode
// normalisation or a careless reader may take for one.
func isSlashLike(r rune) bool {
	switch r {
	case '/', '\\',
		'\u2044', // FRACTION SLASH
		'\u2215', // DIVISION SLASH
		'\u2216', // SET MINUS
		'\u2571', // BOX DRAWINGS LIGHT DIAGONAL UPPER RIGHT TO LOWER LEFT
		'\u2572', // BOX DRAWINGS LIGHT DIAGONAL UPPER LEFT TO LOWER RIGHT
		'\u27cb', // MATHEMATICAL RISING DIAGONAL
		'\u27cd', // MATHEMATICAL FALLING DIAGONAL
		'\u29f5', // REVERSE SOLIDUS OPERATOR
		'\u29f8', // BIG SOLIDUS
		'\u29f9', // BIG REVERSE SOLIDUS
		'\ufe68', // SMALL REVERSE SOLIDUS
		'\uff0f', // FULLWIDTH SOLIDUS
		'\uff3c': // FULLWIDTH REVERSE SOLIDUS
		return true
	}
	return false
}

// isDotLike reports whether r is '.' or a character that NFKC or IDNA
// mapping turns into one or more dots.
func isDotLike(r rune) bool {
	switch r {
	case '.',
		'\u2024', // ONE DOT LEADER
		'\u2025', // TWO DOT LEADER
		'\u2026', // HORIZONTAL ELLIPSIS
		'\u3002', // IDEOGRAPHIC FULL STOP
		'\ufe52', // SMALL FULL STOP
		'\uff0e', // FULLWIDTH FULL STOP
		'\uff61': // HALFWIDTH IDEOGRAPHIC FULL STOP
		return true
	}
	return false
}

// isIgnorable reports whether r is a character that decoders, trimmers or
// renderers may drop: space, '+' (a space to form decoders), Unicode white
// space, format characters (U+200B, U+FEFF, ...), variation selectors and the
// invisible Hangul fillers.
func isIgnorable(r rune) bool {
	switch r {
	case ' ', '+', '\u034f', '\u115f', '\u1160', '\u3164', '\uffa0':
		return true
	}
	if r < utf8.RuneSelf {
		return false
	}
	return unicode.IsSpace(r) || unicode.In(r, unicode.Cf, unicode.Variation_Selector)
}
