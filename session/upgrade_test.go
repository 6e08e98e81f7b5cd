package session

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCookieStoreUpgrade: cookies written by portcullis before the sealed
// format (testdata/legacy-cookies.txt, made by the CookieStore of commit
// 094050c with the key below and a 50-year Lifetime: one session in one
// cookie, one in five) still load, and the next Save rewrites them in the
// sealed format, expiring chunks the new one no longer needs. An upgrade
// signs nobody out.
func TestCookieStoreUpgrade(t *testing.T) {
	raw, err := os.ReadFile("testdata/legacy-cookies.txt")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d fixture lines, want 2", len(lines))
	}
	key := []byte("portcullis-legacy-fixture-key-32")
	c, err := NewCookieStore(CookieConfig{Keys: [][]byte{key}, Lifetime: 50 * 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range lines {
		wantID := []string{"fixture-session-id", "fixture-session-id-big"}[i]
		t.Run(wantID, func(t *testing.T) {
			if !strings.HasPrefix(line, c.Name()+"=") || strings.Contains(line, c.Name()+"=1~") {
				t.Fatalf("fixture %d is not a legacy cookie line", i)
			}
			r := requestHeader(line)
			s, err := c.Load(r)
			if err != nil {
				t.Fatalf("Load of a legacy cookie: %v", err)
			}
			if s.ID != wantID || s.User.Subject != "110169484474386276334" || s.User.Email != "ada@example.com" ||
				len(s.User.Groups) != 1 || !strings.HasPrefix(s.Tokens.AccessToken, "ya29.") || !strings.HasPrefix(s.Tokens.IDToken, "eyJ") {
				t.Fatalf("legacy cookie loaded as %+v", s)
			}
			rec := httptest.NewRecorder()
			if err := c.Save(rec, r, s); err != nil {
				t.Fatal(err)
			}
			var next []*http.Cookie
			for _, ck := range rec.Result().Cookies() {
				if ck.MaxAge > 0 {
					next = append(next, ck)
				}
			}
			if len(next) == 0 || !strings.HasPrefix(next[0].Value, strconv.Itoa(len(next))+"~") {
				t.Fatalf("Save after a legacy Load wrote %d cookies, first %.6q…", len(next), next[0].Value)
			}
			if got := len(rec.Result().Cookies()) - len(next); got != strings.Count(line, "; ")+1-len(next) {
				t.Fatalf("%d chunks expired, want the %d the new value does not use", got, strings.Count(line, "; ")+1-len(next))
			}
			again, err := c.Load(requestWith(next...))
			if err != nil || !equalSession(again, s) {
				t.Fatalf("Load of the rewritten cookie = %v; want the same session", err)
			}
		})
	}
}
