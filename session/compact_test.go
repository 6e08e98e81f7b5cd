package session

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// TestCompactTokens: a token of 2 to 5 canonical base64url segments is
// stored as decoded segments, anything else as text, and both come back
// byte for byte.
func TestCompactTokens(t *testing.T) {
	jwt := realisticSession(time.Now()).Tokens.IDToken
	for _, tc := range []struct {
		name     string
		tok      string
		segments bool
	}{
		{"JWS (ID token)", jwt, true},
		{"JWE, five segments", "eyJhbGciOiJkaXIifQ.AA.qrs.dGV4dA.tag0", true},
		{"two segments", "abcd.efgh", true},
		{"empty", "", false},
		{"one segment", "abcdefgh", false},
		{"six segments", "aa.bb.cc.dd.ee.ff", false},
		{"empty segment", "abcd..efgh", false},
		{"leading dot", ".abcd.efgh", false},
		{"padded", "abcd.ef==", false},
		{"unused bits set", "abcd.ef", false}, // 'f' sets bits a canonical encoding leaves zero
		{"length 1 mod 4", "abcd.abcde", false},
		{"standard alphabet", "ab+d.efgh", false},
		{"opaque", "1//0gAbCdEfGh-x", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := appendToken(nil, tc.tok)
			if got := b[0] == tokenSegments; got != tc.segments {
				t.Fatalf("form %d, want segments %v", b[0], tc.segments)
			}
			d := decoder{buf: b}
			if got := d.token(); d.err || got != tc.tok || len(d.buf) != 0 {
				t.Fatalf("token() = %q (err %v, %d left), want %q", got, d.err, len(d.buf), tc.tok)
			}
		})
	}
	t.Run("the ID token shrinks", func(t *testing.T) {
		s := realisticSession(time.Now())
		v3, v4 := len(v3Encoding(s)), len(appendSession(nil, s))
		if v3-v4 < len(s.Tokens.IDToken)/5 {
			t.Fatalf("version 4 is %d bytes, version 3 %d: the %d-byte ID token did not shrink by a fifth", v4, v3, len(s.Tokens.IDToken))
		}
	})
}

// TestCompactTokensRefuses: the decoder refuses a second encoding of a
// token and malformed segments.
func TestCompactTokensRefuses(t *testing.T) {
	segs := func(parts ...string) []byte {
		b := binary.AppendUvarint([]byte{tokenSegments}, uint64(len(parts)))
		for _, p := range parts {
			b = appendString(b, p)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"nothing", nil},
		{"unknown form", appendString([]byte{2}, "x")},
		{"text form of a JWT", appendString([]byte{tokenText}, "abcd.efgh")},
		{"one segment", segs("abc")},
		{"six segments", segs("a", "b", "c", "d", "e", "f")},
		{"empty segment", segs("abc", "")},
		{"segment beyond the input", append(binary.AppendUvarint([]byte{tokenSegments}, 2), 3, 'a', 'b', 'c', 9, 'x')},
		{"count beyond uvarint", append([]byte{tokenSegments}, bytes.Repeat([]byte{0xff}, 11)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := decoder{buf: tc.b}
			if got := d.token(); !d.err {
				t.Fatalf("token() = %q, want an error", got)
			}
		})
	}
	// Control: the same shapes, well formed, decode.
	d := decoder{buf: segs("abc", "def")}
	if got := d.token(); d.err || got != "YWJj.ZGVm" {
		t.Fatalf("control: token() = %q, %v", got, d.err)
	}
	if strings.Contains(string(appendToken(nil, "YWJj.ZGVm")), "YWJj") {
		t.Fatal("control: the segments were stored as text")
	}
}

// TestDecodeArena: a sealed value's buffer keeps tokenRoom for the tokens
// re-encoded from segments, and they are written there, also for the
// worst case (three tokens of five one-byte segments); without room they
// are allocated, with the same result.
func TestDecodeArena(t *testing.T) {
	now := time.Now()
	tiny := realisticSession(now)
	tiny.Tokens.AccessToken, tiny.Tokens.RefreshToken, tiny.Tokens.IDToken = "AA.AQ.Ag.Aw.BA", "BQ.Bg.Bw.CA.CQ", "Cg.Cw.DA.DQ.Dg"
	for name, s := range map[string]*Session{"realistic": realisticSession(now), "five one-byte segments": tiny} {
		t.Run(name, func(t *testing.T) {
			enc := appendSession(nil, s)
			for _, room := range []int{tokenRoom(len(enc)), 0} {
				buf := make([]byte, len(enc), len(enc)+room)
				copy(buf, enc)
				got, err := decodeSessionArena(buf)
				if err != nil || !equalSession(got, s) {
					t.Fatalf("room %d: %v, %+v", room, err, got)
				}
				lo := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
				hi := lo + uintptr(cap(buf))
				for _, tok := range []string{got.Tokens.AccessToken, got.Tokens.RefreshToken, got.Tokens.IDToken} {
					var arr [maxSegments]string
					if _, seg := segmentsOf(tok, &arr); !seg {
						continue
					}
					p := uintptr(unsafe.Pointer(unsafe.StringData(tok)))
					if in := p >= lo+uintptr(len(enc)) && p+uintptr(len(tok)) <= hi; in != (room > 0) {
						t.Fatalf("room %d: token %.10q… in the buffer's room: %v", room, tok, in)
					}
				}
			}
		})
	}
}
