package redisstore

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/providers/devoidc"
)

// The load test: many browsers sign in at devoidc through the round robin,
// browse pages (every page a refresh, its two requests at once), and end
// in one of three ways — still signed in, logged out, or signed out
// everywhere by Auth.EndSessions —, which is then checked on both
// instances. Bounded by its size (loadUsers × loadPages), not by time.
const (
	loadUsers    = 100
	loadSubjects = 20 // users per subject: loadUsers / loadSubjects
	loadPages    = 4
	loadWorkers  = 32 // browsers active at once
	// loadHeapLimit is a generous bound on the heap in use after a GC at
	// the end of a run (two instances, devoidc, 200 sessions).
	loadHeapLimit = 256 << 20
)

// TestClusterLoad runs the load on two instances sharing Redis, with cookie
// sessions and with sessions in Redis, and asserts: every response is the
// expected one; devoidc saw no refresh token twice and revoked only the
// grants of the logouts; goroutines come back to their number before the
// run; the heap stays bounded. The figures are logged.
func TestClusterLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("the load test does not run with -short")
	}
	redisClient(t) // skips without Redis
	for _, m := range sessionModes {
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		before := runtime.NumGoroutine()
		t.Run(m.name, func(t *testing.T) { runLoad(t, m.redis) })
		// The run's servers, clients and Redis connections are closed by
		// its cleanups; the goroutines that served them end shortly after.
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		deadline := time.Now().Add(10 * time.Second)
		after := runtime.NumGoroutine()
		for after > before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			after = runtime.NumGoroutine()
		}
		t.Logf("%s: goroutines %d before, %d after", m.name, before, after)
		if after > before {
			buf := make([]byte, 1<<20)
			t.Fatalf("%s: %d goroutines 10 s after the run, %d before:\n%s", m.name, after, before, buf[:runtime.Stack(buf, true)])
		}
	}
}

// loadUser is one browser of the load test.
type loadUser struct {
	i, subject int
	client     *http.Client   // with its own cookie jar
	logout     bool           // logs out at the end of its pages
	copied     []*http.Cookie // its session cookies before the logout
}

func (u *loadUser) name() string { return fmt.Sprintf("u%02d", u.subject) }

// endedEverywhere: the subjects whose sessions Auth.EndSessions ends.
func endedEverywhere(subject int) bool { return subject%5 == 4 }

// loadRun is the state of one run shared by its browsers.
type loadRun struct {
	c         *cluster
	op        *devOP
	tr        *http.Transport
	requests  atomic.Int64
	mu        sync.Mutex
	latencies []time.Duration
	errs      []string
}

func runLoad(t *testing.T, redisSessions bool) {
	var users []devoidc.User
	for s := range loadSubjects {
		users = append(users, devoidc.User{Subject: fmt.Sprintf("u%02d", s), Name: fmt.Sprintf("User %02d", s),
			Email: fmt.Sprintf("u%02d@example.com", s), EmailVerified: true})
	}
	op := newDevOP(t, users)
	c := startCluster(t, clusterConfig{redisSessions: redisSessions, provider: op.provider,
		edit: func(i int, mc *middleware.Config) {
			mc.LoginRateLimit = middleware.RateLimit{Off: true} // every browser is 127.0.0.1
		}})
	run := &loadRun{c: c, op: op, tr: &http.Transport{MaxIdleConnsPerHost: loadWorkers * 2, IdleConnTimeout: 10 * time.Second}}
	t.Cleanup(run.tr.CloseIdleConnections)

	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	defer func() { close(stop); <-sampled }()

	start := time.Now()
	base := op.Stats()
	all := make([]*loadUser, loadUsers)
	for i := range all {
		jar, _ := cookiejar.New(nil)
		all[i] = &loadUser{i: i, subject: i % loadSubjects, logout: i%4 == 1,
			client: &http.Client{Transport: run.tr, Jar: jar, Timeout: 30 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	}
	run.each(all, run.browse)
	// Sign out everywhere, half from each instance.
	for s := range loadSubjects {
		if endedEverywhere(s) {
			if err := c.Auths[s%2].EndSessions(context.Background(), "dev", fmt.Sprintf("u%02d", s)); err != nil {
				t.Fatal(err)
			}
		}
	}
	run.each(all, run.check)
	elapsed := time.Since(start)

	logouts := 0
	for _, u := range all {
		if u.logout {
			logouts++
		}
	}
	// Logouts revoke the refresh token at devoidc in the background.
	deadline := time.Now().Add(10 * time.Second)
	for op.Stats().Revocations-base.Revocations < logouts && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	st := op.Stats()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)

	run.mu.Lock()
	defer run.mu.Unlock()
	for i, e := range run.errs {
		if i == 10 {
			t.Errorf("… %d more", len(run.errs)-10)
			break
		}
		t.Error(e)
	}
	if len(run.errs) > 0 {
		t.Fatalf("%d unexpected responses of %d requests", len(run.errs), run.requests.Load())
	}
	if st.RefreshReuses != 0 || st.GrantsRevoked-base.GrantsRevoked != logouts || st.Revocations-base.Revocations != logouts {
		t.Fatalf("devoidc: %+v; want no reuse and one revoked grant per logout (%d)", st, logouts)
	}
	if st.Refreshes-base.Refreshes < loadUsers*loadPages {
		t.Fatalf("%d refreshes for %d pages: not every page refreshed", st.Refreshes-base.Refreshes, loadUsers*loadPages)
	}
	if ms.HeapInuse > loadHeapLimit {
		t.Fatalf("heap in use after the run and a GC: %d MiB, over %d MiB", ms.HeapInuse>>20, loadHeapLimit>>20)
	}
	slices.Sort(run.latencies)
	pct := func(p float64) time.Duration { return run.latencies[int(p*float64(len(run.latencies)-1))] }
	n := run.requests.Load()
	t.Logf("load: %d users (%d subjects), %d pages each, %d at once, two instances: %d requests in %v (%.0f/s); "+
		"%d sign-ins, %d refreshes, %d logouts, %d signed out everywhere; latency p50 %v p99 %v max %v; "+
		"heap in use: peak %d MiB, after GC %d MiB",
		loadUsers, loadSubjects, loadPages, loadWorkers, n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(),
		st.CodeExchanges-base.CodeExchanges, st.Refreshes-base.Refreshes, logouts, countEndedEverywhere(all),
		pct(0.5).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), run.latencies[len(run.latencies)-1].Round(time.Microsecond),
		peak.Load()>>20, ms.HeapInuse>>20)
}

func countEndedEverywhere(all []*loadUser) int {
	n := 0
	for _, u := range all {
		if endedEverywhere(u.subject) {
			n++
		}
	}
	return n
}

// each runs f for every user, loadWorkers at a time.
func (run *loadRun) each(all []*loadUser, f func(*loadUser) error) {
	work := make(chan *loadUser)
	var wg sync.WaitGroup
	for range loadWorkers {
		wg.Go(func() {
			for u := range work {
				if err := f(u); err != nil {
					run.fail("user %d (%s): %v", u.i, u.name(), err)
				}
			}
		})
	}
	for _, u := range all {
		work <- u
	}
	close(work)
	wg.Wait()
}

func (run *loadRun) fail(format string, args ...any) {
	run.mu.Lock()
	defer run.mu.Unlock()
	run.errs = append(run.errs, fmt.Sprintf(format, args...))
}

// send sends req with u's browser (or, with cookies, with exactly those
// and no jar) and returns the status and body; requests to the cluster are
// counted and timed.
func (run *loadRun) send(u *loadUser, req *http.Request, cookies []*http.Cookie) (int, string, *http.Response, error) {
	client := u.client
	if cookies != nil {
		client = &http.Client{Transport: run.tr, Timeout: u.client.Timeout, CheckRedirect: u.client.CheckRedirect}
		for _, ck := range cookies {
			req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
		}
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.HasPrefix(req.URL.String(), run.c.URL) {
		d := time.Since(start)
		run.requests.Add(1)
		run.mu.Lock()
		run.latencies = append(run.latencies, d)
		run.mu.Unlock()
	}
	return resp.StatusCode, string(body), resp, err
}

// get is a fetch of path on instance i (-1: round robin) wanting JSON,
// with u's browser or, with cookies, with exactly those.
func (run *loadRun) get(u *loadUser, path string, i int, cookies []*http.Cookie) (int, string, error) {
	req, _ := http.NewRequest(http.MethodGet, run.c.URL+path, nil)
	req.Header.Set("Accept", "application/json")
	if i >= 0 {
		req.Header.Set("X-Instance", strconv.Itoa(i))
	}
	code, body, _, err := run.send(u, req, cookies)
	return code, body, err
}

var (
	formAction  = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
	formHidden  = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	errNoSignIn = errors.New("no devoidc sign-in page")
)

// signIn walks the sign-in: the protected page, the login, devoidc's
// sign-in page (choosing u's subject), the callback, the page again.
func (run *loadRun) signIn(u *loadUser) error {
	target := run.c.URL + "/private"
	var method string
	var form url.Values
	for range 12 {
		var req *http.Request
		if form != nil {
			req, _ = http.NewRequest(method, target, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", run.op.ts.URL)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			form = nil
		} else {
			req, _ = http.NewRequest(http.MethodGet, target, nil)
		}
		req.Header.Set("Accept", "text/html")
		code, body, resp, err := run.send(u, req, nil)
		switch {
		case err != nil:
			return err
		case code >= 300 && code < 400:
			loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
			if err != nil {
				return err
			}
			target = loc.String()
		case code == http.StatusOK && strings.HasPrefix(target, run.op.ts.URL):
			action := formAction.FindStringSubmatch(body)
			if action == nil {
				return errNoSignIn
			}
			form = url.Values{"subject": {u.name()}}
			for _, h := range formHidden.FindAllStringSubmatch(body, -1) {
				form.Set(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
			}
			method, target = http.MethodPost, html.UnescapeString(action[1])
		case code == http.StatusOK && body == "hello "+u.name():
			return nil
		default:
			return fmt.Errorf("sign-in: %s → %d %.100q", target, code, body)
		}
	}
	return errors.New("sign-in: too many steps")
}

// browse signs u in, reads loadPages pages (each two requests at once, one
// refresh), and logs out if u.logout.
func (run *loadRun) browse(u *loadUser) error {
	if err := run.signIn(u); err != nil {
		return err
	}
	prev := ""
	for p := range loadPages {
		var wg sync.WaitGroup
		var codes [2]int
		var bodies [2]string
		var errs [2]error
		for k, path := range []string{"/private", "/token"} {
			wg.Go(func() { codes[k], bodies[k], errs[k] = run.get(u, path, -1, nil) })
		}
		wg.Wait()
		if err := errors.Join(errs[:]...); err != nil {
			return fmt.Errorf("page %d: %w", p, err)
		}
		if codes != [2]int{200, 200} || bodies[0] != "hello "+u.name() || bodies[1] == "" || bodies[1] == prev {
			return fmt.Errorf("page %d: %v %.80q, new token %v", p, codes, bodies[0], bodies[1] != prev)
		}
		prev = bodies[1]
	}
	if !u.logout {
		return nil
	}
	u.copied = run.cookies(u)
	req, _ := http.NewRequest(http.MethodPost, run.c.URL+"/auth/logout", nil)
	req.Header.Set("Origin", run.c.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	code, _, resp, err := run.send(u, req, nil)
	if err != nil || code != http.StatusSeeOther {
		return fmt.Errorf("logout: %d %v", code, err)
	}
	if len(run.cookies(u)) != 0 {
		return fmt.Errorf("logout left session cookies in the browser: %v; set %q", run.cookies(u), resp.Header.Values("Set-Cookie"))
	}
	return nil
}

// check asks both instances for u's page: with its browser, 200; for a
// session that ended, with a copy of its cookies (a 401 clears the
// browser's), 401 — within a few SharedStaleness periods on the instance
// that did not end it.
func (run *loadRun) check(u *loadUser) error {
	want, copied := http.StatusOK, []*http.Cookie(nil)
	switch {
	case u.logout:
		want, copied = http.StatusUnauthorized, u.copied
	case endedEverywhere(u.subject):
		want, copied = http.StatusUnauthorized, run.cookies(u)
	}
	if want == http.StatusUnauthorized && len(copied) == 0 {
		return errors.New("no session cookies to check")
	}
	for i := range 2 {
		deadline := time.Now().Add(5 * time.Second)
		for {
			code, body, err := run.get(u, "/private", i, copied)
			if err != nil {
				return err
			}
			if code == want {
				break
			}
			if want == http.StatusOK || code != http.StatusOK || time.Now().After(deadline) {
				return fmt.Errorf("instance %d at the end: %d %.80q, want %d", i, code, body, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// cookies returns the session cookies u's browser holds for the cluster
// (not the login and logout flows').
func (run *loadRun) cookies(u *loadUser) []*http.Cookie {
	var cs []*http.Cookie
	for _, ck := range u.client.Jar.Cookies(mustURL(run.c.URL)) {
		if strings.Contains(ck.Name, "portcullis") && !strings.Contains(ck.Name, "flow") && !strings.Contains(ck.Name, "logout") {
			cs = append(cs, ck)
		}
	}
	return cs
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
