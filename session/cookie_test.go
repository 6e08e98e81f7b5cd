package session

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testKey returns a 32-byte key that is not all zero and differs per seed.
func testKey(seed byte) []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = seed*31 + byte(i) + 1
	}
	return k
}

func newTestStore(t testing.TB, cfg CookieConfig) *CookieStore {
	t.Helper()
	if cfg.Keys == nil {
		cfg.Keys = [][]byte{testKey(1)}
	}
	c, err := NewCookieStore(cfg)
	if err != nil {
		t.Fatalf("NewCookieStore: %v", err)
	}
	return c
}

// randText returns n incompressible base64url characters, the same for the
// same seed.
func randText(seed uint64, n int) string {
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	b := make([]byte, n)
	rand.NewChaCha8(s).Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// idToken returns a JWT-shaped RS256 ID token whose payload segment holds
// about payloadLen characters.
func idToken(seed uint64, sub, email string, payloadLen int) string {
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"k1","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{
		"iss": "https://accounts.google.com", "sub": sub, "email": email,
		"aud": "client-123.apps.googleusercontent.com", "iat": 1773500966, "exp": 1773504566,
		"pad": randText(seed, max(payloadLen*3/4-200, 0)),
	})
	payload := base64.RawURLEncoding.EncodeToString(claims)
	return header + "." + payload + "." + randText(seed+1, 342) // 2048-bit RSA signature
}

// realisticSession is a Google sign-in: a ~1 KB ID token, a 200-character
// access token and a 100-character refresh token.
func realisticSession(now time.Time) *Session {
	const sub, email = "110169484474386276334", "jane.doe@example.com"
	s := New(User{
		Provider: "google",
		Issuer:   "https://accounts.google.com",
		Subject:  sub,
		Email:    email,
		Name:     "Jane Doe",
		Picture:  "https://lh3.googleusercontent.com/a/ACg8ocJ-photo=s96-c",
		Groups:   []string{"staff", "admins"},
	}, Tokens{
		AccessToken:  "ya29." + randText(2, 195),
		TokenType:    "Bearer",
		RefreshToken: "1//" + randText(3, 97),
		Expiry:       now.Add(time.Hour),
		IDToken:      idToken(4, sub, email, 600),
	}, now, time.Hour)
	s.SID = "sid-" + randText(5, 20)
	return s
}

// save saves s through c into a recorder, with the request carrying the
// given cookies, and returns the recorder.
func save(t testing.TB, c *CookieStore, s *Session, carried ...*http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := c.Save(rec, requestWith(carried...), s); err != nil {
		t.Fatalf("Save: %v", err)
	}
	return rec
}

// requestWith returns a request carrying the cookies' names and values.
func requestWith(cookies ...*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://app.example.com/", nil)
	for _, ck := range cookies {
		r.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	return r
}

// requestHeader returns a request whose Cookie header is exactly h.
func requestHeader(h string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://app.example.com/", nil)
	r.Header.Set("Cookie", h)
	return r
}

// live returns the cookies of a response that a browser would keep.
func live(rec *httptest.ResponseRecorder) []*http.Cookie {
	var out []*http.Cookie
	for _, ck := range rec.Result().Cookies() {
		if ck.MaxAge >= 0 && ck.Value != "" {
			out = append(out, ck)
		}
	}
	return out
}

func TestNewCookieStore(t *testing.T) {
	key := testKey(1)
	for _, tc := range []struct {
		name      string
		cfg       CookieConfig
		wantErr   bool
		wantName  string
		wantLife  time.Duration
		wantMax   int
		wantSecur bool
	}{
		{name: "defaults", cfg: CookieConfig{Keys: [][]byte{key}},
			wantName: "__Host-portcullis", wantLife: DefaultLifetime, wantMax: DefaultMaxChunks, wantSecur: true},
		{name: "insecure default name", cfg: CookieConfig{Keys: [][]byte{key}, InsecureCookies: true},
			wantName: "portcullis", wantLife: DefaultLifetime, wantMax: DefaultMaxChunks},
		{name: "no keys", cfg: CookieConfig{}, wantErr: true},
		{name: "empty key list", cfg: CookieConfig{Keys: [][]byte{}}, wantErr: true},
		{name: "31-byte key", cfg: CookieConfig{Keys: [][]byte{key[:31]}}, wantErr: true},
		{name: "empty key", cfg: CookieConfig{Keys: [][]byte{{}}}, wantErr: true},
		{name: "65-byte key", cfg: CookieConfig{Keys: [][]byte{[]byte(strings.Repeat("k", 65))}}, wantErr: true},
		{name: "64-byte key", cfg: CookieConfig{Keys: [][]byte{[]byte(strings.Repeat("k", 64))}},
			wantName: "__Host-portcullis", wantLife: DefaultLifetime, wantMax: DefaultMaxChunks, wantSecur: true},
		{name: "all-zero key", cfg: CookieConfig{Keys: [][]byte{make([]byte, 32)}}, wantErr: true},
		{name: "bad second key", cfg: CookieConfig{Keys: [][]byte{key, key[:16]}}, wantErr: true},
		{name: "nil second key", cfg: CookieConfig{Keys: [][]byte{key, nil}}, wantErr: true},
		{name: "MaxChunks 0 is the default", cfg: CookieConfig{Keys: [][]byte{key}, MaxChunks: 0},
			wantName: "__Host-portcullis", wantLife: DefaultLifetime, wantMax: DefaultMaxChunks, wantSecur: true},
		{name: "MaxChunks 1", cfg: CookieConfig{Keys: [][]byte{key}, MaxChunks: 1},
			wantName: "__Host-portcullis", wantLife: DefaultLifetime, wantMax: 1, wantSecur: true},
		{name: "MaxChunks limit", cfg: CookieConfig{Keys: [][]byte{key}, MaxChunks: MaxChunksLimit},
			wantName: "__Host-portcullis", wantLife: DefaultLifetime, wantMax: MaxChunksLimit, wantSecur: true},
		{name: "MaxChunks 17", cfg: CookieConfig{Keys: [][]byte{key}, MaxChunks: 17}, wantErr: true},
		{name: "MaxChunks -1", cfg: CookieConfig{Keys: [][]byte{key}, MaxChunks: -1}, wantErr: true},
		{name: "Lifetime 59s", cfg: CookieConfig{Keys: [][]byte{key}, Lifetime: 59 * time.Second}, wantErr: true},
		{name: "Lifetime negative", cfg: CookieConfig{Keys: [][]byte{key}, Lifetime: -time.Hour}, wantErr: true},
		{name: "Lifetime 1m", cfg: CookieConfig{Keys: [][]byte{key}, Lifetime: time.Minute},
			wantName: "__Host-portcullis", wantLife: time.Minute, wantMax: DefaultMaxChunks, wantSecur: true},
		{name: "name with space", cfg: CookieConfig{Keys: [][]byte{key}, Name: "a b"}, wantErr: true},
		{name: "name with semicolon", cfg: CookieConfig{Keys: [][]byte{key}, Name: "a;b"}, wantErr: true},
		{name: "name with equals", cfg: CookieConfig{Keys: [][]byte{key}, Name: "a=b"}, wantErr: true},
		{name: "name with non-ASCII", cfg: CookieConfig{Keys: [][]byte{key}, Name: "sessión"}, wantErr: true},
		{name: "name of 65 bytes", cfg: CookieConfig{Keys: [][]byte{key}, Name: strings.Repeat("n", 65)}, wantErr: true},
		{name: "name of 64 bytes", cfg: CookieConfig{Keys: [][]byte{key}, Name: strings.Repeat("n", 64)},
			wantName: strings.Repeat("n", 64), wantLife: DefaultLifetime, wantMax: DefaultMaxChunks, wantSecur: true},
		{name: "__Host- name with InsecureCookies", cfg: CookieConfig{Keys: [][]byte{key}, Name: "__Host-s", InsecureCookies: true}, wantErr: true},
		{name: "__Secure- name with InsecureCookies", cfg: CookieConfig{Keys: [][]byte{key}, Name: "__Secure-s", InsecureCookies: true}, wantErr: true},
		{name: "__Host- name secure", cfg: CookieConfig{Keys: [][]byte{key}, Name: "__Host-s"},
			wantName: "__Host-s", wantLife: DefaultLifetime, wantMax: DefaultMaxChunks, wantSecur: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewCookieStore(tc.cfg)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("NewCookieStore(%+v) succeeded, want an error", tc.cfg)
				}
				if c != nil {
					t.Fatal("a store was returned with the error")
				}
				return
			}
			if err != nil {
				t.Fatalf("NewCookieStore: %v", err)
			}
			if c.Name() != tc.wantName || c.lifetime != tc.wantLife || c.maxChunks != tc.wantMax || c.secure != tc.wantSecur {
				t.Fatalf("got name %q lifetime %v maxChunks %d secure %v, want %q %v %d %v",
					c.Name(), c.lifetime, c.maxChunks, c.secure, tc.wantName, tc.wantLife, tc.wantMax, tc.wantSecur)
			}
		})
	}
}

// setCookie is one parsed Set-Cookie header line.
type setCookie struct {
	line, name, value string
	attrs             map[string]string
}

func setCookies(t testing.TB, h http.Header) []setCookie {
	t.Helper()
	var out []setCookie
	for _, line := range h.Values("Set-Cookie") {
		parts := strings.Split(line, "; ")
		name, value, ok := strings.Cut(parts[0], "=")
		if !ok {
			t.Fatalf("Set-Cookie without a value: %q", line)
		}
		sc := setCookie{line: line, name: name, value: value, attrs: map[string]string{}}
		for _, p := range parts[1:] {
			k, v, _ := strings.Cut(p, "=")
			if _, dup := sc.attrs[k]; dup {
				t.Fatalf("attribute %s twice in %q", k, line)
			}
			sc.attrs[k] = v
		}
		out = append(out, sc)
	}
	return out
}

// checkAttributes asserts SS-02/T8 on every Set-Cookie line: HttpOnly,
// Secure unless insecure, SameSite=Lax, Path=/, no Domain and no other
// attribute, a Max-Age within [minAge, maxAge], and at most 4096 bytes.
func checkAttributes(t testing.TB, scs []setCookie, secure bool, minAge, maxAge int) {
	t.Helper()
	if len(scs) == 0 {
		t.Fatal("no Set-Cookie")
	}
	for _, sc := range scs {
		want := map[string]bool{"Path": true, "Max-Age": true, "HttpOnly": true, "SameSite": true, "Secure": secure}
		for k := range sc.attrs {
			if !want[k] {
				t.Errorf("%s: unexpected attribute %q in %q", sc.name, k, sc.line)
			}
		}
		for k, w := range want {
			if _, ok := sc.attrs[k]; w && !ok {
				t.Errorf("%s: attribute %s missing in %q", sc.name, k, sc.line)
			}
		}
		if sc.attrs["Path"] != "/" || sc.attrs["SameSite"] != "Lax" || sc.attrs["HttpOnly"] != "" {
			t.Errorf("%s: got Path=%q SameSite=%q in %q", sc.name, sc.attrs["Path"], sc.attrs["SameSite"], sc.line)
		}
		age, err := strconv.Atoi(sc.attrs["Max-Age"])
		if err != nil || age < minAge || age > maxAge {
			t.Errorf("%s: Max-Age %q, want %d..%d", sc.name, sc.attrs["Max-Age"], minAge, maxAge)
		}
		if len(sc.line) > 4096 {
			t.Errorf("%s: Set-Cookie line is %d bytes", sc.name, len(sc.line))
		}
	}
}

func TestCookieStoreSaveLoad(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name     string
		cfg      CookieConfig
		lifetime time.Duration
		secure   bool
	}{
		{"secure default", CookieConfig{}, time.Hour, true},
		{"insecure http", CookieConfig{InsecureCookies: true}, time.Hour, false},
		{"custom name, full lifetime", CookieConfig{Name: "__Host-app", Lifetime: 2 * time.Hour}, 2 * time.Hour, true},
		{"short lifetime", CookieConfig{Lifetime: time.Minute}, time.Minute, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestStore(t, tc.cfg)
			s := realisticSession(now)
			s.Expires = s.Created.Add(tc.lifetime)
			rec := save(t, c, s)
			scs := setCookies(t, rec.Header())
			if len(scs) != 1 || scs[0].name != c.Name() {
				t.Fatalf("Set-Cookie for %v, want one for %q", scs, c.Name())
			}
			checkAttributes(t, scs, tc.secure, int(tc.lifetime/time.Second)-5, int(tc.lifetime/time.Second))
			if !strings.HasPrefix(scs[0].value, "1~") {
				t.Errorf("value %.10q… does not start with the count 1.", scs[0].value)
			}
			got, err := c.Load(requestWith(live(rec)...))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !equalSession(got, s) {
				t.Fatalf("Load returned %+v, want %+v", got, s)
			}
		})
	}
}

func TestCookieStoreLoadWithoutCookie(t *testing.T) {
	c := newTestStore(t, CookieConfig{})
	for _, h := range []string{"", "other=1", "portcullis=1.abc", "__Host-portcullis.1=abc"} {
		t.Run(h, func(t *testing.T) {
			if s, err := c.Load(requestHeader(h)); !errors.Is(err, ErrNoSession) || s != nil {
				t.Fatalf("Load = %v, %v; want ErrNoSession", s, err)
			}
		})
	}
}

func TestCookieStoreSaveRefuses(t *testing.T) {
	now := time.Now()
	c := newTestStore(t, CookieConfig{Lifetime: time.Hour})
	expired := realisticSession(now.Add(-2 * time.Hour))
	tooLong := realisticSession(now)
	tooLong.Expires = now.Add(time.Hour + time.Second)
	noExpiry := realisticSession(now)
	noExpiry.Expires = time.Time{}
	for _, tc := range []struct {
		name string
		s    *Session
	}{
		{"nil", nil},
		{"expired", expired},
		{"zero Expires", noExpiry},
		{"lifetime beyond the store's", tooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := c.Save(rec, requestWith(), tc.s); err == nil {
				t.Fatal("Save succeeded")
			}
			if v := rec.Header().Values("Set-Cookie"); len(v) != 0 {
				t.Fatalf("Save failed but wrote %q", v)
			}
		})
	}
}

// TestCookieStoreMaxAgeFollowsExpires checks that Max-Age counts down to
// the session's absolute end, not the store's full lifetime.
func TestCookieStoreMaxAgeFollowsExpires(t *testing.T) {
	now := time.Now()
	c := newTestStore(t, CookieConfig{Lifetime: 24 * time.Hour})
	s := realisticSession(now.Add(-23 * time.Hour))
	s.Expires = s.Created.Add(24 * time.Hour) // one hour left
	checkAttributes(t, setCookies(t, save(t, c, s).Header()), true, 3590, 3600)
}

// TestCookieStoreKeyRotation is SS-07/T4: old cookies read while the old key
// is configured, new cookies are made with the first key.
func TestCookieStoreKeyRotation(t *testing.T) {
	oldKey, newKey, unknown := testKey(1), testKey(2), testKey(3)
	s := realisticSession(time.Now())
	for _, tc := range []struct {
		name           string
		writer, reader [][]byte
		ok             bool
	}{
		{"old cookie, rotation configured", [][]byte{oldKey}, [][]byte{newKey, oldKey}, true},
		{"old cookie, old key removed", [][]byte{oldKey}, [][]byte{newKey}, false},
		{"old cookie, same key", [][]byte{oldKey}, [][]byte{oldKey}, true},
		{"new cookie, new key only", [][]byte{newKey, oldKey}, [][]byte{newKey}, true},
		{"new cookie, old key only", [][]byte{newKey, oldKey}, [][]byte{oldKey}, false},
		{"new cookie, keys in either order", [][]byte{newKey, oldKey}, [][]byte{oldKey, newKey}, true},
		{"unknown key", [][]byte{unknown}, [][]byte{newKey, oldKey}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newTestStore(t, CookieConfig{Keys: tc.writer})
			r := newTestStore(t, CookieConfig{Keys: tc.reader})
			got, err := r.Load(requestWith(live(save(t, w, s))...))
			if tc.ok && (err != nil || !equalSession(got, s)) {
				t.Fatalf("Load = %+v, %v; want the session", got, err)
			}
			if !tc.ok && (!errors.Is(err, ErrNoSession) || got != nil) {
				t.Fatalf("Load = %+v, %v; want ErrNoSession", got, err)
			}
		})
	}
}
