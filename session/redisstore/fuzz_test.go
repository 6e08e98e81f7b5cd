package redisstore

import (
	"strings"
	"testing"
)

// FuzzParse: a cookie value either is refused or carries a valid id whose
// signature is exactly the one the store makes; nothing else reaches a
// Redis key.
func FuzzParse(f *testing.F) {
	s := downStore(f)
	f.Add(s.sign("AAAAAAAAAAAAAAAAAAAAAA"))
	f.Add(s.sign("AAAAAAAAAAAAAAAAAAAAAA")[:cookieLen-1] + "B")
	f.Add("")
	f.Add(strings.Repeat(".", cookieLen))
	f.Add("../../../../x*?[]" + strings.Repeat("a", 49))
	f.Fuzz(func(t *testing.T, v string) {
		id, ok := s.parse(v)
		if !ok {
			if id != "" {
				t.Fatalf("refused value returned id %q", id)
			}
			return
		}
		if !validID(id) || s.sign(id) != v {
			t.Fatalf("accepted %q as id %q", v, id)
		}
	})
}
