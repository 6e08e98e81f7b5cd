package middleware

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
)

// openRedirectPattern is oauth2-proxy's pattern, used here as an independent
// reference for hasSlashDotSlash and for the decoded forms of accepted values.
const openRedirectPattern = `[/\\](?:[\s\v]*|\.{1,2})[/\\]`

// readCorpus returns the non-empty, non-comment lines of testdata/name.
func readCorpus(t testing.TB, name string) []string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for l := range strings.SplitSeq(string(b), "\n") {
		l = strings.TrimSuffix(l, "\r")
		if l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	return lines
}

func TestSafeReturnToOpenRedirectCorpus(t *testing.T) {
	lines := readCorpus(t, "openredirects.txt")
	if len(lines) < 250 {
		t.Fatalf("corpus has %d payloads, want at least 250", len(lines))
	}
	for i, raw := range lines {
		if got, ok := safeReturnTo(raw); ok || got != "" {
			t.Errorf("payload %d: safeReturnTo(%q) = %q, %v; want refused", i+1, raw, got, ok)
		}
		unescaped, err := url.QueryUnescape(raw)
		if err != nil {
			t.Errorf("payload %d: %q is not query-unescapable: %v", i+1, raw, err)
			continue
		}
		if got, ok := safeReturnTo(unescaped); ok || got != "" {
			t.Errorf("payload %d: safeReturnTo(%q) (unescaped %q) = %q, %v; want refused", i+1, unescaped, raw, got, ok)
		}
	}
}

func TestSafeReturnToBenignCorpus(t *testing.T) {
	re := regexp.MustCompile(openRedirectPattern)
	lines := readCorpus(t, "benign_paths.txt")
	if len(lines) < 40 {
		t.Fatalf("corpus has %d paths, want at least 40", len(lines))
	}
	for _, v := range lines {
		got, ok := safeReturnTo(v)
		if !ok || got != v {
			t.Errorf("safeReturnTo(%q) = %q, %v; want it back unchanged", v, got, ok)
			continue
		}
		if err := checkAccepted(re, v); err != nil {
			t.Errorf("accepted %q: %v", v, err)
		}
	}
}

func TestSafeReturnTo(t *testing.T) {
	re := regexp.MustCompile(openRedirectPattern)
	long := "/" + strings.Repeat("a", maxReturnToLen-1)
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"root", "/", true},
		{"query and fragment", "/admin?x=1#frag", true},
		{"encoded slash in a later segment", "/a/b%2Fc", true},
		{"encoded slash inside the first segment", "/a%2Fb", true},
		{"encoded backslash inside a later segment", "/a/b%5Cc", true},
		{"encoded backslash at the end", "/a%5C", true},
		{"encoded double slash in query", "/search?q=a%2F%2Fb", true},
		{"encoded URL in query", "/x?redirect=https%3A%2F%2Fexample.com%2F", true},
		{"single raw slash in query", "/x?next=/a/b", true},
		{"colon", "/time/12:30", true},
		{"at sign", "/u/a@b", true},
		{"path parameter", "/a;b=c", true},
		{"encoded UTF-8", "/%E2%9C%93", true},
		{"trailing slash", "/a/b/", true},
		{"hash route", "/#/items", true},
		{"literal percent", "/100%25", true},
		{"double-encoded space", "/a%2520b", true},
		{"dotfile", "/.well-known/x", true},
		{"encoded CRLF in query", "/x?m=%0D%0A", true},
		{"longest allowed", long, true},

		{"empty", "", false},
		{"too long", long + "a", false},
		{"relative", "a/b", false},
		{"double slash", "//", false},
		{"slash backslash", "/\\", false},
		{"CVE-2020-5233 backslash", "/\\evil.com", false},
		{"CVE-2020-11053 encoded tab", "/%09/evil.com", false},
		{"CVE-2020-11053 raw tab", "/\t/evil.com", false},
		{"CVE-2020-11053 vertical tab", "/\v\\evil.com", false},
		{"CVE-2020-11053 space backslash", "/ \\evil.com", false},
		{"CVE-2020-4037 tabs", "/\t\t/\t/evil.com", false},
		{"CVE-2020-4037 dot backslash", "/./\\evil.com", false},
		{"CVE-2020-4037 climbing", "/./../../\\evil.com", false},
		{"Gitea path.Clean", "/a/../\\example.com", false},
		{"dotdot double slash", "/a/..//evil.com", false},
		{"encoded dotdot backslash", "/a/..%2F%5Cexample.com", false},
		{"encoded double slash", "/%2F%2Fevil.com", false},
		{"encoded backslash", "/%5Cevil.com", false},
		{"encoded double slash later", "/a/b%2F%2Fc", false},
		{"double-encoded double slash", "/%252F%252Fevil.com", false},
		{"triple-encoded double slash", "/%25252F%25252Fevil.com", false},
		{"quadruple encoding", "/%2525252F", false},
		{"scheme with one slash", "https:/evil.com", false},
		{"absolute URL", "https://evil.com", false},
		{"javascript", "javascript:alert(1)", false},
		{"userinfo", "//a@evil.com", false},
		{"raw double slash in query", "/x?u=https://evil.com", false},
		{"raw dot segment in query", "/x?u=/../a", false},
		{"fullwidth solidus raw", "/／evil.com", false},
		{"fullwidth solidus encoded", "/%EF%BC%8Fevil.com", false},
		{"ideographic full stop raw", "/\u3002evil", false},
		{"ideographic dots", "/%E3%80%82%E3%80%82/x", false},
		{"overlong slash", "/%C0%AFevil.com", false},
		{"invalid UTF-8", "/%FF", false},
		{"encoded CRLF", "/%0d%0aSet-Cookie:x=y", false},
		{"decoded CRLF", "/\r\nSet-Cookie:x=y", false},
		{"encoded NUL", "/a%00", false},
		{"encoded C1 control", "/a%C2%85", false},
		{"plus segment", "/+/evil.com", false},
		{"nbsp segment", "/%C2%A0/evil.com", false},
		{"zero-width segment", "/%E2%80%8B/evil.com", false},
		{"Tomcat dotdot param", "/..;/%5Cevil.com", false},
		{"param-only segment", "/;x/evil.com", false},
		{"dot segment", "/a/./b", false},
		{"trailing dot", "/a/.", false},
		{"trailing dotdot", "/a/..", false},
		{"dot", "/.", false},
		{"encoded dotdot climbing above root", "/%2e%2e", false},
		{"only dots", "/...", false},
		{"raw space", "/a b", false},
		{"DEL", "/a\x7f", false},
		{"raw non-ASCII", "/é", false},
		{"bad escape", "/a%zz", false},
		{"bad escape in fragment", "/a#%zz", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := safeReturnTo(tt.in)
			switch {
			case ok != tt.ok:
				t.Fatalf("safeReturnTo(%q) ok = %v, want %v", clip(tt.in), ok, tt.ok)
			case ok && got != tt.in:
				t.Fatalf("safeReturnTo(%q) = %q, want it unchanged", clip(tt.in), clip(got))
			case !ok && got != "":
				t.Fatalf("safeReturnTo(%q) = %q on refusal, want empty", clip(tt.in), clip(got))
			}
			if ok {
				if err := checkAccepted(re, got); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestRequestReturnTo(t *testing.T) {
	tests := []struct {
		line string // request line, without CRLF
		want string
	}{
		{"GET //evil.example/x HTTP/1.1", "/"},
		{"GET /%2F%2Fevil.example HTTP/1.1", "/"},
		{`GET /\evil.example HTTP/1.1`, "/"},
		{"GET /%5Cevil.example HTTP/1.1", "/"},
		{"GET ///evil.example HTTP/1.1", "/"},
		{`GET /a/../\evil.example HTTP/1.1`, "/"},
		{"GET /%09/evil.example HTTP/1.1", "/"},
		{"GET /%0d%0aSet-Cookie:x=y HTTP/1.1", "/"},
		{"GET /x?next=//evil.example HTTP/1.1", "/"},
		{"GET /" + strings.Repeat("a", maxReturnToLen) + " HTTP/1.1", "/"},
		{"OPTIONS * HTTP/1.1", "/"},
		{"CONNECT evil.example:443 HTTP/1.1", "/"},
		{"GET https://evil.example HTTP/1.1", "/"},
		{"GET https://evil.example/x?y=1 HTTP/1.1", "/x?y=1"},
		{"GET /docs?q=1 HTTP/1.1", "/docs?q=1"},
		{"GET /a/b%2Fc?x=%2F%2Fy HTTP/1.1", "/a/b%2Fc?x=%2F%2Fy"},
		{"GET /%E2%9C%93 HTTP/1.1", "/%E2%9C%93"},
		{"GET /caf\xc3\xa9 HTTP/1.1", "/caf%C3%A9"},
	}
	for _, tt := range tests {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(tt.line + "\r\nHost: app.example\r\n\r\n")))
		if err != nil {
			t.Fatalf("ReadRequest(%q): %v", tt.line, err)
		}
		if got := requestReturnTo(r); got != tt.want {
			t.Errorf("%q: requestReturnTo = %q, want %q (Path %q)", clip(tt.line), clip(got), tt.want, clip(r.URL.Path))
		}
	}

	built := []struct {
		r    *http.Request
		want string
	}{
		{nil, "/"},
		{&http.Request{}, "/"},
		{&http.Request{URL: &url.URL{Path: "//evil.example"}}, "/"},
		{&http.Request{URL: &url.URL{Path: "/\\evil.example"}}, "/"},
		{&http.Request{URL: &url.URL{Opaque: "//evil.example/x"}}, "/"},
		{&http.Request{URL: &url.URL{Path: "/a b", RawQuery: "x=1"}}, "/a%20b?x=1"},
	}
	for _, tt := range built {
		if got := requestReturnTo(tt.r); got != tt.want {
			t.Errorf("requestReturnTo(%+v) = %q, want %q", tt.r, got, tt.want)
		}
	}
}

// TestSafeReturnToProperties checks checkAccepted for every accepted value among
// the corpora and many generated candidates built from dangerous fragments.
func TestSafeReturnToProperties(t *testing.T) {
	re := regexp.MustCompile(openRedirectPattern)
	parts := []string{
		"/", "//", "\\", "%2F", "%2f", "%5C", "%252F", "%255C", ".", "..", "%2E", "%2e%2e",
		"%252e", ";", "+", "%20", "%09", "%0A", "%00", "%C0%AF", "%EF%BC%8F", "%E3%80%82",
		"%E2%80%8B", "?", "#", "@", ":", "a", "evil.com", "%25", "%", "\t", " ", "é",
	}
	candidates := append(readCorpus(t, "benign_paths.txt"), readCorpus(t, "openredirects.txt")...)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		var b strings.Builder
		b.WriteByte('/')
		for range 1 + rng.IntN(6) {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		candidates = append(candidates, b.String())
	}
	accepted := 0
	for _, v := range candidates {
		got, ok := safeReturnTo(v)
		if !ok {
			continue
		}
		accepted++
		if got != v {
			t.Fatalf("safeReturnTo(%q) = %q, want it unchanged", v, got)
		}
		if err := checkAccepted(re, v); err != nil {
			t.Fatalf("accepted %q: %v", v, err)
		}
	}
	if accepted < 1000 {
		t.Fatalf("only %d candidates accepted; the generator no longer exercises the accept path", accepted)
	}
}

func TestSafeReturnToAllocs(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { safeReturnTo("/%2F%2Fevil.com") }); n != 0 {
		t.Errorf("refusal allocates %v times, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { safeReturnTo("/a/b%2Fc/%E2%9C%93?q=a%2F%2Fb#f") }); n > 4 {
		t.Errorf("acceptance allocates %v times, want at most 4 (url.Parse makes 1 to 3)", n)
	}
}

func FuzzSafeReturnTo(f *testing.F) {
	for _, name := range []string{"openredirects.txt", "benign_paths.txt"} {
		for _, l := range readCorpus(f, name) {
			f.Add(l)
			if u, err := url.QueryUnescape(l); err == nil {
				f.Add(u)
			}
		}
	}
	re := regexp.MustCompile(openRedirectPattern)
	f.Fuzz(func(t *testing.T, v string) {
		if got, want := hasSlashDotSlash(v), re.MatchString(v); got != want {
			t.Fatalf("hasSlashDotSlash(%q) = %v, regexp says %v", v, got, want)
		}
		if want, err := url.PathUnescape(v); err == nil {
			d := []byte(v)
			if got := string(d[:percentDecode(d)]); got != want {
				t.Fatalf("percentDecode(%q) = %q, url.PathUnescape = %q", v, got, want)
			}
		}
		got, ok := safeReturnTo(v)
		if !ok {
			if got != "" {
				t.Fatalf("safeReturnTo(%q) = %q on refusal", v, got)
			}
		} else if got != v {
			t.Fatalf("safeReturnTo(%q) = %q, want it unchanged", v, got)
		} else if err := checkAccepted(re, v); err != nil {
			t.Fatalf("accepted %q: %v", v, err)
		}
		if u, err := url.ParseRequestURI(v); err == nil {
			rt := requestReturnTo(&http.Request{URL: u})
			if again, ok := safeReturnTo(rt); !ok || again != rt {
				t.Fatalf("requestReturnTo(%q) = %q, which safeReturnTo refuses", v, rt)
			}
		}
	})
}

// checkAccepted checks what must hold for every value safeReturnTo accepts;
// re is openRedirectPattern, compiled.
func checkAccepted(re *regexp.Regexp, v string) error {
	if len(v) == 0 || len(v) > maxReturnToLen || v[0] != '/' || re.MatchString(v) {
		return fmt.Errorf("breaks the SECURITY.md §5 reference policy")
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x21 || v[i] > 0x7e || v[i] == '\\' {
			return fmt.Errorf("byte %#x at %d", v[i], i)
		}
	}
	// http.Redirect writes it byte for byte.
	if loc := redirectLocation(v); loc != v {
		return fmt.Errorf("http.Redirect wrote Location %q", loc)
	}
	// It resolves to the app's origin, as written and after a browser's clean-up.
	for _, s := range []string{v, browserNormalise(v)} {
		ref, err := url.Parse(s)
		if err != nil {
			return fmt.Errorf("url.Parse(%q): %v", s, err)
		}
		u := appBase().ResolveReference(ref)
		if u.Scheme != "https" || u.Host != "app.example" || u.User != nil {
			return fmt.Errorf("%q resolves to %q", s, u)
		}
	}
	// Decoding the path once or twice (url.PathUnescape), then redirecting with
	// http.Redirect or verbatim, never yields a network-path reference.
	path, rest := v, ""
	if i := strings.IndexByte(v, '?'); i >= 0 {
		path, rest = v[:i], v[i:]
	}
	for range 2 {
		var err error
		if path, err = url.PathUnescape(path); err != nil {
			break
		}
		if re.MatchString(path) {
			return fmt.Errorf("decoded path %q matches %s", path, openRedirectPattern)
		}
		for _, loc := range []string{path + rest, redirectLocation(path + rest)} {
			if s := browserNormalise(loc); !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") {
				return fmt.Errorf("decoded form %q reaches the browser as %q", path+rest, s)
			}
		}
	}
	return nil
}

func appBase() *url.URL { return &url.URL{Scheme: "https", Host: "app.example", Path: "/"} }

// redirectLocation returns the Location header http.Redirect writes for v.
func redirectLocation(v string) string {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "https://app.example/auth/callback/p", nil)
	http.Redirect(w, r, v, http.StatusSeeOther)
	return w.Header().Get("Location")
}

// browserNormalise mimics the WHATWG URL parser's clean-up of a Location
// value: leading and trailing C0 controls and spaces are trimmed, TAB, LF and
// CR are removed anywhere, and '\' is read as '/'.
func browserNormalise(s string) string {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= 0x20 })
	return strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/").Replace(s)
}

// clip shortens s for failure messages.
func clip(s string) string {
	if len(s) <= 80 {
		return s
	}
	return fmt.Sprintf("%s...(%d bytes)", s[:60], len(s))
}
