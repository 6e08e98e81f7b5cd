package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/cookiekeys"
)

// legacySeal builds a cookie value the way a CookieStore does (HKDF keys as in
// internal/cookiekeys, then securecookie's "date|value|mac" format with
// AES-CTR), but with a timestamp of the test's choosing: securecookie has
// no way to set its clock from outside. The IV is derived from the input,
// so the same arguments give the same value (fuzzing workers rely on it).
func legacySeal(t testing.TB, key []byte, purpose, name string, payload []byte, ts time.Time) string {
	t.Helper()
	macKey, err := hkdf.Key(sha256.New, key, nil, "portcullis/"+purpose+"/hmac-sha256", 32)
	if err != nil {
		t.Fatal(err)
	}
	encKey, err := hkdf.Key(sha256.New, key, nil, "portcullis/"+purpose+"/aes-256", 32)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		t.Fatal(err)
	}
	ct := make([]byte, aes.BlockSize+len(payload))
	iv := sha256.Sum256(append([]byte(fmt.Sprintf("%s|%s|%d|", purpose, name, ts.Unix())), payload...))
	copy(ct, iv[:aes.BlockSize])
	cipher.NewCTR(block, ct[:aes.BlockSize]).XORKeyStream(ct[aes.BlockSize:], payload)
	signed := fmt.Sprintf("%s|%d|%s", name, ts.Unix(), base64.URLEncoding.EncodeToString(ct))
	h := hmac.New(sha256.New, macKey)
	h.Write([]byte(signed))
	return "1." + base64.URLEncoding.EncodeToString(append([]byte(signed[len(name)+1:]+"|"), h.Sum(nil)...))
}

// TestCookieStoreSealControl shows that seal makes values the store
// accepts, so the refusals below come from the one thing each changes.
func TestCookieStoreSealControl(t *testing.T) {
	now := time.Now()
	c := newTestStore(t, CookieConfig{Lifetime: time.Hour})
	s := realisticSession(now)
	for _, tc := range []struct {
		name string
		ts   time.Time
	}{
		{"now", now},
		{"59 minutes old", now.Add(-59 * time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := legacySeal(t, testKey(1), "session", c.Name(), appendSession(nil, s), tc.ts)
			got, err := c.Load(requestHeader(c.Name() + "=" + v))
			if err != nil || !equalSession(got, s) {
				t.Fatalf("Load = %+v, %v; want the sealed session", got, err)
			}
		})
	}
}

// TestCookieStoreTimestampBound shows that the authenticated timestamp is
// what refuses an old cookie (T7, SS-03): the same sealed value loads once
// the codecs' MaxAge bound is taken away.
func TestCookieStoreTimestampBound(t *testing.T) {
	now := time.Now()
	c := newTestStore(t, CookieConfig{Lifetime: time.Hour})
	s := realisticSession(now)
	v := legacySeal(t, testKey(1), "session", c.Name(), appendSession(nil, s), now.Add(-61*time.Minute))
	if _, err := c.Load(requestHeader(c.Name() + "=" + v)); !errors.Is(err, ErrNoSession) {
		t.Fatalf("Load of a 61-minute-old cookie: %v, want ErrNoSession", err)
	}
	unbounded, err := cookiekeys.Codecs([][]byte{testKey(1)}, "session", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	c.legacy = unbounded
	if _, err := c.Load(requestHeader(c.Name() + "=" + v)); err != nil {
		t.Fatalf("control: without MaxAge the value should load: %v", err)
	}
}

// decodings returns every text a careless reader could get from a cookie
// value: the value itself, and its base64 decodings with the standard and
// URL alphabets, padded and raw, with and without the count prefix, and
// the same again for each "|"-separated part of those.
func decodings(value string) []string {
	encs := []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding}
	decodeAll := func(s string) []string {
		var out []string
		for _, e := range encs {
			b := make([]byte, e.DecodedLen(len(s)))
			n, _ := e.Decode(b, []byte(s)) // keep what decoded before an error
			out = append(out, string(b[:n]))
		}
		return out
	}
	in := []string{value}
	if _, rest, ok := strings.Cut(value, "."); ok {
		in = append(in, rest)
	}
	out := append([]string(nil), in...)
	for _, s := range in {
		for _, d := range decodeAll(s) {
			out = append(out, d)
			for _, part := range strings.Split(d, "|") {
				out = append(out, decodeAll(part)...)
			}
		}
	}
	return out
}

// leaked returns the secrets found in any decoding of value.
func leaked(value string, secrets map[string]string) []string {
	var found []string
	for what, secret := range secrets {
		for _, d := range decodings(value) {
			if strings.Contains(d, secret) {
				found = append(found, what)
				break
			}
		}
	}
	return found
}

// TestCookieStoreEncrypts is SS-01: no decoding of the cookie reveals a
// token, the email or the subject, and two Saves of one session differ.
func TestCookieStoreEncrypts(t *testing.T) {
	c := newTestStore(t, CookieConfig{})
	s := realisticSession(time.Now())
	secrets := map[string]string{
		"access token":       s.Tokens.AccessToken,
		"refresh token":      s.Tokens.RefreshToken,
		"ID token":           s.Tokens.IDToken[:16], // begins with eyJ; a bare 3-byte "eyJ" turns up in random bytes
		"ID token signature": s.Tokens.IDToken[len(s.Tokens.IDToken)-16:],
		"email":              s.User.Email,
		"subject":            s.User.Subject,
		"session ID":         s.ID,
	}
	plain := v3Encoding(s) // tokens as text; version 4 keeps the ID token's segments decoded
	t.Run("control: an unencrypted value leaks everything", func(t *testing.T) {
		for _, v := range []string{
			"1." + base64.URLEncoding.EncodeToString(plain),
			base64.StdEncoding.EncodeToString([]byte("1700000000|" + base64.URLEncoding.EncodeToString(plain) + "|mac")),
		} {
			if got := leaked(v, secrets); len(got) != len(secrets) {
				t.Fatalf("leaked found only %v in a plain value", got)
			}
		}
	})
	t.Run("cookie value", func(t *testing.T) {
		first := live(save(t, c, s))[0].Value
		if got := leaked(first, secrets); len(got) != 0 {
			t.Fatalf("the cookie value reveals %v", got)
		}
		second := live(save(t, c, s))[0].Value
		if first == second {
			t.Fatal("two Saves of the same session wrote the same value")
		}
		if first[:len(first)/2] == second[:len(second)/2] {
			t.Fatal("two Saves of the same session share their first half")
		}
	})
}

// TestCookieStoreBitFlips is T1: one bit flipped anywhere in the value, in
// the count prefix, the version, the key id, the expiry, the nonce, the
// encrypted body, the tag or the last character's unused bits, reads as
// no session.
func TestCookieStoreBitFlips(t *testing.T) {
	c := newTestStore(t, CookieConfig{})
	value := live(save(t, c, realisticSession(time.Now())))[0].Value
	if _, err := c.Load(requestHeader(c.Name() + "=" + value)); err != nil {
		t.Fatalf("control: the untouched value does not load: %v", err)
	}
	n := len(value[2:]) * 6 / 8 // decoded length
	region := func(i int) string {
		at := (i - 2) * 6 / 8 // the decoded byte character i starts in
		switch {
		case i < 2:
			return "count prefix"
		case i == len(value)-1:
			return "last character"
		case at == 0:
			return "version"
		case at == 1:
			return "key id"
		case at < 6:
			return "expiry"
		case at < sealHeader:
			return "nonce"
		case at >= n-sealTag:
			return "tag"
		}
		return "body"
	}
	for _, want := range []string{"count prefix", "version", "key id", "expiry", "nonce", "body", "tag", "last character"} {
		t.Run(want, func(t *testing.T) {
			tried := 0
			for i := range len(value) {
				if region(i) != want {
					continue
				}
				for bit := range 8 {
					b := []byte(value)
					b[i] ^= 1 << bit
					tried++
					if s, err := c.Load(requestHeader(c.Name() + "=" + string(b))); !errors.Is(err, ErrNoSession) || s != nil {
						t.Fatalf("bit %d of byte %d (%q→%q) flipped: Load = %v, %v", bit, i, value[i], b[i], s, err)
					}
				}
			}
			if tried == 0 {
				t.Fatal("no position in this region")
			}
		})
	}
}

// TestCookieStoreLegacyBitFlips is T1 for the cookies of the securecookie
// format, still read: one bit flipped in the count prefix, the
// authenticated timestamp, the encrypted body, the MAC or the padding
// reads as no session.
func TestCookieStoreLegacyBitFlips(t *testing.T) {
	c := newTestStore(t, CookieConfig{})
	value := legacyPadded(t, c, "==")
	body := value[2:]
	n := len(strings.TrimRight(body, "=")) * 6 / 8 // decoded length
	region := func(i int) string {
		switch {
		case i < 2:
			return "count prefix"
		case body[i-2] == '=':
			return "padding"
		case (i-2)*6/8 < 10:
			return "timestamp"
		case (i-2)*6/8 >= n-32:
			return "MAC"
		}
		return "body"
	}
	for _, want := range []string{"count prefix", "timestamp", "body", "MAC", "padding"} {
		t.Run(want, func(t *testing.T) {
			tried := 0
			for i := range len(value) {
				if region(i) != want {
					continue
				}
				for bit := range 8 {
					b := []byte(value)
					b[i] ^= 1 << bit
					tried++
					if s, err := c.Load(requestHeader(c.Name() + "=" + string(b))); !errors.Is(err, ErrNoSession) || s != nil {
						t.Fatalf("bit %d of byte %d (%q→%q) flipped: Load = %v, %v", bit, i, value[i], b[i], s, err)
					}
				}
			}
			if tried == 0 {
				t.Fatal("no position in this region")
			}
		})
	}
}

// legacyPadded seals sessions of growing size in the securecookie format
// until the value ends with pad, and returns that value after checking
// that it loads.
func legacyPadded(t *testing.T, c *CookieStore, pad string) string {
	t.Helper()
	now := time.Now()
	s := realisticSession(now)
	for range 12 {
		v := legacySeal(t, testKey(1), "session", c.Name(), appendSession(nil, s), now)
		if strings.HasSuffix(v, pad) && !strings.HasSuffix(v, pad+"=") {
			if _, err := c.Load(requestHeader(c.Name() + "=" + v)); err != nil {
				t.Fatalf("control: the untouched value does not load: %v", err)
			}
			return v
		}
		s.User.Name += "x"
	}
	t.Fatalf("no value ending in %q", pad)
	return ""
}

// TestCookieStoreRefuses covers T1, T2, T4, T7 and SS-08: every altered,
// foreign or stale value reads as no session.
func TestCookieStoreRefuses(t *testing.T) {
	now := time.Now()
	c := newTestStore(t, CookieConfig{Lifetime: time.Hour})
	name := c.Name()
	s := realisticSession(now)
	var v string
	swap := -1
	for range 50 {
		if v = live(save(t, c, s))[0].Value; strings.ContainsAny(v, "-_") {
			swap = strings.IndexAny(v, "-_")
			break
		}
	}
	if swap < 0 {
		t.Fatal("no value with - or _ in 50 Saves")
	}
	swapOne := v[:swap] + map[byte]string{'-': "+", '_': "/"}[v[swap]] + v[swap+1:]
	payload := appendSession(nil, s)
	sealed := func(sl *sealer, name string, expires time.Time, payload []byte) string {
		v, err := sl.seal(name, expires, payload)
		if err != nil {
			t.Fatal(err)
		}
		return "1~" + v
	}
	flow, err := newSealer([][]byte{testKey(1)}, "flow")
	if err != nil {
		t.Fatal(err)
	}
	legacy := legacySeal(t, testKey(1), "session", name, payload, now)

	other := newTestStore(t, CookieConfig{Name: "other", Lifetime: time.Hour})
	staging := newTestStore(t, CookieConfig{Keys: [][]byte{testKey(9)}, Lifetime: time.Hour})
	long := newTestStore(t, CookieConfig{Lifetime: 48 * time.Hour})
	past := now.Add(-2 * time.Hour)
	before := newTestStore(t, CookieConfig{Lifetime: time.Hour})
	before.now = func() time.Time { return past.Add(time.Minute) }
	longSession := realisticSession(now)
	longSession.Expires = now.Add(47 * time.Hour)
	// Within Lifetime of its Created, but ending more than Lifetime from
	// now: only the header's bound refuses it.
	future := realisticSession(now.Add(time.Hour))
	future.Expires = future.Created.Add(50 * time.Minute)
	// Ending well within Lifetime, so that a header a minute later than
	// its Expires passes the header's bound: only the check that the two
	// agree refuses it. (s ends at now+Lifetime: a later header on it is
	// refused by the bound first.)
	short := realisticSession(now)
	short.Expires = now.Add(30 * time.Minute)

	toStd := strings.NewReplacer("-", "+", "_", "/").Replace(v)
	for _, tc := range []struct {
		name, header string
	}{
		{"alphabet swapped to standard", name + "=" + toStd},
		{"alphabet swapped one character", name + "=" + swapOne},
		{"padding added", name + "=" + v + "="},
		{"padding doubled", name + "=" + v + "=="},
		{"truncated by 1", name + "=" + v[:len(v)-1]},
		{"truncated by 16", name + "=" + v[:len(v)-16]},
		{"truncated by 32", name + "=" + v[:len(v)-32]},
		{"truncated to the header", name + "=" + v[:2+sealEncoding.EncodedLen(sealHeader)]},
		{"truncated to the count", name + "=1~"},
		{"one byte appended", name + "=" + v + "A"},
		{"four bytes appended", name + "=" + v + "AAAA"},
		{"empty value", name + "="},
		{"value =", name + "=="},
		{"whitespace", name + "= "},
		{"quoted whitespace", name + `="  "`},
		{"space inside", name + `="` + v[:100] + " " + v[100:] + `"`},
		{"leading space", name + `=" ` + v + `"`},
		{"line feed inside", name + "=" + v[:100] + "\n" + v[100:]},
		{"carriage return inside", name + "=" + v[:100] + "\r" + v[100:]},
		{"no count prefix", name + "=" + v[2:]},
		{"count 2, no chunk", name + "=2~" + v[2:]},
		{"count 0", name + "=0~" + v[2:]},
		{"count 01", name + "=01~" + v[2:]},
		{"legacy separator on a sealed value", name + "=1." + v[2:]},
		{"sealed separator on a legacy value", name + "=1~" + legacy[2:]},
		{"two first cookies", name + "=" + v + "; " + name + "=" + v},
		{"name in another case", strings.ToLower(name) + "=" + v},
		{"another key (staging)", name + "=" + live(save(t, staging, s))[0].Value},
		{"value of another cookie name", name + "=" + live(save(t, other, s))[0].Value},
		{"value under another cookie name", other.Name() + "=" + v},
		{"flow-cookie keys", name + "=" + sealed(flow, name, s.Expires, payload)},
		{"header expiry later than the session's", name + "=" + sealed(c.sealer, name, s.Expires.Add(time.Minute), payload)},
		{"header expiry later than the session's, within Lifetime", name + "=" + sealed(c.sealer, name, short.Expires.Add(time.Minute), appendSession(nil, short))},
		{"header expiry earlier than the session's", name + "=" + sealed(c.sealer, name, s.Expires.Add(-time.Minute), payload)},
		{"header expiry beyond Lifetime", name + "=" + sealed(c.sealer, name, now.Add(2*time.Hour), payload)},
		{"ends beyond now+Lifetime", name + "=" + sealed(c.sealer, name, future.Expires, appendSession(nil, future))},
		{"session expired", name + "=" + live(save(t, before, realisticSession(past)))[0].Value},
		{"lifetime longer than the store's", name + "=" + live(save(t, long, longSession))[0].Value},
		{"not a session", name + "=" + sealed(c.sealer, name, s.Expires, []byte("\x01junk"))},
		{"empty payload", name + "=" + sealed(c.sealer, name, s.Expires, nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if s, err := c.Load(requestHeader(tc.header)); !errors.Is(err, ErrNoSession) || s != nil {
				t.Fatalf("Load = %+v, %v; want ErrNoSession", s, err)
			}
		})
	}
	// The same value under the right name loads, so each case above fails
	// for what it changed.
	for what, value := range map[string]string{
		"saved": v, "sealed here": sealed(c.sealer, name, s.Expires, payload), "legacy": legacy,
		"short session": sealed(c.sealer, name, short.Expires, appendSession(nil, short)),
	} {
		if _, err := c.Load(requestHeader(name + "=" + value)); err != nil {
			t.Fatalf("control: Load of the untouched %s value: %v", what, err)
		}
	}
	if _, err := other.Load(requestHeader(other.Name() + "=" + live(save(t, other, s))[0].Value)); err != nil {
		t.Fatalf("control: the other store cannot read its own cookie: %v", err)
	}
	if _, err := long.Load(requestWith(live(save(t, long, longSession))...)); err != nil {
		t.Fatalf("control: the 48h store cannot read its own cookie: %v", err)
	}
}

// TestCookieStoreLegacyRefuses: the securecookie-format values still read
// are refused when altered, foreign or stale, as before.
func TestCookieStoreLegacyRefuses(t *testing.T) {
	now := time.Now()
	c := newTestStore(t, CookieConfig{Lifetime: time.Hour})
	name := c.Name()
	noPad := legacyPadded(t, c, "")
	onePad := legacyPadded(t, c, "=")
	// The outer base64 holds - and _ only where the MAC's bytes land:
	// seal until there is one to swap.
	s := realisticSession(now)
	var payload []byte
	var v string
	for range 50 {
		payload = appendSession(nil, s)
		if v = legacySeal(t, testKey(1), "session", name, payload, now); strings.ContainsAny(v, "-_") {
			break
		}
		s.User.Name += "x"
	}
	if !strings.ContainsAny(v, "-_") {
		t.Fatal("no legacy value with - or _")
	}
	for _, tc := range []struct {
		name, header string
	}{
		{"alphabet swapped to standard", name + "=" + strings.NewReplacer("-", "+", "_", "/").Replace(v)},
		{"padding added", name + "=" + noPad + "="},
		{"padding removed", name + "=" + strings.TrimRight(onePad, "=")},
		{"padding extended", name + "=" + onePad + "="},
		{"truncated by 1", name + "=" + v[:len(v)-1]},
		{"truncated by 32", name + "=" + v[:len(v)-32]},
		{"flow-cookie keys", name + "=" + legacySeal(t, testKey(1), "flow", name, payload, now)},
		{"another key", name + "=" + legacySeal(t, testKey(9), "session", name, payload, now)},
		{"another cookie name", name + "=" + legacySeal(t, testKey(1), "session", "other", payload, now)},
		{"timestamp older than Lifetime", name + "=" + legacySeal(t, testKey(1), "session", name, payload, now.Add(-61*time.Minute))},
		{"not a session", name + "=" + legacySeal(t, testKey(1), "session", name, []byte("\x01junk"), now)},
		{"empty payload", name + "=" + legacySeal(t, testKey(1), "session", name, nil, now)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if s, err := c.Load(requestHeader(tc.header)); !errors.Is(err, ErrNoSession) || s != nil {
				t.Fatalf("Load = %+v, %v; want ErrNoSession", s, err)
			}
		})
	}
	if _, err := c.Load(requestHeader(name + "=" + v)); err != nil {
		t.Fatalf("control: Load of the untouched value: %v", err)
	}
}
