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

// seal builds a cookie value the way a CookieStore does (HKDF keys as in
// internal/cookiekeys, then securecookie's "date|value|mac" format with
// AES-CTR), but with a timestamp of the test's choosing: securecookie has
// no way to set its clock from outside. The IV is derived from the input,
// so the same arguments give the same value (fuzzing workers rely on it).
func seal(t testing.TB, key []byte, purpose, name string, payload []byte, ts time.Time) string {
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
			v := seal(t, testKey(1), "session", c.Name(), appendSession(nil, s), tc.ts)
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
	v := seal(t, testKey(1), "session", c.Name(), appendSession(nil, s), now.Add(-61*time.Minute))
	if _, err := c.Load(requestHeader(c.Name() + "=" + v)); !errors.Is(err, ErrNoSession) {
		t.Fatalf("Load of a 61-minute-old cookie: %v, want ErrNoSession", err)
	}
	unbounded, err := cookiekeys.Codecs([][]byte{testKey(1)}, "session", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	c.codecs = unbounded
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
	plain := appendSession(nil, s)
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
// the count prefix, the authenticated timestamp, the encrypted body, the
// MAC or the padding, reads as no session.
func TestCookieStoreBitFlips(t *testing.T) {
	c := newTestStore(t, CookieConfig{})
	value := paddedValue(t, c, "==")
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

// paddedValue saves sessions of growing size until the value ends with
// pad, and returns that value after checking that it loads.
func paddedValue(t *testing.T, c *CookieStore, pad string) string {
	t.Helper()
	s := realisticSession(time.Now())
	for range 12 {
		v := live(save(t, c, s))[0].Value
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
	noPad := paddedValue(t, c, "")
	onePad := paddedValue(t, c, "=")
	// The outer base64 of securecookie's ASCII "date|value|mac" holds - and
	// _ only where the MAC's bytes land; save until there is one to swap.
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

	other := newTestStore(t, CookieConfig{Name: "other", Lifetime: time.Hour})
	staging := newTestStore(t, CookieConfig{Keys: [][]byte{testKey(9)}, Lifetime: time.Hour})
	long := newTestStore(t, CookieConfig{Lifetime: 48 * time.Hour})
	past := now.Add(-2 * time.Hour)
	before := newTestStore(t, CookieConfig{Lifetime: time.Hour})
	before.now = func() time.Time { return past.Add(time.Minute) }
	longSession := realisticSession(now)
	longSession.Expires = now.Add(47 * time.Hour)

	toStd := strings.NewReplacer("-", "+", "_", "/").Replace(v)
	for _, tc := range []struct {
		name, header string
	}{
		{"alphabet swapped to standard", name + "=" + toStd},
		{"alphabet swapped one character", name + "=" + swapOne},
		{"padding added", name + "=" + noPad + "="},
		{"padding doubled", name + "=" + noPad + "=="},
		{"padding removed", name + "=" + strings.TrimRight(onePad, "=")},
		{"padding extended", name + "=" + onePad + "="},
		{"truncated by 1", name + "=" + v[:len(v)-1]},
		{"truncated by 16", name + "=" + v[:len(v)-16]},
		{"truncated by 32", name + "=" + v[:len(v)-32]},
		{"truncated to the count", name + "=1."},
		{"one byte appended", name + "=" + v + "A"},
		{"empty value", name + "="},
		{"value =", name + "=="},
		{"whitespace", name + "= "},
		{"quoted whitespace", name + `="  "`},
		{"space inside", name + `="` + v[:100] + " " + v[100:] + `"`},
		{"leading space", name + `=" ` + v + `"`},
		{"no count prefix", name + "=" + v[2:]},
		{"count 2, no chunk", name + "=2." + v[2:]},
		{"count 0", name + "=0." + v[2:]},
		{"two first cookies", name + "=" + v + "; " + name + "=" + v},
		{"name in another case", strings.ToLower(name) + "=" + v},
		{"another key (staging)", name + "=" + live(save(t, staging, s))[0].Value},
		{"value of another cookie name", name + "=" + live(save(t, other, s))[0].Value},
		{"value under another cookie name", other.Name() + "=" + v},
		{"flow-cookie keys", name + "=" + seal(t, testKey(1), "flow", name, payload, now)},
		{"session expired", name + "=" + live(save(t, before, realisticSession(past)))[0].Value},
		{"timestamp older than Lifetime", name + "=" + seal(t, testKey(1), "session", name, payload, now.Add(-61*time.Minute))},
		{"lifetime longer than the store's", name + "=" + live(save(t, long, longSession))[0].Value},
		{"not a session", name + "=" + seal(t, testKey(1), "session", name, []byte("\x01junk"), now)},
		{"empty payload", name + "=" + seal(t, testKey(1), "session", name, nil, now)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if s, err := c.Load(requestHeader(tc.header)); !errors.Is(err, ErrNoSession) || s != nil {
				t.Fatalf("Load = %+v, %v; want ErrNoSession", s, err)
			}
		})
	}
	// The same value under the right name loads, so each case above fails
	// for what it changed.
	if _, err := c.Load(requestHeader(name + "=" + v)); err != nil {
		t.Fatalf("control: Load of the untouched value: %v", err)
	}
	if _, err := other.Load(requestHeader(other.Name() + "=" + live(save(t, other, s))[0].Value)); err != nil {
		t.Fatalf("control: the other store cannot read its own cookie: %v", err)
	}
	if _, err := long.Load(requestWith(live(save(t, long, longSession))...)); err != nil {
		t.Fatalf("control: the 48h store cannot read its own cookie: %v", err)
	}
}
