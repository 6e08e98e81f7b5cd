package session

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// discard is a ResponseWriter that keeps headers only until the next
// iteration, so the benchmark measures Save, not a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// benchSession is realisticSession with its sizes checked: a ~1 KB RS256 ID
// token, a 200-character access token and a 100-character refresh token.
func benchSession(b *testing.B) *Session {
	s := realisticSession(time.Now())
	if n := len(s.Tokens.IDToken); n < 900 || n > 1200 {
		b.Fatalf("ID token is %d bytes", n)
	}
	if len(s.Tokens.AccessToken) != 200 || len(s.Tokens.RefreshToken) != 100 {
		b.Fatalf("tokens are %d and %d bytes", len(s.Tokens.AccessToken), len(s.Tokens.RefreshToken))
	}
	return s
}

// BenchmarkCookieStoreLoad measures Load of a realistic session: "cached"
// is the steady state (the value was authenticated before), "uncached" the
// first request of a value (securecookie decode, MAC, decryption, decoding).
func BenchmarkCookieStoreLoad(b *testing.B) {
	for _, cached := range []bool{true, false} {
		b.Run(map[bool]string{true: "cached", false: "uncached"}[cached], func(b *testing.B) {
			c := newTestStore(b, CookieConfig{})
			if !cached {
				c.cache = newDecodedCache(0)
			}
			rec := save(b, c, benchSession(b))
			cookies := live(rec)
			r := requestWith(cookies...)
			r.Header.Add("Cookie", "_ga=GA1.1.1234567890.1700000000; theme=dark; csrftoken=abcdefghijklmnopqrstuvwxyz012345")
			b.SetBytes(int64(len(cookies[0].Value)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Load(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCookieStoreSave(b *testing.B) {
	c := newTestStore(b, CookieConfig{})
	s := benchSession(b)
	r := requestWith(live(save(b, c, s))...)
	w := &discard{h: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		if err := c.Save(w, r, s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCookieStoreLoadChunked is the first Load of a session spread
// over three cookies (a long group list): the chunks are joined before
// the value is opened.
func BenchmarkCookieStoreLoadChunked(b *testing.B) {
	c := newTestStore(b, CookieConfig{})
	c.cache = newDecodedCache(0)
	s := benchSession(b)
	for i := range 180 {
		s.User.Groups = append(s.User.Groups, fmt.Sprintf("engineering-platform-team-%04d", i))
	}
	cookies := live(save(b, c, s))
	if len(cookies) != 3 {
		b.Fatalf("%d cookies, want 3", len(cookies))
	}
	r := requestWith(cookies...)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Load(r); err != nil {
			b.Fatal(err)
		}
	}
}
