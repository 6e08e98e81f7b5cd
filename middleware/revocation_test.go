package middleware

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/session"
)

func TestMemoryRevocations(t *testing.T) {
	now := time.Now()
	m := newMemoryRevocations(func() time.Time { return now })
	ctx := context.Background()
	s := &session.Session{ID: "s1", SID: "sid-1", Created: now.Add(-time.Hour), Expires: now.Add(time.Hour), User: session.User{Provider: "corp", Subject: "ada"}}
	check := func(want bool, what string) {
		t.Helper()
		if got, err := m.Revoked(ctx, s); err != nil || got != want {
			t.Fatalf("%s: Revoked = %v, %v; want %v", what, got, err, want)
		}
	}
	check(false, "empty list")
	exp := now.Add(time.Hour)
	for _, r := range []session.Revocation{
		{ID: "other", Provider: "corp", Subject: "ada", Before: now, Expires: exp},
		{ID: "s1", Provider: "corp", Subject: "grace", Before: now, Expires: exp},
		{Provider: "corp", SID: "sid-2", Before: now, Expires: exp},
		{Provider: "other", SID: "sid-1", Before: now, Expires: exp},
		{Provider: "corp", SID: "sid-1", Before: s.Created, Expires: exp},
		{Provider: "corp", Subject: "grace", Before: now, Expires: exp},
		{Provider: "other", Subject: "ada", Before: now, Expires: exp},
		{Provider: "corp", Subject: "ada", Before: now.Add(-2 * time.Hour), Expires: exp},
		{Provider: "corp", Subject: "ada", SID: "sid-2", Before: now, Expires: exp},
	} {
		if err := m.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	check(false, "entries for other sessions, providers, users and earlier logins")
	for name, r := range map[string]session.Revocation{
		"session":          sessionRevocation(s),
		"provider session": endedRevocation("corp", "", "sid-1", now, time.Hour),
		"account":          endedRevocation("corp", "ada", "", now, time.Hour),
		"sid and sub":      endedRevocation("corp", "ada", "sid-1", now, time.Hour),
	} {
		t.Run(name, func(t *testing.T) {
			m := newMemoryRevocations(func() time.Time { return now })
			if err := m.Add(ctx, r); err != nil {
				t.Fatal(err)
			}
			if got, _ := m.Revoked(ctx, s); !got {
				t.Fatal("not revoked")
			}
			if !r.Matches(s) {
				t.Fatal("session.Revocation.Matches disagrees with the store")
			}
			// A session created afterwards is not ended.
			later := *s
			later.ID, later.Created = "s2", now.Add(time.Second)
			if got, _ := m.Revoked(ctx, &later); got {
				t.Fatal("a later session was ended")
			}
		})
	}
	for _, r := range []session.Revocation{{}, {ID: "s1", Expires: exp}, {Provider: "corp", SID: "sid-1", Expires: exp}} {
		if err := m.Add(ctx, r); !errors.Is(err, errMalformedRevocation) {
			t.Fatalf("malformed %+v: Add = %v", r, err)
		}
	}
}

func TestMemoryRevocationsExpireAndBound(t *testing.T) {
	now := time.Now()
	m := newMemoryRevocations(func() time.Time { return now })
	ctx := context.Background()
	for i := 0; i < 1000; i++ {
		if err := m.Add(ctx, endedRevocation("corp", fmt.Sprint("user-", i), "", now, time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(2 * time.Minute)
	// Each write collects a batch of expired entries; enough writes
	// collect them all.
	for range 1000/64 + 1 {
		if err := m.Add(ctx, endedRevocation("corp", "fresh", "", now, time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.list.Len(); n != 1 {
		t.Fatalf("after expiry %d entries remain, want 1", n)
	}
	if err := m.Add(ctx, endedRevocation("corp", "late", "", now.Add(-2*time.Minute), time.Minute)); err != nil || m.list.Len() != 1 {
		t.Fatalf("an already expired revocation: %v, %d entries", err, m.list.Len())
	}
	// The bound: TestRevocationListFullFailsClosed and TestRevocationAccountBound.
}

// revocationRows are the revocations of TestRevocationShapesAgree: every
// shape, with values that match and miss each session of
// revocationTestSessions, and malformed ones.
func revocationRows(now time.Time) []session.Revocation {
	exp := now.Add(time.Hour)
	var rows []session.Revocation
	for _, p := range []string{"corp", "other"} {
		for _, before := range []time.Time{now.Add(-time.Hour), now.Add(-time.Minute).Add(time.Nanosecond), now} {
			for _, sub := range []string{"", "ada", "grace"} {
				for _, sid := range []string{"", "sid-1", "sid-2"} {
					rows = append(rows, session.Revocation{Provider: p, Subject: sub, SID: sid, Before: before, Expires: exp})
					for _, id := range []string{"s1", "s3", "s6"} {
						rows = append(rows, session.Revocation{ID: id, Provider: p, Subject: sub, SID: sid, Before: before, Expires: exp})
					}
				}
			}
		}
		rows = append(rows, session.Revocation{Provider: p, Subject: "ada", SID: "sid-1", Expires: exp})
	}
	return append(rows, session.Revocation{Subject: "ada", Before: now, Expires: exp}, session.Revocation{})
}

func revocationTestSessions(now time.Time) []*session.Session {
	mk := func(id, provider, sub, sid string, created time.Time) *session.Session {
		return &session.Session{ID: id, SID: sid, Created: created, Expires: created.Add(time.Hour), User: session.User{Provider: provider, Subject: sub}}
	}
	before := now.Add(-time.Minute)
	return []*session.Session{
		mk("s1", "corp", "ada", "sid-1", before),
		mk("s2", "corp", "ada", "sid-2", before),
		mk("s3", "corp", "ada", "", before),
		mk("s4", "corp", "ada", "sid-1", now.Add(time.Second)),
		mk("s5", "corp", "ada", "", now.Add(time.Second)),
		mk("s6", "corp", "grace", "sid-1", before),
		mk("s7", "corp", "grace", "", before),
		mk("s8", "other", "ada", "sid-1", before),
	}
}

// TestRevocationShapesAgree runs the same table through
// session.Revocation.Matches and memoryRevocations: for each revocation
// alone, the store revokes exactly the sessions Matches names, and refuses
// exactly the revocations that are not WellFormed.
func TestRevocationShapesAgree(t *testing.T) {
	now := time.Now()
	ctx := context.Background()
	sessions := revocationTestSessions(now)
	wellFormed := 0
	for _, r := range revocationRows(now) {
		m := newMemoryRevocations(func() time.Time { return now })
		err := m.Add(ctx, r)
		if (err == nil) != r.WellFormed() {
			t.Fatalf("%+v: WellFormed %v, Add = %v", r, r.WellFormed(), err)
		}
		if err == nil {
			wellFormed++
		}
		for _, s := range sessions {
			got, err := m.Revoked(ctx, s)
			if err != nil || got != r.Matches(s) {
				t.Errorf("%+v, session %s: store %v (%v), Matches %v", r, s.ID, got, err, r.Matches(s))
			}
		}
	}
	t.Logf("%d well-formed revocations, each against %d sessions", wellFormed, len(sessions))
}

// TestRevocationFoldOnlyRevokesMore adds random sequences of revocations
// to one list: every session any of them matches stays revoked, however
// the account's entries were folded, and a session is only ever revoked
// beyond them when it was created before the latest Before of its
// account's entries (the documented over-revocation).
func TestRevocationFoldOnlyRevokesMore(t *testing.T) {
	now := time.Now()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(vs ...string) string { return vs[rng.IntN(len(vs))] }
	for round := range 200 {
		m := newMemoryRevocations(func() time.Time { return now })
		var added []session.Revocation
		var sessions []*session.Session
		for i := range 40 {
			created := now.Add(-time.Duration(rng.IntN(3600)) * time.Second)
			s := &session.Session{
				ID: fmt.Sprint("s", i), SID: pick("", "sid-1", "sid-2", "sid-3"), Created: created, Expires: created.Add(2 * time.Hour),
				User: session.User{Provider: "corp", Subject: pick("ada", "grace")},
			}
			sessions = append(sessions, s)
			var r session.Revocation
			switch rng.IntN(4) {
			case 0, 1:
				r = sessionRevocation(s)
			case 2:
				r = endedRevocation("corp", s.User.Subject, pick("sid-1", "sid-2", "sid-3"), created.Add(time.Duration(rng.IntN(600))*time.Second), 2*time.Hour)
			case 3:
				r = endedRevocation("corp", pick("", s.User.Subject), pick("", "sid-1"), created.Add(-time.Duration(rng.IntN(600))*time.Second), 2*time.Hour)
				if r.Subject == "" && r.SID == "" {
					r.SID = "sid-2"
				}
			}
			if err := m.Add(ctx, r); err != nil {
				t.Fatal(err)
			}
			added = append(added, r)
		}
		for _, s := range sessions {
			matched := false
			var newest time.Time
			for _, r := range added {
				matched = matched || r.Matches(s)
				if r.Subject == s.User.Subject || r.Subject == "" && r.SID == s.SID {
					newest = latest(newest, r.Before)
				}
			}
			got, _ := m.Revoked(ctx, s)
			if matched && !got {
				t.Fatalf("round %d: session %s (%v) matched by an entry but not revoked", round, s.ID, s.Created)
			}
			if got && !matched && !s.Created.Before(newest) {
				t.Fatalf("round %d: session %s revoked though created after every entry of its account", round, s.ID)
			}
		}
	}
}

// TestRevocationAccountBound: one account keeps at most
// maxSessionRevocations per-session entries; the next logout folds them
// into "every session of the account created before T", T just after the
// newest of them.
func TestRevocationAccountBound(t *testing.T) {
	now := time.Now()
	ctx := context.Background()
	m := newMemoryRevocations(func() time.Time { return now })
	mk := func(i int) *session.Session {
		created := now.Add(time.Duration(i-100) * time.Minute)
		return &session.Session{ID: fmt.Sprint("s", i), Created: created, Expires: created.Add(3 * time.Hour), User: session.User{Provider: "corp", Subject: "ada"}}
	}
	phone := mk(0) // signed in first, never logged out
	newest := mk(50)
	record := func() *revocationRecord {
		rec, _ := m.list.Get(revocationKey{provider: "corp", subject: "ada"})
		return rec
	}
	for i := 1; i <= maxSessionRevocations; i++ {
		if err := m.Add(ctx, sessionRevocation(mk(i))); err != nil {
			t.Fatal(err)
		}
		if got, _ := m.Revoked(ctx, phone); got {
			t.Fatalf("after %d logouts, the untouched session is revoked", i)
		}
	}
	if n := len(record().sessions); n != maxSessionRevocations {
		t.Fatalf("%d per-session entries, want %d", n, maxSessionRevocations)
	}
	if err := m.Add(ctx, sessionRevocation(mk(maxSessionRevocations+1))); err != nil {
		t.Fatal(err)
	}
	rec := record()
	if len(rec.sessions) != 0 || !rec.before.Equal(mk(maxSessionRevocations+1).Created.Add(time.Nanosecond)) {
		t.Fatalf("after the fold: %d entries, before %v", len(rec.sessions), rec.before)
	}
	for i := 1; i <= maxSessionRevocations+1; i++ {
		if got, _ := m.Revoked(ctx, mk(i)); !got {
			t.Errorf("logged-out session %d works again after the fold", i)
		}
	}
	if got, _ := m.Revoked(ctx, phone); !got {
		t.Error("over-revocation: the older session of the account should end with the fold")
	}
	if got, _ := m.Revoked(ctx, newest); got {
		t.Error("a session created after the folded ones is revoked")
	}
	if err := m.Add(ctx, sessionRevocation(newest)); err != nil {
		t.Fatal(err)
	}
	if n := len(record().sessions); n != 1 {
		t.Fatalf("a logout after the fold: %d entries, want 1", n)
	}
}

// TestRevocationListFullFailsClosed: at its bound the list still records
// every logout (the copied cookie stops working) and reports full, so
// that new sign-ins are refused; only at twice the bound does Add fail,
// with an error. When the entries expire it is no longer full, with no
// other write.
func TestRevocationListFullFailsClosed(t *testing.T) {
	now := time.Now()
	ctx := context.Background()
	const bound = 4
	m := newMemoryRevocationsBound(func() time.Time { return now }, bound)
	mk := func(i int) *session.Session {
		return &session.Session{ID: fmt.Sprint("s", i), Created: now.Add(-time.Minute), Expires: now.Add(time.Hour), User: session.User{Provider: "corp", Subject: fmt.Sprint("user-", i)}}
	}
	for i := range bound {
		if m.full() {
			t.Fatalf("full after %d of %d keys", i, bound)
		}
		if err := m.Add(ctx, sessionRevocation(mk(i))); err != nil {
			t.Fatal(err)
		}
	}
	if !m.full() {
		t.Fatal("not full at the bound")
	}
	for i := bound; i < 2*bound; i++ {
		if err := m.Add(ctx, sessionRevocation(mk(i))); err != nil {
			t.Fatalf("logout %d past the bound: %v", i, err)
		}
		if got, _ := m.Revoked(ctx, mk(i)); !got {
			t.Fatalf("logout %d past the bound recorded but not revoked", i)
		}
	}
	if err := m.Add(ctx, sessionRevocation(mk(2*bound))); err == nil {
		t.Fatal("Add at twice the bound succeeded without recording")
	} else if got, _ := m.Revoked(ctx, mk(2*bound)); got {
		t.Fatal("Add failed, yet the session is revoked")
	}
	// An account already on the list takes more entries at any size.
	other := mk(0)
	other.ID = "s0-phone"
	if err := m.Add(ctx, sessionRevocation(other)); err != nil {
		t.Fatalf("second logout of a listed account: %v", err)
	}
	now = now.Add(2 * time.Hour)
	if m.full() {
		t.Fatal("still full after every entry expired")
	}

	// End to end: a full default list, a logout, the copied cookie.
	lt, cookies, h := refreshFixture(t, loginOptions{})
	full := newMemoryRevocationsBound(time.Now, 1)
	full.Add(ctx, endedRevocation("a", "someone-else", "", time.Now(), time.Hour))
	lt.auth.s.Revocations = full
	if !full.full() {
		t.Fatal("not full")
	}
	rec := serve(lt.auth.Handler(), "POST", lt.app.URL+"/auth/logout", map[string]string{"Origin": lt.app.URL}, cookies...)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("logout with the list full: %d", rec.Code)
	}
	if rec := call(h, cookies, nil); rec.Code != http.StatusUnauthorized {
		t.Fatalf("copied cookie after a logout with the list full: %d, want 401", rec.Code)
	}
}

// BenchmarkRevoked is the revocation check alone, as Require runs it for a
// session that is not revoked: against an empty list and one with 30,000
// entries (10,000 of each of three shapes).
func BenchmarkRevoked(b *testing.B) {
	now := time.Now()
	s := &session.Session{ID: "s1", SID: "sid-1", Created: now, User: session.User{Provider: "corp", Subject: "ada"}}
	for _, n := range []int{0, 10000} {
		b.Run(fmt.Sprintf("entries-%d", 3*n), func(b *testing.B) {
			m := newMemoryRevocations(func() time.Time { return now })
			for i := 0; i < n; i++ {
				k := fmt.Sprint(i)
				m.Add(context.Background(), session.Revocation{ID: "id-" + k, Provider: "corp", Subject: "sub-" + k, Before: now, Expires: now.Add(time.Hour)})
				m.Add(context.Background(), session.Revocation{Provider: "corp", SID: "sid-x" + k, Before: now, Expires: now.Add(time.Hour)})
				m.Add(context.Background(), session.Revocation{Provider: "corp", Subject: "sub-" + k, Before: now, Expires: now.Add(time.Hour)})
			}
			benchRevoked(b, m, s)
		})
	}
}

// BenchmarkRevokedLargeList is the check against an empty list and one
// with 100,000 entries of other accounts and provider sessions, and with
// the session's own account holding the most per-session entries of
// other sessions (the longest scan).
func BenchmarkRevokedLargeList(b *testing.B) {
	now := time.Now()
	s := &session.Session{ID: "s1", SID: "sid-1", Created: now.Add(-time.Minute), User: session.User{Provider: "corp", Subject: "ada"}}
	for _, tc := range []struct {
		name    string
		entries int
		own     bool
	}{{"empty", 0, false}, {"entries-100000", 100000, false}, {"entries-100000-own-account", 100000, true}} {
		b.Run(tc.name, func(b *testing.B) {
			m := newMemoryRevocations(func() time.Time { return now })
			for i := 0; i < tc.entries; i++ {
				k := fmt.Sprint(i)
				var r session.Revocation
				switch i % 4 {
				case 0:
					r = session.Revocation{ID: "id-" + k, Provider: "corp", Subject: "sub-" + k, Before: now, Expires: now.Add(time.Hour)}
				case 1:
					r = endedRevocation("corp", "", "sid-x"+k, now, time.Hour)
				case 2:
					r = endedRevocation("corp", "sub-"+k, "", now, time.Hour)
				case 3:
					r = endedRevocation("corp", "sub-"+k, "sid-y"+k, now, time.Hour)
				}
				if err := m.Add(context.Background(), r); err != nil {
					b.Fatal(err)
				}
			}
			if tc.own {
				for i := range maxSessionRevocations {
					m.Add(context.Background(), session.Revocation{ID: fmt.Sprint("own-", i), Provider: "corp", Subject: "ada", Before: now, Expires: now.Add(time.Hour)})
				}
			}
			benchRevoked(b, m, s)
		})
	}
}

func benchRevoked(b *testing.B, m *memoryRevocations, s *session.Session) {
	b.ReportAllocs()
	for b.Loop() {
		if revoked, _ := m.Revoked(context.Background(), s); revoked {
			b.Fatal("revoked")
		}
	}
}

// failingRevocations is a RevocationStore that cannot be reached.
type failingRevocations struct{}

func (failingRevocations) Add(context.Context, session.Revocation) error {
	return errors.New("unreachable")
}
func (failingRevocations) Revoked(context.Context, *session.Session) (bool, error) {
	return false, errors.New("unreachable")
}

// TestRevocationStoreOutage: a store that fails refuses the request with
// 503, for browsers and APIs alike, without sending anyone to sign in
// again (which would meet the same outage).
func TestRevocationStoreOutage(t *testing.T) {
	a := newTestAuth(t)
	cookies := signedIn(t, a, nil)
	a.s.Revocations = failingRevocations{}
	h := a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("handler reached") }))
	for _, hdr := range []map[string]string{{"Sec-Fetch-Mode": "navigate", "Accept": "text/html"}, {"Accept": "application/json"}} {
		rec := serve(h, "GET", "https://app.example/reports", hdr, cookies...)
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Location") != "" {
			t.Fatalf("%v: status %d Location %q, want 503 and no redirect", hdr, rec.Code, rec.Header().Get("Location"))
		}
	}
}

// TestRevocationsOneClockRead: with entries in the revocation list, a
// request through Require still reads the clock once; the list checks at
// the request's reading, and an entry expired by then is not seen.
func TestRevocationsOneClockRead(t *testing.T) {
	a := newTestAuth(t)
	if err := a.EndSessions(t.Context(), "dev", "grace"); err != nil {
		t.Fatal(err)
	}
	cookies := signedIn(t, a, nil)
	var reads int
	a.now = func() time.Time { reads++; return time.Now() }
	defer func() { a.now = time.Now }()
	h := a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	r := httptest.NewRequest("GET", "https://app.example/", nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK || reads != 1 {
		t.Fatalf("status %d, %d clock reads, want 200 and 1", rec.Code, reads)
	}

	now, checking := time.Now(), false
	m := newMemoryRevocations(func() time.Time {
		if checking {
			t.Fatal("the list read its own clock")
		}
		return now
	})
	s := &session.Session{ID: "s1", Created: now.Add(-time.Hour), Expires: now.Add(time.Hour), User: session.User{Provider: "corp", Subject: "ada"}}
	m.list.Put(revocationKey{provider: "corp", subject: "ada"}, &revocationRecord{before: now, expires: now.Add(time.Minute)}, now.Add(time.Minute))
	checking = true
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{{now, true}, {now.Add(time.Minute), false}} {
		if got, err := m.revokedAt(t.Context(), s, tc.at); err != nil || got != tc.want {
			t.Fatalf("revokedAt(%v) = %v, %v, want %v", tc.at.Sub(now), got, err, tc.want)
		}
	}
}
