package session

import (
	"encoding/base64"
	"encoding/binary"
	"strings"
	"unsafe"
)

// Compact token storage (codec version 4). A token made of 2 to 5 '.'
// separated segments, each non-empty canonical unpadded base64url (a JWS
// compact serialization has 3, a JWE 5: RFC 7515 §7.1, RFC 7516 §7.1),
// is stored as its segments' decoded bytes: the ID token, and access
// tokens that are JWTs, then take three quarters of the space, and the
// cookie a quarter less for them. Any other token is stored as it is.
//
//	token: one byte form, then
//	  form 0 (text):     string
//	  form 1 (segments): uvarint count (2..5), count strings of decoded bytes
//
// The form is a function of the token, and the decoder refuses a text
// token that qualifies for segments, so a session still has one
// encoding; decoding re-encodes the segments, which gives back the token
// byte for byte.
const (
	tokenText     = 0
	tokenSegments = 1
	minSegments   = 2
	maxSegments   = 5
)

var segmentEncoding = base64.RawURLEncoding.Strict()

// segmentsOf returns the token's segments when it qualifies for the
// segments form.
func segmentsOf(tok string, arr *[maxSegments]string) ([]string, bool) {
	n := strings.Count(tok, ".") + 1
	if n < minSegments || n > maxSegments {
		return nil, false
	}
	segs := arr[:0]
	for seg := range strings.SplitSeq(tok, ".") {
		if !canonicalSegment(seg) {
			return nil, false
		}
		segs = append(segs, seg)
	}
	return segs, true
}

// canonicalSegment reports whether seg is non-empty unpadded base64url
// that decodes, and re-encodes to itself (the strict decoder refuses
// non-zero unused bits, and a length of 1 mod 4).
func canonicalSegment(seg string) bool {
	if seg == "" || len(seg)%4 == 1 {
		return false
	}
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	var buf [3]byte
	// Only the last character can carry unused bits: decode the last
	// quantum.
	tail := seg[len(seg)-len(seg)%4:]
	if tail == "" {
		return true
	}
	_, err := segmentEncoding.Decode(buf[:], []byte(tail))
	return err == nil
}

// tokenRoom is the most bytes re-encoding the segment tokens of a
// plaintext of n bytes can take: their decoded bytes are at most n, each
// segment re-encodes to at most 4/3 of its bytes plus one character, and
// the session holds three tokens of at most maxSegments segments.
func tokenRoom(n int) int {
	if n <= 0 {
		return 0
	}
	return segmentEncoding.EncodedLen(n) + 3*2*maxSegments
}

// appendToken appends tok in its form.
func appendToken(b []byte, tok string) []byte {
	var arr [maxSegments]string
	segs, ok := segmentsOf(tok, &arr)
	if !ok {
		b = append(b, tokenText)
		return appendString(b, tok)
	}
	b = append(b, tokenSegments)
	b = binary.AppendUvarint(b, uint64(len(segs)))
	for _, seg := range segs {
		n := segmentEncoding.DecodedLen(len(seg))
		b = binary.AppendUvarint(b, uint64(n))
		b, _ = segmentEncoding.AppendDecode(b, []byte(seg)) // canonicalSegment checked that it decodes
	}
	return b
}

// token reads a token in either form.
func (d *decoder) token() string {
	if d.err || len(d.buf) == 0 {
		d.err = true
		return ""
	}
	form := d.buf[0]
	d.buf = d.buf[1:]
	switch form {
	case tokenText:
		tok := d.string()
		var arr [maxSegments]string
		if _, ok := segmentsOf(tok, &arr); ok {
			d.err = true // it would have been stored as segments
			return ""
		}
		return tok
	case tokenSegments:
		n := d.uvarint()
		if d.err || n < minSegments || n > maxSegments {
			d.err = true
			return ""
		}
		var raw [maxSegments][]byte
		size := int(n) - 1
		for i := range n {
			l := d.uvarint()
			if d.err || l == 0 || l > uint64(len(d.buf)) {
				d.err = true
				return ""
			}
			raw[i], d.buf = d.buf[:l], d.buf[l:]
			size += segmentEncoding.EncodedLen(int(l))
		}
		var out []byte
		if size <= len(d.arena) {
			// The room the sealed value's buffer keeps for this.
			out, d.arena = d.arena[:0:size], d.arena[size:]
		} else {
			out = make([]byte, 0, size)
		}
		for i := range n {
			if i > 0 {
				out = append(out, '.')
			}
			out = segmentEncoding.AppendEncode(out, raw[i])
		}
		return unsafe.String(unsafe.SliceData(out), len(out)) // out is not used again
	}
	d.err = true
	return ""
}
