package session

import (
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// jar is a browser's cookie store for https://app.example.com/.
type jar struct {
	j *cookiejar.Jar
	u *url.URL
}

func newJar(t testing.TB) *jar {
	j, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &jar{j: j, u: &url.URL{Scheme: "https", Host: "app.example.com", Path: "/"}}
}

func (j *jar) set(rec *httptest.ResponseRecorder) { j.j.SetCookies(j.u, rec.Result().Cookies()) }
func (j *jar) cookies() []*http.Cookie            { return j.j.Cookies(j.u) }
func (j *jar) request() *http.Request             { return requestWith(j.cookies()...) }

// chunkedSession returns a session, made at now, that c saves in exactly
// k cookies, growing its incompressible ID token to get there.
func chunkedSession(t testing.TB, c *CookieStore, now time.Time, seed uint64, k int) *Session {
	t.Helper()
	s := realisticSession(now)
	for size := 0; size < 64<<10; size += 256 {
		s.Tokens.IDToken = idToken(seed, s.User.Subject, s.User.Email, size)
		rec := httptest.NewRecorder()
		if err := c.Save(rec, requestWith(), s); err != nil {
			break
		}
		if n := len(rec.Result().Cookies()); n == k {
			return s
		} else if n > k {
			break
		}
	}
	t.Fatalf("no session of exactly %d cookies", k)
	return nil
}

func chunkNames(name string, k int) []string {
	out := []string{name}
	for i := 1; i < k; i++ {
		out = append(out, name+"."+strconv.Itoa(i))
	}
	return out
}

// TestCookieStoreChunks is T5/SS-06: a 12 KiB ID token spans Name, Name.1,
// …, the first value carries the count, every line fits in 4096 bytes,
// and the session comes back whatever order the browser sends them in.
func TestCookieStoreChunks(t *testing.T) {
	c := newTestStore(t, CookieConfig{MaxChunks: 8})
	s := realisticSession(time.Now())
	s.Tokens.IDToken = idToken(11, s.User.Subject, s.User.Email, 12<<10)
	rec := save(t, c, s)
	scs := setCookies(t, rec.Header())
	checkAttributes(t, scs, true, 3590, 3600)
	k := len(scs)
	if k < 3 {
		t.Fatalf("%d cookies for a 12 KiB ID token, want several", k)
	}
	var got []string
	for i, sc := range scs {
		got = append(got, sc.name)
		want := chunkSize
		if i == 0 {
			want += len(strconv.Itoa(k)) + 1
			if !strings.HasPrefix(sc.value, strconv.Itoa(k)+"~") {
				t.Errorf("first value %.8q… does not start with %d~", sc.value, k)
			}
		} else if strings.Contains(sc.value, "~") {
			t.Errorf("chunk %s carries a prefix: %.8q…", sc.name, sc.value)
		}
		if i < k-1 && len(sc.value) != want || i == k-1 && (len(sc.value) == 0 || len(sc.value) > chunkSize) {
			t.Errorf("chunk %s holds %d bytes", sc.name, len(sc.value))
		}
	}
	if !slices.Equal(got, chunkNames(c.Name(), k)) {
		t.Fatalf("cookie names %q, want %q", got, chunkNames(c.Name(), k))
	}
	cookies := live(rec)
	for _, order := range []string{"in order", "reversed"} {
		t.Run(order, func(t *testing.T) {
			cs := slices.Clone(cookies)
			if order == "reversed" {
				slices.Reverse(cs)
			}
			got, err := c.Load(requestWith(cs...))
			if err != nil || !equalSession(got, s) {
				t.Fatalf("Load = %+v, %v; want the session", got, err)
			}
		})
	}
}

// TestCookieStoreTooLarge is T5: a session beyond MaxChunks, or with more
// groups than Load accepts, fails with ErrTooLarge and writes nothing, not
// even the expiry of the chunks the request carries.
func TestCookieStoreTooLarge(t *testing.T) {
	now := time.Now()
	def := newTestStore(t, CookieConfig{})
	one := newTestStore(t, CookieConfig{MaxChunks: 1})
	big := realisticSession(now)
	big.Tokens.IDToken = idToken(11, big.User.Subject, big.User.Email, 20<<10)
	fourK := realisticSession(now)
	fourK.Tokens.IDToken = idToken(12, fourK.User.Subject, fourK.User.Email, 4<<10)
	groups := realisticSession(now)
	groups.User.Groups = strings.Split(strings.Repeat("g,", maxGroups), ",") // maxGroups+1
	carried := requestHeader(def.Name() + "=3.x; " + def.Name() + ".1=y; " + def.Name() + ".2=z")
	for _, tc := range []struct {
		name string
		c    *CookieStore
		s    *Session
	}{
		{"20 KiB ID token, default MaxChunks", def, big},
		{"4 KiB ID token, MaxChunks 1", one, fourK},
		{"maxGroups+1 groups", def, groups},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			err := tc.c.Save(rec, carried, tc.s)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Save: %v, want ErrTooLarge", err)
			}
			if v := rec.Header().Values("Set-Cookie"); len(v) != 0 {
				t.Fatalf("Save failed but wrote %d Set-Cookie: %.60q", len(v), v)
			}
		})
	}
	t.Run("control: the same sizes fit a larger store", func(t *testing.T) {
		groups.User.Groups = groups.User.Groups[:maxGroups]
		for _, s := range []*Session{big, fourK, groups} {
			c := newTestStore(t, CookieConfig{MaxChunks: MaxChunksLimit})
			if got, err := c.Load(requestWith(live(save(t, c, s))...)); err != nil || !equalSession(got, s) {
				t.Fatalf("Load = %v; want the session", err)
			}
		}
	})
}

// TestCookieStoreStaleChunks is T5: a smaller session saved over a larger
// one expires the chunks it no longer needs, and only those.
func TestCookieStoreStaleChunks(t *testing.T) {
	now := time.Now()
	c := newTestStore(t, CookieConfig{})
	n := c.Name()
	for _, tc := range []struct {
		before, after int
		expired       []string
	}{
		{3, 1, []string{n + ".1", n + ".2"}},
		{5, 2, []string{n + ".2", n + ".3", n + ".4"}},
		{2, 2, nil},
		{1, 3, nil},
	} {
		t.Run(strconv.Itoa(tc.before)+" to "+strconv.Itoa(tc.after), func(t *testing.T) {
			j := newJar(t)
			j.set(save(t, c, chunkedSession(t, c, now, 20, tc.before)))
			if got := len(j.cookies()); got != tc.before {
				t.Fatalf("jar holds %d cookies, want %d", got, tc.before)
			}
			s := chunkedSession(t, c, now, 21, tc.after)
			rec := save(t, c, s, j.cookies()...)
			var written, expired []string
			for _, sc := range setCookies(t, rec.Header()) {
				if sc.attrs["Max-Age"] == "0" {
					checkAttributes(t, []setCookie{sc}, true, 0, 0)
					if sc.value != "" {
						t.Errorf("%s expired with a value", sc.name)
					}
					expired = append(expired, sc.name)
				} else {
					written = append(written, sc.name)
				}
			}
			if !slices.Equal(written, chunkNames(n, tc.after)) || !slices.Equal(expired, tc.expired) {
				t.Fatalf("wrote %q and expired %q, want %q and %q", written, expired, chunkNames(n, tc.after), tc.expired)
			}
			j.set(rec)
			if got := len(j.cookies()); got != tc.after {
				t.Fatalf("jar holds %d cookies after the second Save, want %d", got, tc.after)
			}
			if got, err := c.Load(j.request()); err != nil || !equalSession(got, s) {
				t.Fatalf("Load = %v; want the second session", err)
			}
		})
	}
}

// TestCookieStoreChunkAttacks is T2/T3/SS-06: missing, extra, duplicated,
// reordered or mixed chunks and forged counts read as no session, and the
// work done is bounded whatever the request claims.
func TestCookieStoreChunkAttacks(t *testing.T) {
	now := time.Now()
	c := newTestStore(t, CookieConfig{})
	n := c.Name()
	a := values(live(save(t, c, chunkedSession(t, c, now, 30, 3))))
	b := values(live(save(t, c, chunkedSession(t, c, now, 31, 3))))
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("got %d and %d chunks, want 3 and 3", len(a), len(b))
	}
	header := func(first, c1, c2 string) string {
		return n + "=" + first + "; " + n + ".1=" + c1 + "; " + n + ".2=" + c2
	}
	valid := header(a[0], a[1], a[2])
	withCount := func(count string) string { return header(count+a[0][1:], a[1], a[2]) }
	var junk200 strings.Builder
	junk200.WriteString(n + "=3." + a[0][2:])
	for i := 1; i <= 200; i++ {
		junk200.WriteString("; " + n + "." + strconv.Itoa(i) + "=" + randText(uint64(i), 40))
	}
	var junkOnly strings.Builder
	for i := 1; i <= 200; i++ {
		junkOnly.WriteString(n + "." + strconv.Itoa(i) + "=" + randText(uint64(i), 40) + "; ")
	}
	var dupes strings.Builder
	dupes.WriteString(valid)
	for dupes.Len() < 64<<10 {
		dupes.WriteString("; " + n + ".1=" + a[1])
	}
	for _, tc := range []struct {
		name, header string
	}{
		{"reordered", header(a[0], a[2], a[1])},
		{"last dropped", n + "=" + a[0] + "; " + n + ".1=" + a[1]},
		{"last dropped, count lowered", n + "=2." + a[0][2:] + "; " + n + ".1=" + a[1]},
		{"first dropped", n + ".1=" + a[1] + "; " + n + ".2=" + a[2]},
		{"gap", n + "=" + a[0] + "; " + n + ".2=" + a[2]},
		{"gap, moved up", n + "=" + a[0] + "; " + n + ".1=" + a[1] + "; " + n + ".3=" + a[2]},
		{"duplicate chunk, same value", valid + "; " + n + ".1=" + a[1]},
		{"duplicate chunk, other value", valid + "; " + n + ".2=" + b[2]},
		{"duplicate first", valid + "; " + n + "=" + a[0]},
		{"interleaved a b a", header(a[0], b[1], a[2])},
		{"interleaved b a b", header(b[0], a[1], b[2])},
		{"interleaved a a b", header(a[0], a[1], b[2])},
		{"empty chunk", header(a[0], "", a[2])},
		{"whitespace chunk", header(a[0], `" "`, a[2])},
		{"chunk over chunkSize", header(a[0], a[1]+a[2][:1], a[2][1:])},
		{"chunk index with zero", n + "=" + a[0] + "; " + n + ".01=" + a[1] + "; " + n + ".02=" + a[2]},
		{"count 0.", withCount("0")},
		{"count -1.", withCount("-1")},
		{"count 2.", withCount("2")},
		{"count 4.", withCount("4")},
		{"count 99.", withCount("99")},
		{"count x.", withCount("x")},
		{"count 17.", withCount("17")},
		{"count 10000000000.", withCount("10000000000")},
		{"count 1ofx", withCount("1ofx")},
		{"count 0of1", withCount("0of1")},
		{"count empty", withCount("")},
		{"no count", header(a[0][2:], a[1], a[2])},
		{"count without dot", header("3"+a[0][2:], a[1], a[2])},
		{"200 junk chunks", junk200.String()},
		{"200 junk chunks, no first", junkOnly.String()},
		{"64 KiB first cookie", n + "=3." + strings.Repeat("A", 64<<10)},
		{"64 KiB of duplicate chunks", dupes.String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := requestHeader(tc.header)
			if s, err := c.Load(r); !errors.Is(err, ErrNoSession) || s != nil {
				t.Fatalf("Load = %+v, %v; want ErrNoSession", s, err)
			}
			checkLoadCost(t, c, r)
		})
	}
	t.Run("control: valid chunks among 64 KiB of other cookies", func(t *testing.T) {
		var h strings.Builder
		for i := 0; h.Len() < 64<<10; i++ {
			h.WriteString("pad" + strconv.Itoa(i) + "=" + randText(uint64(i), 100) + "; ")
		}
		h.WriteString(valid)
		r := requestHeader(h.String())
		if _, err := c.Load(r); err != nil {
			t.Fatalf("Load: %v", err)
		}
		checkLoadCost(t, c, r)
	})
}

// checkLoadCost asserts that a Load allocates a bounded amount, whatever
// number the request states: at most what MaxChunks full chunks cost, and
// fewer allocations than the 200 junk cookies one case sends (a full decode
// of a valid session takes about 40).
func checkLoadCost(t *testing.T, c *CookieStore, r *http.Request) {
	t.Helper()
	if allocs := testing.AllocsPerRun(20, func() { c.Load(r) }); allocs > 64 {
		t.Errorf("%v allocations per Load", allocs)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const runs = 20
	for range runs {
		c.Load(r)
	}
	runtime.ReadMemStats(&after)
	limit := uint64(4 * c.maxChunks * chunkSize)
	if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > limit {
		t.Errorf("%d bytes allocated per Load, limit %d", per, limit)
	}
}

func values(cs []*http.Cookie) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Value)
	}
	return out
}

// TestCookieStoreClear is T8 for logout: the first cookie and every chunk
// the request carried are expired with the same attributes.
func TestCookieStoreClear(t *testing.T) {
	c := newTestStore(t, CookieConfig{})
	n := c.Name()
	for _, tc := range []struct {
		name   string
		header string
		want   []string
	}{
		{"no cookies", "", []string{n}},
		{"first only", n + "=1.x", []string{n}},
		{"chunks", n + "=3.x; " + n + ".1=y; " + n + ".2=z", []string{n, n + ".1", n + ".2"}},
		{"stray high chunk", n + ".15=z", []string{n, n + ".15"}},
		{"duplicate chunk", n + ".1=y; " + n + ".1=z", []string{n, n + ".1"}},
		{"not chunk names", n + ".01=a; " + n + ".16=b; " + n + ".-1=c; " + n + ".x=d; " + n + "x.1=e; other=f", []string{n}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := c.Clear(rec, requestHeader(tc.header)); err != nil {
				t.Fatalf("Clear: %v", err)
			}
			scs := setCookies(t, rec.Header())
			checkAttributes(t, scs, true, 0, 0)
			var got []string
			for _, sc := range scs {
				if sc.value != "" {
					t.Errorf("%s expired with value %q", sc.name, sc.value)
				}
				got = append(got, sc.name)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("expired %q, want %q", got, tc.want)
			}
		})
	}
}

// TestCookieStoreClearEndsSession drives Save, Clear and Load through a
// cookie jar, the way a browser applies the headers.
func TestCookieStoreClearEndsSession(t *testing.T) {
	c := newTestStore(t, CookieConfig{MaxChunks: 8})
	s := realisticSession(time.Now())
	s.Tokens.IDToken = idToken(7, s.User.Subject, s.User.Email, 8<<10)
	jar := newJar(t)
	rec := save(t, c, s)
	jar.set(rec)
	if got := len(jar.cookies()); got < 3 {
		t.Fatalf("%d cookies, want a chunked session", got)
	}
	if _, err := c.Load(jar.request()); err != nil {
		t.Fatalf("Load before Clear: %v", err)
	}
	rec = httptest.NewRecorder()
	if err := c.Clear(rec, jar.request()); err != nil {
		t.Fatal(err)
	}
	jar.set(rec)
	if left := jar.cookies(); len(left) != 0 {
		t.Fatalf("cookies left after Clear: %v", names(left))
	}
	if _, err := c.Load(jar.request()); !errors.Is(err, ErrNoSession) {
		t.Fatalf("Load after Clear: %v", err)
	}
}

func names(cs []*http.Cookie) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}
