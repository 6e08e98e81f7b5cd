package session

import (
	"net/http"
	"strings"
	"testing"
)

// TestFindCookie: findCookie reads the header as net/http does, including
// the cases where they could part: spaces around names and values,
// quotes, a name as a prefix of another, a part without '=', several
// lines, and net/http's bound on the number of cookies.
func TestFindCookie(t *testing.T) {
	const n = "__Host-p"
	for _, tc := range []struct {
		name  string
		lines []string
		value string
		count int
	}{
		{"alone", []string{n + "=v"}, "v", 1},
		{"among others", []string{"a=1; " + n + "=v; b=2"}, "v", 1},
		{"spaces", []string{"a=1;  " + n + " =v ;b=2"}, "v", 1},
		{"quoted", []string{n + `="v"`}, "v", 1},
		{"a prefix of another name", []string{n + "x=v"}, "", 0},
		{"another name's prefix", []string{"x" + n + "=v"}, "", 0},
		{"chunk name", []string{n + ".1=v"}, "", 0},
		{"no =", []string{n}, "", 1},
		{"empty", []string{n + "="}, "", 1},
		{"two", []string{n + "=a; " + n + "=b"}, "b", 2},
		{"two lines", []string{n + "=a", "x=1; " + n + "=b"}, "b", 2},
		{"tab and CR", []string{"\t" + n + "\t=v\r"}, "v", 1},
		{"over net/http's bound", []string{n + "=v" + strings.Repeat(";", maxCookiesParsed)}, "", 0},
		{"at net/http's bound", []string{n + "=v" + strings.Repeat(";", maxCookiesParsed-1)}, "v", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{"Cookie": tc.lines}
			v, c := findCookie(h, n)
			if v != tc.value || c != tc.count {
				t.Fatalf("findCookie = %q, %d; want %q, %d", v, c, tc.value, tc.count)
			}
			checkLikeNetHTTP(t, h, n)
		})
	}
}

// checkLikeNetHTTP checks findCookie and onlyCookie against net/http's
// parser on h.
func checkLikeNetHTTP(t *testing.T, h http.Header, name string) {
	t.Helper()
	r := &http.Request{Header: h}
	cs := r.CookiesNamed(name)
	v, n := findCookie(h, name)
	switch {
	case n == 0 && len(cs) != 0:
		t.Fatalf("findCookie found none, net/http %d", len(cs))
	case n == 1 && validCookieValue(v) && (len(cs) != 1 || cs[0].Value != v):
		t.Fatalf("findCookie found %q, net/http %d cookies", v, len(cs))
	case n == 1 && !validCookieValue(v) && len(cs) != 0:
		t.Fatalf("findCookie found the invalid %q, net/http %d cookies", v, len(cs))
	case len(cs) > n:
		t.Fatalf("findCookie found %d, net/http %d", n, len(cs))
	}
	got, ok := onlyCookie(r, name)
	if ok && !validCookieValue(got) {
		return // decode refuses it before anything else
	}
	if want := len(cs) == 1; ok != want || ok && got != cs[0].Value {
		t.Fatalf("onlyCookie = %q, %v; net/http %d cookies", got, ok, len(cs))
	}
}

// FuzzFindCookie: on any two Cookie lines, findCookie and onlyCookie
// agree with net/http's Request.CookiesNamed.
func FuzzFindCookie(f *testing.F) {
	for _, seed := range [][2]string{
		{"__Host-p=v", ""},
		{"a=1; __Host-p=v; b=2", "__Host-p=w"},
		{` __Host-p = "v" `, "x"},
		{"__Host-p", "__Host-p="},
		{"__Host-p=a\"b", ";;;"},
		{"__Host-p=1~abc; __Host-p.1=def", ""},
		{"__Host-p=\x7f", "__Host-p=ok"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		lines := []string{a}
		if b != "" {
			lines = append(lines, b)
		}
		checkLikeNetHTTP(t, http.Header{"Cookie": lines}, "__Host-p")
	})
}
