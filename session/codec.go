package session

import (
	"encoding/binary"
	"errors"
	"time"
)

// The session encoding is a small versioned binary format, not gob or JSON:
// decoding it is on the path of every authenticated request, and it must be
// cheap, allocation-light and strict.
//
//	version byte (2; 1 is still read)
//	strings:  uvarint length, bytes   (ID, the User fields, the Tokens, SID)
//	groups:   uvarint count, strings
//	times:    varint Unix nanoseconds, 0 for the zero time
//	version 2 appends: User.Account, AuthTime, ACR, AMR (count, strings)
//
// Decoding refuses unknown versions, lengths beyond the input and trailing
// bytes, so a value either decodes exactly or not at all. A version 1 value
// (written before step-up and account linking existed) decodes with those
// fields empty, so an upgrade signs nobody out.
const (
	codecVersion   = 2
	codecVersionV1 = 1
)

// maxGroups and maxAMR bound the groups and authentication methods a
// decoded session may hold.
const (
	maxGroups = 1024
	maxAMR    = 32
)

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
	for _, v := range [...]string{t.AccessToken, t.TokenType, t.RefreshToken, t.IDToken} {
		b = appendString(b, v)
	}
	b = appendTime(b, t.Expiry)
	b = appendString(b, s.SID)
	b = appendTime(b, s.Created)
	b = appendTime(b, s.LastSeen)
	b = appendTime(b, s.Expires)
	b = appendString(b, u.Account)
	b = appendTime(b, s.AuthTime)
	b = appendString(b, s.ACR)
	return appendStrings(b, s.AMR)
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
	if len(data) == 0 || data[0] != codecVersion && data[0] != codecVersionV1 {
		return nil, errMalformed
	}
	version := data[0]
	d := decoder{buf: data[1:]}
	s := new(Session)
	s.ID = d.string()
	u := &s.User
	for _, p := range [...]*string{&u.Provider, &u.Issuer, &u.Subject, &u.Email, &u.Name, &u.Login, &u.Picture} {
		*p = d.string()
	}
	u.Groups = d.strings(maxGroups)
	t := &s.Tokens
	for _, p := range [...]*string{&t.AccessToken, &t.TokenType, &t.RefreshToken, &t.IDToken} {
		*p = d.string()
	}
	t.Expiry = d.time()
	s.SID = d.string()
	s.Created = d.time()
	s.LastSeen = d.time()
	s.Expires = d.time()
	if version == codecVersion {
		u.Account = d.string()
		s.AuthTime = d.time()
		s.ACR = d.string()
		s.AMR = d.strings(maxAMR)
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
	s := string(d.buf[:n])
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
