package session

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// fixedNonces makes a sealer's nonces a counter, so that its values are
// the same in every fuzzing worker.
func fixedNonces(s *sealer) {
	var n byte
	s.nonce = func(b []byte) {
		n++
		for i := range b {
			b[i] = n
		}
	}
}

// TestSealRotation: the newest key seals, every key opens, by key id; a
// sealer without the sealing key refuses.
func TestSealRotation(t *testing.T) {
	now := time.Now()
	exp := now.Add(time.Hour)
	old, err := newSealer([][]byte{testKey(1)}, "session")
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := newSealer([][]byte{testKey(2), testKey(1)}, "session")
	if err != nil {
		t.Fatal(err)
	}
	dropped, err := newSealer([][]byte{testKey(2)}, "session")
	if err != nil {
		t.Fatal(err)
	}
	if rotated.keys[0].id == rotated.keys[1].id {
		t.Log("the two test keys share a key id: opening tries both")
	}
	byOld, _ := old.seal("n", exp, []byte("payload"))
	byNew, _ := rotated.seal("n", exp, []byte("payload"))
	for _, tc := range []struct {
		name   string
		s      *sealer
		text   string
		opens  bool
		wantID byte
	}{
		{"old value, rotated keys", rotated, byOld, true, old.keys[0].id},
		{"new value, rotated keys", rotated, byNew, true, rotated.keys[0].id},
		{"new value, old key only", old, byNew, false, 0},
		{"old value, old key dropped", dropped, byOld, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pt, _, err := tc.s.open("n", tc.text, now, time.Hour)
			if (err == nil) != tc.opens || tc.opens && !bytes.Equal(pt, []byte("payload")) {
				t.Fatalf("open = %q, %v; want opened %v", pt, err, tc.opens)
			}
			if tc.opens {
				raw, _ := sealEncoding.DecodeString(tc.text)
				if raw[0] != sealVersion || raw[1] != tc.wantID {
					t.Fatalf("header %x, want version %d and key id %x", raw[:2], sealVersion, tc.wantID)
				}
			}
		})
	}
}

// FuzzSealOpen: open never panics, and it opens only a value the sealer
// made, byte for byte, returning what was sealed.
func FuzzSealOpen(f *testing.F) {
	s, err := newSealer([][]byte{testKey(1), testKey(2)}, "session")
	if err != nil {
		f.Fatal(err)
	}
	fixedNonces(s)
	exp := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	now := exp.Add(-time.Hour)
	made := map[string][]byte{}
	for _, p := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("session "), 200), bytes.Repeat([]byte{0}, 300)} {
		v, err := s.seal("n", exp, p)
		if err != nil {
			f.Fatal(err)
		}
		made[v] = p
		f.Add(v)
		f.Add(v[:len(v)-1])
		f.Add(v + "A")
		f.Add(strings.ToUpper(v[:10]) + v[10:])
	}
	f.Add("")
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, text string) {
		pt, exp2, err := s.open("n", text, now, 2*time.Hour)
		if err != nil {
			return
		}
		want, ok := made[text]
		if !ok {
			t.Fatalf("opened a value the sealer never made: %q", text)
		}
		if !bytes.Equal(pt, want) || exp2 != exp.Unix() {
			t.Fatalf("opened %q (expiry %d), sealed %q", pt, exp2, want)
		}
	})
}
