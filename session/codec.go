package session

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unsafe"
)

// The session encoding is a small versioned binary format, not gob or JSON:
// decoding it is on the path of every authenticated request, and it must be
// cheap, allocation-light and strict.
//
//	version byte (4; 1, 2 and 3 are still read)
//	strings:  uvarint length, bytes   (ID, the User fields, the Tokens, SID)
//	groups:   uvarint count, strings
//	times:    varint Unix nanoseconds, 0 for the zero time
//	version 2 appends: User.Account, AuthTime, ACR, AMR (count, strings)
//	version 3 appends: User.Claims (uvarint count, then name and value
//	                   strings, names in increasing byte order),
//	                   User.GroupsIncomplete (one byte, 0 or 1)
//	version 4 stores the access, refresh and ID tokens in compact form
//	                   (compact.go: JWT segments kept decoded)
//
// Decoding refuses unknown versions, lengths beyond the input and trailing
// bytes, so a value either decodes exactly or not at all; claims out of
// order, repeated, beyond the bounds below or whose value is not valid
// JSON are refused too, so a session has one encoding. A version 1 value
// (written before step-up and account linking existed) and a version 2
// value (before kept claims) decode with the later fields empty, so an
// upgrade signs nobody out.
const (
	codecVersion   = 4
	codecVersionV3 = 3
	codecVersionV2 = 2
	codecVersionV1 = 1
)

// maxGroups and maxAMR bound the groups and authentication methods a
// decoded session may hold; maxClaims, maxClaimName, maxClaimValue and
// maxClaimsSize its claims (User.Claims documents them): the number, one
// name's and one value's length, and the names' and values' lengths
// together.
const (
	maxGroups     = 1024
	maxAMR        = 32
	maxClaims     = 16
	maxClaimName  = 256
	maxClaimValue = 1 << 10
	maxClaimsSize = 4 << 10
)

// encodable returns an error, wrapping ErrTooLarge when a bound is
// exceeded, for a session decodeSession would refuse once encoded: the
// stores call it before they write, so a session fails to save rather
// than becoming a cookie no one can read. The errors name a claim, never
// its value.
func encodable(s *Session) error {
	if len(s.User.Groups) > maxGroups || len(s.AMR) > maxAMR {
		return fmt.Errorf("%w: %d groups and %d amr values, at most %d and %d", ErrTooLarge, len(s.User.Groups), len(s.AMR), maxGroups, maxAMR)
	}
	claims := s.User.Claims
	if len(claims) > maxClaims {
		return fmt.Errorf("%w: %d claims, at most %d", ErrTooLarge, len(claims), maxClaims)
	}
	total := 0
	for name, v := range claims {
		switch {
		case name == "":
			return errors.New("session: a claim with an empty name")
		case len(name) > maxClaimName:
			return fmt.Errorf("%w: a claim name of %d bytes, at most %d", ErrTooLarge, len(name), maxClaimName)
		case len(v) > maxClaimValue:
			return fmt.Errorf("%w: claim %q is %d bytes, at most %d", ErrTooLarge, name, len(v), maxClaimValue)
		case !json.Valid(v):
			return fmt.Errorf("session: claim %q is not valid JSON", name)
		}
		total += len(name) + len(v)
	}
	if total > maxClaimsSize {
		return fmt.Errorf("%w: claims of %d bytes together, at most %d", ErrTooLarge, total, maxClaimsSize)
	}
	return nil
}

var errMalformed = errors.New("session: malformed encoding")

// appendSession appends the encoding of s to b.
func appendSession(b []byte, s *Session) []byte {
	b = append(b, codecVersion)
	b = appendString(b, s.ID)
	u := &s.User
	for _, v := range [...]string{u.Provider, u.Issuer, u.Subject, u.Email, u.Name, u.Login, u.Picture} {
		b = appendString(b, v)
	}
	b = appendStrings(b, u.Groups)
	t := &s.Tokens
	b = appendToken(b, t.AccessToken)
	b = appendString(b, t.TokenType)
	b = appendToken(b, t.RefreshToken)
	b = appendToken(b, t.IDToken)
	b = appendTime(b, t.Expiry)
	b = appendString(b, s.SID)
	b = appendTime(b, s.Created)
	b = appendTime(b, s.LastSeen)
	b = appendTime(b, s.Expires)
	b = appendString(b, u.Account)
	b = appendTime(b, s.AuthTime)
	b = appendString(b, s.ACR)
	b = appendStrings(b, s.AMR)
	b = appendClaims(b, u.Claims)
	if u.GroupsIncomplete {
		return append(b, 1)
	}
	return append(b, 0)
}

// appendClaims appends the claims sorted by name, so that a session has
// one encoding whatever the map's order.
func appendClaims(b []byte, claims map[string]json.RawMessage) []byte {
	b = binary.AppendUvarint(b, uint64(len(claims)))
	if len(claims) == 0 {
		return b
	}
	var arr [maxClaims]string
	names := arr[:0]
	for name := range claims {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		b = appendString(b, name)
		b = appendString(b, string(claims[name]))
	}
	return b
}

func appendStrings(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, v := range ss {
		b = appendString(b, v)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendVarint(b, 0)
	}
	return binary.AppendVarint(b, t.UnixNano())
}

// decodeSession decodes data produced by appendSession.
func decodeSession(data []byte) (*Session, error) {
	return decodeSessionFrom(decoder{}, data)
}

// decodeSessionOwned is decodeSession of data that no one changes or
// reuses afterwards (a buffer just decrypted): the session's strings are
// views of it, one allocation instead of one per field.
func decodeSessionOwned(data []byte) (*Session, error) {
	return decodeSessionFrom(decoder{owned: true}, data)
}

// decodeSessionArena is decodeSessionOwned of data whose capacity past its
// length is the decoder's too (sealer.open leaves tokenRoom there): the
// tokens re-encoded from segments are written into it.
func decodeSessionArena(data []byte) (*Session, error) {
	return decodeSessionFrom(decoder{owned: true, arena: data[len(data):cap(data)]}, data)
}

func decodeSessionFrom(d decoder, data []byte) (*Session, error) {
	if len(data) == 0 || data[0] < codecVersionV1 || data[0] > codecVersion {
		return nil, errMalformed
	}
	version := data[0]
	d.buf = data[1:]
	s := new(Session)
	s.ID = d.string()
	u := &s.User
	for _, p := range [...]*string{&u.Provider, &u.Issuer, &u.Subject, &u.Email, &u.Name, &u.Login, &u.Picture} {
		*p = d.string()
	}
	u.Groups = d.strings(maxGroups)
	t := &s.Tokens
	if version >= codecVersion {
		t.AccessToken, t.TokenType, t.RefreshToken, t.IDToken = d.token(), d.string(), d.token(), d.token()
	} else {
		for _, p := range [...]*string{&t.AccessToken, &t.TokenType, &t.RefreshToken, &t.IDToken} {
			*p = d.string()
		}
	}
	t.Expiry = d.time()
	s.SID = d.string()
	s.Created = d.time()
	s.LastSeen = d.time()
	s.Expires = d.time()
	if version >= codecVersionV2 {
		u.Account = d.string()
		s.AuthTime = d.time()
		s.ACR = d.string()
		s.AMR = d.strings(maxAMR)
	}
	if version >= codecVersionV3 {
		u.Claims = d.claims()
		u.GroupsIncomplete = d.flag()
	}
	if d.err || len(d.buf) != 0 {
		return nil, errMalformed
	}
	return s, nil
}

// decoder reads the encoding; after the first error every read returns a
// zero value and err stays set.
type decoder struct {
	buf []byte
	err bool
	// owned: buf is the decoder's for good (decodeSessionOwned), so the
	// strings read are views of it rather than copies.
	owned bool
	// arena is owned room for re-encoded tokens (decodeSessionArena).
	arena []byte
}

func (d *decoder) uvarint() uint64 {
	if d.err {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 || !minimal(d.buf[:n]) {
		d.err = true
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

// minimal reports whether a varint has no redundant high zero group
// ("0x80 0x00" for 0): binary.Uvarint accepts those, and without this
// check one session would have many encodings.
func minimal(varint []byte) bool {
	return len(varint) == 1 || varint[len(varint)-1] != 0
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err || n > uint64(len(d.buf)) {
		d.err = true
		return ""
	}
	var s string
	switch {
	case n == 0:
	case d.owned:
		s = unsafe.String(unsafe.SliceData(d.buf), int(n))
	default:
		s = string(d.buf[:n])
	}
	d.buf = d.buf[n:]
	return s
}

// strings reads a count and that many strings; nil for none. Each string
// takes at least one byte, so the count is bounded by the input before
// anything is allocated.
func (d *decoder) strings(max uint64) []string {
	n := d.uvarint()
	if d.err || n == 0 {
		return nil
	}
	if n > max || n > uint64(len(d.buf)) {
		d.err = true
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = d.string()
	}
	return ss
}

// claims reads the claims appendClaims wrote, within the bounds of
// User.Claims; nil for none. The count is bounded before anything is
// allocated.
func (d *decoder) claims() map[string]json.RawMessage {
	n := d.uvarint()
	if d.err || n == 0 {
		return nil
	}
	if n > maxClaims || n > uint64(len(d.buf)) {
		d.err = true
		return nil
	}
	claims := make(map[string]json.RawMessage, n)
	prev, total := "", 0
	for i := range n {
		name, value := d.string(), d.string()
		total += len(name) + len(value)
		if d.err || name == "" || i > 0 && name <= prev || len(name) > maxClaimName ||
			len(value) > maxClaimValue || total > maxClaimsSize || !json.Valid([]byte(value)) {
			d.err = true
			return nil
		}
		claims[name] = json.RawMessage(value)
		prev = name
	}
	return claims
}

// flag reads one byte that must be 0 or 1.
func (d *decoder) flag() bool {
	if d.err || len(d.buf) == 0 || d.buf[0] > 1 {
		d.err = true
		return false
	}
	v := d.buf[0] == 1
	d.buf = d.buf[1:]
	return v
}

func (d *decoder) time() time.Time {
	if d.err {
		return time.Time{}
	}
	v, n := binary.Varint(d.buf)
	if n <= 0 || !minimal(d.buf[:n]) {
		d.err = true
		return time.Time{}
	}
	d.buf = d.buf[n:]
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v)
}
