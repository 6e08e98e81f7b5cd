package session

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzDecodeSession: decodeSession never panics, and what it accepts is
// exactly the encoding of what it returns (one encoding per session).
func FuzzDecodeSession(f *testing.F) {
	zeroTimes := fullSession()
	zeroTimes.Tokens.Expiry, zeroTimes.Created, zeroTimes.LastSeen, zeroTimes.Expires = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	valid := appendSession(nil, fullSession())
	empty := appendSession(nil, &Session{})
	for _, s := range []*Session{fullSession(), zeroTimes, {}, realisticSession(time.Now())} {
		f.Add(appendSession(nil, s))
	}
	head := append([]byte{codecVersion}, make([]byte, 8)...)
	for _, seed := range [][]byte{
		nil,
		{codecVersion},
		{2},
		valid[:len(valid)/2],
		append(bytes.Clone(valid), 0),
		binary.AppendUvarint(bytes.Clone(head), 1<<40),
		append(binary.AppendUvarint(bytes.Clone(head), maxGroups+1), make([]byte, maxGroups+10)...),
		append(binary.AppendUvarint(bytes.Clone(head), 3), make([]byte, 12)...),
		append([]byte{codecVersion, 0x80, 0x00}, valid[2:]...),
		append(append([]byte{codecVersion}, nonMinimal(valid[1:2])...), valid[2:]...),
		append(append(bytes.Clone(head), 0x80, 0x00), make([]byte, 9)...),
		append([]byte{codecVersion}, bytes.Repeat([]byte{0xff}, 11)...),
		// Version 3's claims: out of order, not JSON, a flag of 2.
		append(bytes.Clone(empty[:len(empty)-2]), 2, 1, 'b', 1, '1', 1, 'a', 1, '1', 0),
		append(bytes.Clone(empty[:len(empty)-2]), 1, 1, 'a', 2, '{', '"', 0),
		append(bytes.Clone(empty[:len(empty)-2]), 0, 2),
		// A version 2 value: the claims and flag absent.
		append([]byte{codecVersionV2}, empty[1:len(empty)-2]...),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := decodeSession(data)
		// The owned decoder (views, not copies) answers the same.
		if o, oerr := decodeSessionOwned(bytes.Clone(data)); (oerr == nil) != (err == nil) || err == nil && !equalSession(o, s) {
			t.Fatalf("decodeSessionOwned = %v, %v; decodeSession = %v, %v", o, oerr, s, err)
		}
		if err != nil {
			if s != nil {
				t.Fatal("a session returned with an error")
			}
			return
		}
		again := appendSession(nil, s)
		if data[0] == codecVersion && !bytes.Equal(again, data) {
			t.Fatalf("decoded %x, re-encoded %x", data, again)
		}
		// A version 1 or 2 value re-encodes as the current version, which
		// decodes to the same session.
		if s2, err := decodeSession(again); err != nil || !equalSession(s, s2) {
			t.Fatalf("the re-encoding of %x does not decode to the same session: %v", data, err)
		}
	})
}

// fuzzStore returns a store and two securecookie-format values it
// accepts, one of three chunks and one of a single cookie that ends in
// "==" (four unused bits), two sealed-format ones (one cookie, three), and
// their sessions keyed by the encoded value. The values are the same in every fuzzing worker: seal is
// deterministic, and securecookie refuses only timestamps older than
// MaxAge, so a fixed future timestamp and fixed session times do.
func fuzzStore(f *testing.F) (c *CookieStore, three, one []string, real map[string]*Session, sealed [][]string) {
	c = newTestStore(f, CookieConfig{})
	future := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	legacy := func(s *Session) []string {
		v := legacySeal(f, testKey(1), "session", c.Name(), appendSession(nil, s), future)[2:]
		var out []string
		for len(v) > chunkSize {
			out, v = append(out, v[:chunkSize]), v[chunkSize:]
		}
		out = append(out, v)
		out[0] = strconv.Itoa(len(out)) + "." + out[0]
		return out
	}
	real = make(map[string]*Session)
	add := func(s *Session, vs []string) {
		real[strings.Join(vs, "")[2:]] = s
		if got, err := c.Load(requestWith(cookiesNamed(c.Name(), vs)...)); err != nil || !equalSession(got, s) {
			f.Fatalf("control: Load of a sealed %d-chunk value: %v", len(vs), err)
		}
	}
	s := realisticSession(future)
	s.ID = randText(40, 22)
	for range 12 {
		if one = legacy(s); strings.HasSuffix(one[0], "==") {
			break
		}
		s.User.Name += "x"
	}
	if len(one) != 1 || !strings.HasSuffix(one[0], "==") {
		f.Fatal("no one-cookie value ending in ==")
	}
	add(s, one)
	for size := 0; len(three) < 3; size += 256 {
		s := realisticSession(future)
		s.ID = randText(41, 22)
		s.Tokens.IDToken = idToken(41, s.User.Subject, s.User.Email, size)
		if three = legacy(s); len(three) > 3 {
			f.Fatal("no three-chunk session")
		}
		if len(three) == 3 {
			add(s, three)
		}
	}
	// Values of the sealed format, the same in every worker: fixed
	// nonces, and the store's clock a minute into the sessions' life.
	fixedNonces(c.sealer)
	c.now = func() time.Time { return future.Add(time.Minute) }
	for i, size := range []int{0, 9000} {
		s := realisticSession(future)
		s.ID = randText(uint64(42+i), 22)
		s.Tokens.IDToken = idToken(uint64(42+i), s.User.Subject, s.User.Email, size)
		var vs []string
		for _, ck := range live(save(f, c, s)) {
			vs = append(vs, ck.Value)
		}
		add(s, vs)
		sealed = append(sealed, vs)
	}
	return c, three, one, real, sealed
}

// readJoined returns what read finds, the chunks joined without the count
// prefix.
func readJoined(c *CookieStore, r *http.Request) (string, bool) {
	parts, at, ok := c.read(r, nil)
	if !ok {
		return "", false
	}
	if sep := strings.IndexAny(parts[0], ".~"); at != sep {
		panic(fmt.Sprintf("read put the separator of %q at %d, not %d", parts[0], at, sep))
	}
	first := parts[0][at+1:]
	return first + strings.Join(parts[1:], ""), true
}

// cookiesNamed names values Name, Name.1, ….
func cookiesNamed(name string, values []string) []*http.Cookie {
	var out []*http.Cookie
	for i, v := range values {
		out = append(out, &http.Cookie{Name: chunkNames(name, len(values))[i], Value: v})
	}
	return out
}

// FuzzCookieLoad: whatever the first cookie and the two chunks hold, Load
// does not panic, answers ErrNoSession or a session, and returns a session
// only for a value the store itself saved.
func FuzzCookieLoad(f *testing.F) {
	c, a, b, real, sealed := fuzzStore(f)
	n := c.Name()
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for _, seed := range [][3]string{
		{a[0], a[1], a[2]},
		{b[0], "", ""},
		{b[0], a[1], a[2]},
		{a[0], a[2], a[1]},
		{a[0], a[1], ""},
		{"2." + a[0][2:], a[1], a[2]},
		{"4." + a[0][2:], a[1], a[2]},
		{a[0], a[1] + a[2][:1], a[2][1:]},
		{a[0][:len(a[0])-1], a[1], a[2]},
		{b[0][:len(b[0])-1], "", ""},
		{b[0] + "=", "", ""},
		{strings.TrimRight(b[0], "="), "", ""},
		{b[0][:len(b[0])-3] + string(b64[strings.IndexByte(b64, b[0][len(b[0])-3])^1]) + "==", "", ""}, // an unused bit set
		{"1." + strings.NewReplacer("-", "+", "_", "/").Replace(b[0][2:]), "", ""},
		{"0." + b[0][2:], "", ""},
		{"-1." + b[0][2:], "", ""},
		{"99." + b[0][2:], "", ""},
		{"x." + b[0][2:], "", ""},
		{"17." + a[0][2:], a[1], a[2]},
		{"10000000000." + a[0][2:], a[1], a[2]},
		{"", "", ""},
		{"=", " ", `" "`},
		{"3.", "", ""},
		{a[0], a[1] + "; " + n + ".1=" + a[1], a[2]},
		{a[0] + "; " + n + "=" + b[0], a[1], a[2]},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	for _, vs := range sealed {
		vs = append(vs, "", "")
		f.Add(vs[0], vs[1], vs[2])
		f.Add(vs[0][:len(vs[0])-1], vs[1], vs[2])
		f.Add("1."+vs[0][2:], vs[1], vs[2])
	}
	f.Fuzz(func(t *testing.T, first, c1, c2 string) {
		r := requestHeader(n + "=" + first + "; " + n + ".1=" + c1 + "; " + n + ".2=" + c2)
		s, err := c.Load(r)
		if err != nil {
			if !errors.Is(err, ErrNoSession) || s != nil {
				t.Fatalf("Load = %v, %v; want ErrNoSession", s, err)
			}
			return
		}
		encoded, _ := readJoined(c, r)
		want, ok := real[encoded]
		if !ok {
			t.Fatalf("Load returned a session for a value the store never wrote: %q", encoded)
		}
		if !equalSession(s, want) {
			t.Fatalf("Load returned %+v for the value of %+v", s, want)
		}
	})
}

// FuzzChunkReader: for any first value and any other cookies, read does not
// panic, and what it returns is exactly the first value after a count
// prefix of 1..MaxChunks followed by the single cookies Name.1, …, within
// the size bound.
func FuzzChunkReader(f *testing.F) {
	c, a, b, _, _ := fuzzStore(f)
	n := c.Name()
	chunks := func(vs ...string) string {
		var parts []string
		for i, v := range vs {
			parts = append(parts, n+"."+strconv.Itoa(i+1)+"="+v)
		}
		return strings.Join(parts, "; ")
	}
	var junk []string
	for i := range 200 {
		junk = append(junk, randText(uint64(i), 20))
	}
	for _, seed := range [][2]string{
		{a[0], chunks(a[1], a[2])},
		{b[0], ""},
		{b[0], chunks("x")},
		{a[0], chunks(a[2], a[1])},
		{a[0], chunks(a[1])},
		{a[0], chunks(a[1], a[2], a[1])},
		{a[0], chunks(a[1], a[2]) + "; " + chunks(a[1])},
		{a[0], n + ".2=" + a[2]},
		{"5." + a[0][2:], chunks(a[1], a[2], "c", "d")},
		{"6." + a[0][2:], chunks(a[1], a[2], "c", "d", "e")},
		{"16.x", chunks(junk[:15]...)},
		{"3.x", chunks(junk...)},
		{"0.x", ""},
		{"-1.x", ""},
		{"+3." + a[0][2:], chunks(a[1], a[2])},
		{"03." + a[0][2:], chunks(a[1], a[2])},
		{"99.x", ""},
		{"x.x", ""},
		{"17.x", ""},
		{"10000000000.x", ""},
		{"2.x", n + ".1=" + strings.Repeat("A", chunkSize+1)},
		{"2." + strings.Repeat("A", chunkSize+1), chunks("x")},
		{"", ""},
		{".", ""},
		{"1.", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, first, others string) {
		r := requestHeader(n + "=" + first + "; " + others)
		parts, _, ok := c.read(r, nil)
		s, err := c.Load(r)
		if err == nil && !ok || err != nil && s != nil {
			t.Fatalf("Load = %v, %v after read %v", s, err, ok)
		}
		if !ok {
			return
		}
		// read does not check the bytes of the values (decode does):
		// one that net/http would not read must not load.
		for _, p := range parts {
			if !validCookieValue(p) {
				if err == nil {
					t.Fatalf("Load accepted a value net/http would not read: %q", p)
				}
				return
			}
		}
		got, _ := readJoined(c, r)
		firsts := r.CookiesNamed(n)
		if len(firsts) != 1 {
			t.Fatalf("read accepted %d first cookies", len(firsts))
		}
		sep := strings.IndexAny(firsts[0].Value, ".~")
		if sep < 0 {
			t.Fatalf("read accepted a value without a count: %q", firsts[0].Value)
		}
		countText, rest := firsts[0].Value[:sep], firsts[0].Value[sep+1:]
		count, err := strconv.Atoi(countText)
		if err != nil || count < 1 || count > c.maxChunks {
			t.Fatalf("read accepted the count %q", countText)
		}
		want := rest
		for i := 1; i < count; i++ {
			cs := r.CookiesNamed(n + "." + strconv.Itoa(i))
			if len(cs) != 1 || cs[0].Value == "" || len(cs[0].Value) > chunkSize {
				t.Fatalf("read accepted chunk %d as %d cookies", i, len(cs))
			}
			want += cs[0].Value
		}
		if got != want {
			t.Fatalf("read returned %d bytes, the chunks hold %d", len(got), len(want))
		}
		if rest == "" || len(rest) > chunkSize || len(got) > c.maxChunks*chunkSize {
			t.Fatalf("read accepted %d bytes (first %d)", len(got), len(rest))
		}
	})
}
