package session

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"slices"
	"testing"
	"time"
)

// fullSession returns a session with every field set, groups included, and
// non-ASCII text in the fields a provider fills from user input.
func fullSession() *Session {
	now := time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC)
	return &Session{
		ID: "c2Vzc2lvbi1pZC0xMjM0NQ",
		User: User{
			Provider: "corp",
			Issuer:   "https://idp.example.com/realms/main",
			Subject:  "248289761001",
			Email:    "zoë.ångström@example.com",
			Name:     "Zoë Ångström 山田太郎 🚪",
			Login:    "zoe",
			Picture:  "https://example.com/avatar/zoë.png",
			Groups:   []string{"admins", "", "ops/北京", "team:🚀"},
			Account:  "acct-42",
		},
		Tokens: Tokens{
			AccessToken:  "ya29.a0AfH6SMBx-access",
			TokenType:    "Bearer",
			RefreshToken: "1//0g-refresh",
			Expiry:       now.Add(time.Hour),
			IDToken:      "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIyNDgyODk3NjEwMDEifQ.c2ln",
		},
		SID:      "08a5019c-17e1-4977-8f42-65a12843ea02",
		Created:  now,
		LastSeen: now.Add(5 * time.Minute),
		Expires:  now.Add(24 * time.Hour),
		AuthTime: now.Add(-time.Minute),
		ACR:      "urn:devoidc:mfa",
		AMR:      []string{"pwd", "otp"},
	}
}

// equalSession compares sessions field by field, times with Equal (the
// decoder returns them in the local zone, without a monotonic reading).
func equalSession(a, b *Session) bool {
	if a.ID != b.ID || a.SID != b.SID || a.Tokens.AccessToken != b.Tokens.AccessToken ||
		a.Tokens.TokenType != b.Tokens.TokenType || a.Tokens.RefreshToken != b.Tokens.RefreshToken ||
		a.Tokens.IDToken != b.Tokens.IDToken || !a.Tokens.Expiry.Equal(b.Tokens.Expiry) ||
		!a.Created.Equal(b.Created) || !a.LastSeen.Equal(b.LastSeen) || !a.Expires.Equal(b.Expires) ||
		!a.AuthTime.Equal(b.AuthTime) || a.ACR != b.ACR || !slices.Equal(a.AMR, b.AMR) || a.User.Account != b.User.Account {
		return false
	}
	ua, ub := a.User, b.User
	if ua.Provider != ub.Provider || ua.Issuer != ub.Issuer || ua.Subject != ub.Subject ||
		ua.Email != ub.Email || ua.Name != ub.Name || ua.Login != ub.Login ||
		ua.Picture != ub.Picture || len(ua.Groups) != len(ub.Groups) {
		return false
	}
	for i := range ua.Groups {
		if ua.Groups[i] != ub.Groups[i] {
			return false
		}
	}
	return true
}

func TestCodecRoundTrip(t *testing.T) {
	zeroTimes := fullSession()
	zeroTimes.Tokens.Expiry, zeroTimes.Created, zeroTimes.LastSeen, zeroTimes.Expires = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	local := fullSession()
	local.Created = time.Now() // monotonic reading and local zone
	prezone := fullSession()
	prezone.Expires = time.Date(1969, 7, 20, 20, 17, 40, 1, time.FixedZone("X", -5*3600)) // negative UnixNano
	noGroups := fullSession()
	noGroups.User.Groups = nil
	long := fullSession()
	long.Tokens.IDToken = string(bytes.Repeat([]byte("ab"), 70000)) // lengths over two varint bytes
	long.User.Groups = make([]string, maxGroups)

	for _, tc := range []struct {
		name string
		s    *Session
	}{
		{"full", fullSession()},
		{"zero times", zeroTimes},
		{"monotonic local time", local},
		{"before 1970", prezone},
		{"no groups", noGroups},
		{"long token and maxGroups groups", long},
		{"empty", &Session{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc := appendSession(nil, tc.s)
			if enc[0] != codecVersion {
				t.Fatalf("version byte %d, want %d", enc[0], codecVersion)
			}
			got, err := decodeSession(enc)
			if err != nil {
				t.Fatalf("decodeSession: %v", err)
			}
			if !equalSession(got, tc.s) {
				t.Fatalf("round trip changed the session:\n got %+v\nwant %+v", got, tc.s)
			}
			if again := appendSession(nil, got); !bytes.Equal(again, enc) {
				t.Fatal("re-encoding the decoded session gives different bytes")
			}
			// Appending must not disturb what the buffer already holds.
			if pre := appendSession([]byte("xy"), tc.s); string(pre[:2]) != "xy" || !bytes.Equal(pre[2:], enc) {
				t.Fatal("appendSession into a non-empty buffer differs")
			}
		})
	}
}

// nonMinimal re-encodes a varint with one redundant zero group: the same
// number, one byte longer.
func nonMinimal(varint []byte) []byte {
	b := bytes.Clone(varint)
	b[len(b)-1] |= 0x80
	return append(b, 0)
}

// v1Encoding returns the version 1 encoding of s (written before step-up
// and account linking), whose new fields must be empty.
func v1Encoding(t *testing.T, s *Session) []byte {
	t.Helper()
	if s.User.Account != "" || !s.AuthTime.IsZero() || s.ACR != "" || len(s.AMR) != 0 {
		t.Fatal("v1Encoding of a session with version 2 fields")
	}
	v2 := appendSession(nil, s)
	// The version 2 fields, all empty, take four bytes.
	return append([]byte{codecVersionV1}, v2[1:len(v2)-4]...)
}

// TestCodecReadsVersion1: sessions written before version 2 still load.
func TestCodecReadsVersion1(t *testing.T) {
	s := fullSession()
	s.User.Account, s.AuthTime, s.ACR, s.AMR = "", time.Time{}, "", nil
	got, err := decodeSession(v1Encoding(t, s))
	if err != nil || !equalSession(got, s) {
		t.Fatalf("version 1 encoding: %+v, %v", got, err)
	}
	if again := appendSession(nil, got); again[0] != codecVersion {
		t.Fatal("a re-encoded version 1 session is not written as the current version")
	}
}

func TestCodecRejects(t *testing.T) {
	full := fullSession()
	full.User.Account, full.AuthTime, full.ACR, full.AMR = "", time.Time{}, "", nil
	valid := v1Encoding(t, full)
	lastTime := binary.AppendVarint(nil, full.Expires.UnixNano())
	if !bytes.HasSuffix(valid, lastTime) {
		t.Fatal("encoding does not end with Expires")
	}
	zero := *full
	zero.Expires = time.Time{}
	zeroEnd := v1Encoding(t, &zero) // ends with the varint 0

	// head is a valid version 1 encoding up to the group count: version
	// and eight empty strings (ID and the seven User fields).
	head := append([]byte{codecVersionV1}, make([]byte, 8)...)
	withGroups := func(count []byte, rest int) []byte {
		b := append(bytes.Clone(head), count...)
		return append(b, make([]byte, rest)...)
	}
	// The tail after the groups of an otherwise empty session: four token
	// strings, Expiry, SID and three times, all zero.
	const tail = 9
	if _, err := decodeSession(withGroups([]byte{2}, 2+tail)); err != nil {
		t.Fatalf("control: two empty groups refused: %v", err)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"nil", nil},
		{"version 0", append([]byte{0}, valid[1:]...)},
		{"version 2 without its fields", append([]byte{codecVersion}, valid[1:]...)},
		{"version 3", append([]byte{3}, valid[1:]...)},
		{"version 255", append([]byte{255}, valid[1:]...)},
		{"version only", []byte{codecVersion}},
		{"trailing zero byte", append(bytes.Clone(valid), 0)},
		{"trailing bytes", append(bytes.Clone(valid), "junk"...)},
		{"doubled", append(bytes.Clone(valid), valid...)},
		{"string length past the end", []byte{codecVersionV1, 5, 'a', 'b'}},
		{"string length 2^63", binary.AppendUvarint([]byte{codecVersionV1}, 1<<63)},
		{"varint overflow", append([]byte{codecVersionV1}, bytes.Repeat([]byte{0xff}, 11)...)},
		{"group count 2^40", withGroups(binary.AppendUvarint(nil, 1<<40), 64)},
		{"group count 2^64-1", withGroups(binary.AppendUvarint(nil, 1<<64-1), 64)},
		{"group count past the end", withGroups([]byte{20}, 10)},
		{"group count maxGroups+1", withGroups(binary.AppendUvarint(nil, maxGroups+1), maxGroups+1+tail)},
		{"time varint truncated", append(bytes.Clone(valid[:len(valid)-len(lastTime)]), 0x80)},
		{"non-minimal string length", append(append([]byte{codecVersionV1}, nonMinimal(valid[1:2])...), valid[2:]...)},
		{"non-minimal group count", withGroups([]byte{0x82, 0x00}, 2+tail)},
		{"non-minimal zero time", append(bytes.Clone(zeroEnd[:len(zeroEnd)-1]), 0x80, 0x00)},
		{"non-minimal time", append(bytes.Clone(valid[:len(valid)-len(lastTime)]), nonMinimal(lastTime)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if s, err := decodeSession(tc.data); err == nil {
				t.Fatalf("decodeSession accepted %x as %+v", tc.data, s)
			}
		})
	}
}

func TestCodecMaxGroups(t *testing.T) {
	const tail = 9
	head := append([]byte{codecVersionV1}, make([]byte, 8)...)
	b := binary.AppendUvarint(head, maxGroups)
	b = append(b, make([]byte, maxGroups+tail)...)
	s, err := decodeSession(b)
	if err != nil {
		t.Fatalf("maxGroups empty groups refused: %v", err)
	}
	if len(s.User.Groups) != maxGroups {
		t.Fatalf("got %d groups, want %d", len(s.User.Groups), maxGroups)
	}
}

func TestCodecEveryTruncationFails(t *testing.T) {
	valid := appendSession(nil, fullSession())
	if _, err := decodeSession(valid); err != nil {
		t.Fatalf("control: full encoding refused: %v", err)
	}
	for n := range len(valid) {
		if s, err := decodeSession(valid[:n]); err == nil {
			t.Fatalf("the first %d of %d bytes decoded as %+v", n, len(valid), s)
		}
	}
}

// TestCodecHugeCountAllocatesNothing checks that a count an attacker
// writes is refused before anything sized by it is allocated.
func TestCodecHugeCountAllocatesNothing(t *testing.T) {
	head := append([]byte{codecVersion}, make([]byte, 8)...)
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"group count 2^40", append(binary.AppendUvarint(bytes.Clone(head), 1<<40), make([]byte, 64)...)},
		{"group count maxGroups, short input", append(binary.AppendUvarint(bytes.Clone(head), maxGroups), make([]byte, 64)...)},
		{"string length 2^40", append(binary.AppendUvarint([]byte{codecVersion}, 1<<40), make([]byte, 64)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The only allocation allowed is the Session itself.
			if n := testing.AllocsPerRun(100, func() { decodeSession(tc.data) }); n > 1 {
				t.Errorf("%v allocations per refused decode, want at most 1", n)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for range 100 {
				if _, err := decodeSession(tc.data); err == nil {
					t.Fatal("accepted")
				}
			}
			runtime.ReadMemStats(&after)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<10 {
				t.Errorf("100 refused decodes allocated %d bytes", grew)
			}
		})
	}
}
