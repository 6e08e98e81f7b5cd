package session

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"maps"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/sessions"
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
			Claims: map[string]json.RawMessage{
				"tid":                       json.RawMessage(`"9188040d-6c67-4c5b-b112-36a304b66dad"`),
				"realm_access":              json.RawMessage(`{"roles":["admin","ops/北京"]}`),
				"https://example.com/level": json.RawMessage(`3`),
			},
			GroupsIncomplete: true,
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
		ua.Picture != ub.Picture || len(ua.Groups) != len(ub.Groups) ||
		ua.GroupsIncomplete != ub.GroupsIncomplete ||
		!maps.EqualFunc(ua.Claims, ub.Claims, func(x, y json.RawMessage) bool { return bytes.Equal(x, y) }) {
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
	noClaims := fullSession()
	noClaims.User.Claims, noClaims.User.GroupsIncomplete = nil, false
	maxed := fullSession()
	maxed.User.Claims = map[string]json.RawMessage{}
	for i := range maxClaims {
		// 16 claims of 255 bytes together: 4080 bytes, under maxClaimsSize.
		name := string(rune('a'+i)) + strings.Repeat("n", 9)
		maxed.User.Claims[name] = json.RawMessage(`"` + strings.Repeat("v", 243) + `"`)
	}
	big := fullSession()
	big.User.Claims = map[string]json.RawMessage{strings.Repeat("n", maxClaimName): json.RawMessage(`"` + strings.Repeat("v", maxClaimValue-2) + `"`)}

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
		{"no claims, groups complete", noClaims},
		{"maxClaims claims", maxed},
		{"longest claim name and value", big},
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
// and account linking), whose later fields must be empty.
func v1Encoding(t *testing.T, s *Session) []byte {
	t.Helper()
	if s.User.Account != "" || !s.AuthTime.IsZero() || s.ACR != "" || len(s.AMR) != 0 {
		t.Fatal("v1Encoding of a session with version 2 fields")
	}
	v2 := v2Encoding(t, s)
	// The version 2 fields, all empty, take four bytes.
	return append([]byte{codecVersionV1}, v2[1:len(v2)-4]...)
}

// v3Encoding returns the version 3 encoding of s: version 4's, with the
// tokens stored as text.
func v3Encoding(s *Session) []byte {
	b := []byte{codecVersionV3}
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
	b = appendStrings(b, s.AMR)
	b = appendClaims(b, u.Claims)
	if u.GroupsIncomplete {
		return append(b, 1)
	}
	return append(b, 0)
}

// TestCodecReadsVersion3: sessions written before compact tokens still
// load, and are written back as the current version.
func TestCodecReadsVersion3(t *testing.T) {
	s := fullSession()
	got, err := decodeSession(v3Encoding(s))
	if err != nil || !equalSession(got, s) {
		t.Fatalf("version 3 encoding: %+v, %v", got, err)
	}
	if again := appendSession(nil, got); again[0] != codecVersion {
		t.Fatal("a re-encoded version 3 session is not written as the current version")
	}
}

// v2Encoding returns the version 2 encoding of s (written before kept
// claims and GroupsIncomplete), whose version 3 fields must be empty.
func v2Encoding(t *testing.T, s *Session) []byte {
	t.Helper()
	if len(s.User.Claims) != 0 || s.User.GroupsIncomplete {
		t.Fatal("v2Encoding of a session with version 3 fields")
	}
	v3 := v3Encoding(s)
	// The version 3 fields, empty, take two bytes: a zero count and a zero flag.
	if !bytes.HasSuffix(v3, []byte{0, 0}) {
		t.Fatal("version 3 encoding does not end with empty claims and flag")
	}
	return append([]byte{codecVersionV2}, v3[1:len(v3)-2]...)
}

// TestCodecReadsVersion2: sessions written before version 3 still load,
// with no claims and GroupsIncomplete false, and are written back as
// version 3.
func TestCodecReadsVersion2(t *testing.T) {
	s := fullSession()
	s.User.Claims, s.User.GroupsIncomplete = nil, false
	got, err := decodeSession(v2Encoding(t, s))
	if err != nil || !equalSession(got, s) {
		t.Fatalf("version 2 encoding: %+v, %v", got, err)
	}
	if again := appendSession(nil, got); again[0] != codecVersion {
		t.Fatal("a re-encoded version 2 session is not written as the current version")
	}
}

// TestCodecReadsVersion1: sessions written before version 2 still load.
func TestCodecReadsVersion1(t *testing.T) {
	s := fullSession()
	s.User.Account, s.AuthTime, s.ACR, s.AMR = "", time.Time{}, "", nil
	s.User.Claims, s.User.GroupsIncomplete = nil, false
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
	full.User.Claims, full.User.GroupsIncomplete = nil, false
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
		{"version 2 without its fields", append([]byte{codecVersionV2}, valid[1:]...)},
		{"version 3 without its fields", append([]byte{codecVersion}, valid[1:]...)},
		{"version 4", append([]byte{4}, valid[1:]...)},
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

// claimsTail returns the encoding of an otherwise empty version 3 session
// whose claims and flag are the given bytes.
func claimsTail(t *testing.T, tail []byte) []byte {
	t.Helper()
	empty := appendSession(nil, &Session{})
	if !bytes.HasSuffix(empty, []byte{0, 0}) {
		t.Fatal("the empty session's encoding does not end with no claims and a zero flag")
	}
	return append(bytes.Clone(empty[:len(empty)-2]), tail...)
}

// claimBytes encodes count and the name/value pairs as appendClaims does,
// in the order given.
func claimBytes(count uint64, pairs ...string) []byte {
	b := binary.AppendUvarint(nil, count)
	for _, p := range pairs {
		b = appendString(b, p)
	}
	return b
}

func TestCodecRejectsClaims(t *testing.T) {
	long := func(n int) string { return `"` + strings.Repeat("v", n-2) + `"` }
	// Control: what the cases change is accepted as it stands.
	for _, tail := range [][]byte{
		append(claimBytes(2, "a", `1`, "b", `{"x":[true]}`), 1),
		append(claimBytes(1, strings.Repeat("n", maxClaimName), long(maxClaimValue)), 0),
	} {
		if _, err := decodeSession(claimsTail(t, tail)); err != nil {
			t.Fatalf("control %x refused: %v", tail, err)
		}
	}
	many := []string{}
	for i := range maxClaims + 1 {
		many = append(many, string(rune('a'+i)), `0`)
	}
	fourK := []string{}
	for i := range 5 {
		// Five values of 1000 bytes: each within maxClaimValue, 5005 bytes together.
		fourK = append(fourK, string(rune('a'+i)), long(1000))
	}
	for _, tc := range []struct {
		name string
		tail []byte
	}{
		{"flag missing", claimBytes(0)},
		{"flag 2", append(claimBytes(0), 2)},
		{"byte after the flag", append(claimBytes(0), 0, 0)},
		{"names out of order", append(claimBytes(2, "b", `1`, "a", `1`), 0)},
		{"repeated name", append(claimBytes(2, "a", `1`, "a", `2`), 0)},
		{"empty name", append(claimBytes(1, "", `1`), 0)},
		{"name too long", append(claimBytes(1, strings.Repeat("n", maxClaimName+1), `1`), 0)},
		{"value too long", append(claimBytes(1, "a", long(maxClaimValue+1)), 0)},
		{"values together too long", append(claimBytes(5, fourK...), 0)},
		{"value not JSON", append(claimBytes(1, "a", `{"x"`), 0)},
		{"value empty", append(claimBytes(1, "a", ``), 0)},
		{"maxClaims+1 claims", append(claimBytes(maxClaims+1, many...), 0)},
		{"count 2^40", append(claimBytes(1<<40), make([]byte, 64)...)},
		{"count past the end", append(claimBytes(3, "a", `1`), 0)},
		{"non-minimal count", append([]byte{0x81, 0x00}, append(claimBytes(0, "a", `1`)[1:], 0)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if s, err := decodeSession(claimsTail(t, tc.tail)); err == nil {
				t.Fatalf("decodeSession accepted claims %x as %+v", tc.tail, s.User.Claims)
			}
		})
	}
}

// TestCodecClaimsOrderIndependent: the same claims encode to the same
// bytes whatever order the map is built (and ranged) in.
func TestCodecClaimsOrderIndependent(t *testing.T) {
	want := appendSession(nil, fullSession())
	for range 20 {
		s := fullSession()
		s.User.Claims = maps.Collect(maps.All(s.User.Claims))
		if got := appendSession(nil, s); !bytes.Equal(got, want) {
			t.Fatal("the same claims encoded differently")
		}
	}
}

// TestEncodable: what decodeSession would refuse is refused before it is
// written, and the error names a claim, never its value.
func TestEncodable(t *testing.T) {
	const secret = "s3cr3t-claim-value"
	withClaims := func(c map[string]json.RawMessage) *Session {
		s := fullSession()
		s.User.Claims = c
		return s
	}
	many := map[string]json.RawMessage{}
	for i := range maxClaims + 1 {
		many[string(rune('a'+i))] = json.RawMessage(`0`)
	}
	together := map[string]json.RawMessage{}
	for i := range 5 {
		together[string(rune('a'+i))] = json.RawMessage(`"` + secret + strings.Repeat("v", 980) + `"`)
	}
	for _, tc := range []struct {
		name     string
		s        *Session
		tooLarge bool
		claim    string
	}{
		{"too many claims", withClaims(many), true, ""},
		{"value too long", withClaims(map[string]json.RawMessage{"roles": json.RawMessage(`"` + secret + strings.Repeat("v", maxClaimValue) + `"`)}), true, "roles"},
		{"values together too long", withClaims(together), true, ""},
		{"name too long", withClaims(map[string]json.RawMessage{strings.Repeat("n", maxClaimName+1): json.RawMessage(`1`)}), true, ""},
		{"empty name", withClaims(map[string]json.RawMessage{"": json.RawMessage(`1`)}), false, ""},
		{"invalid JSON", withClaims(map[string]json.RawMessage{"tid": json.RawMessage(`"` + secret)}), false, "tid"},
		{"too many groups", func() *Session { s := fullSession(); s.User.Groups = make([]string, maxGroups+1); return s }(), true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := encodable(tc.s)
			if err == nil {
				t.Fatal("encodable accepted it")
			}
			if errors.Is(err, ErrTooLarge) != tc.tooLarge {
				t.Errorf("encodable = %v; ErrTooLarge %v, want %v", err, !tc.tooLarge, tc.tooLarge)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error quotes a claim value: %v", err)
			}
			if tc.claim != "" && !strings.Contains(err.Error(), `"`+tc.claim+`"`) {
				t.Errorf("the error does not name claim %q: %v", tc.claim, err)
			}
			if _, err := decodeSession(appendSession(nil, tc.s)); err == nil {
				t.Error("decodeSession accepts what encodable refuses")
			}
		})
	}
	if err := encodable(fullSession()); err != nil {
		t.Fatalf("control: %v", err)
	}
}

// TestStoresRefuseUnencodableClaims: both stores refuse to save claims the
// codec would not read back, and write nothing.
func TestStoresRefuseUnencodableClaims(t *testing.T) {
	s := realisticSession(time.Now())
	s.User.Claims = map[string]json.RawMessage{"roles": json.RawMessage(`"` + strings.Repeat("v", maxClaimValue) + `"`)}
	c := newTestStore(t, CookieConfig{})
	rec := httptest.NewRecorder()
	if err := c.Save(rec, requestWith(), s); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("CookieStore.Save = %v, want ErrTooLarge", err)
	}
	if len(rec.Result().Cookies()) != 0 {
		t.Error("CookieStore.Save wrote cookies for a session it refused")
	}
	g, err := NewGorillaStore(GorillaConfig{Store: sessions.NewCookieStore(testKey(1), testKey(2))})
	if err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	if err := g.Save(rec, requestWith(), s); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("GorillaStore.Save = %v, want ErrTooLarge", err)
	}
	if len(rec.Result().Cookies()) != 0 {
		t.Error("GorillaStore.Save wrote cookies for a session it refused")
	}
}

// TestCloneClaims: a session the cache hands out shares no claim bytes
// with the cached one.
func TestCloneClaims(t *testing.T) {
	s := fullSession()
	cp := s.clone()
	cp.User.Claims["tid"][1] = 'X'
	cp.User.Claims["new"] = json.RawMessage(`1`)
	if string(s.User.Claims["tid"]) != `"9188040d-6c67-4c5b-b112-36a304b66dad"` || len(s.User.Claims) != 3 {
		t.Fatal("changing a clone's claims changed the original")
	}
}
