package middleware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/oidctest"
	"github.com/portcullis-go/portcullis/middleware/policy"
	"github.com/portcullis-go/portcullis/session"
)

// eventRecorder is an Observer that keeps every event, for assertions.
type eventRecorder struct {
	mu     sync.Mutex
	events []Event
}

func (o *eventRecorder) Observe(_ context.Context, e Event) {
	o.mu.Lock()
	o.events = append(o.events, e)
	o.mu.Unlock()
}

// len returns how many events were observed: a mark for since.
func (o *eventRecorder) len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.events)
}

// since returns the events observed after mark.
func (o *eventRecorder) since(mark int) []Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Event(nil), o.events[mark:]...)
}

// kinds returns the kinds of events, for messages.
func kinds(events []Event) string {
	var ks []string
	for _, e := range events {
		ks = append(ks, fmt.Sprintf("%s(%s)", e.Kind, e.Reason))
	}
	return "[" + strings.Join(ks, " ") + "]"
}

// checkEvents asserts that got are exactly want, in order.
func checkEvents(t testing.TB, got []Event, want ...Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("events %s, want %s", kinds(got), kinds(want))
		return
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// logHas reports whether one line of logs has every one of the
// attributes kv ("key=value").
func logHas(logs string, kv ...string) bool {
	for _, line := range strings.Split(logs, "\n") {
		ok := true
		for _, a := range kv {
			if !strings.Contains(line+" ", " "+a+" ") {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// eventAttrs are the log attributes an event's record must have.
func eventAttrs(e Event) []string {
	var kv []string
	for _, a := range e.attrs() {
		kv = append(kv, a.Key+"="+a.Value.String())
	}
	return kv
}

// checkLogged asserts that logs hold, for each event, a record at its
// level with its message and its attributes under the stable names.
func checkLogged(t testing.TB, logs string, events ...Event) {
	t.Helper()
	for _, e := range events {
		level, msg := e.Kind.record()
		kv := append([]string{"level=" + level.String(), "msg=" + strconv.Quote(msg)}, eventAttrs(e)...)
		if !logHas(logs, kv...) {
			t.Errorf("no log record %v in:\n%s", kv, logs)
		}
	}
}

// checkObserved asserts that the events observed since mark are exactly
// want, and that each was logged.
func checkObserved(t testing.TB, lt *loginTest, mark int, want ...Event) {
	t.Helper()
	got := lt.events.since(mark)
	checkEvents(t, got, want...)
	checkLogged(t, lt.logs.String(), want...)
}

// signIn signs lt's browser in with provider "a" and returns the
// session.
func (lt *loginTest) signIn() *session.Session {
	lt.t.Helper()
	if r := lt.get(lt.start("a").String()); r.StatusCode != http.StatusSeeOther {
		lt.t.Fatalf("login: status %d", r.StatusCode)
	}
	s, err := lt.auth.Session(lt.requestWithJar())
	if err != nil {
		lt.t.Fatal(err)
	}
	return s
}

// adaRef is the user reference of the mock provider's user at provider
// "a".
var adaRef = UserRef(&session.User{Provider: "a", Subject: oidctest.Subject})

// TestEventAttributeNames pins the stable names: an event with every field
// set is logged with exactly these attributes, in this order.
func TestEventAttributeNames(t *testing.T) {
	e := Event{Kind: EventLoginFailed, Provider: "p", Reason: "r", Logout: "l", Error: "access_denied", User: "u_1", Status: 401}
	want := []string{"event=login_failed", "provider=p", "reason=r", "logout=l", "error=access_denied", "user=u_1", "status=401"}
	if got := eventAttrs(e); !slices.Equal(got, want) {
		t.Fatalf("attributes %v, want %v", got, want)
	}
	if got := eventAttrs(Event{Kind: EventLogin}); !slices.Equal(got, []string{"event=login"}) {
		t.Fatalf("empty fields are left out: %v", got)
	}
}

// TestEventKinds: every kind has its own message, and its level says how
// much it matters (only store failures are errors).
func TestEventKinds(t *testing.T) {
	kinds := []EventKind{EventLoginStarted, EventLogin, EventLoginFailed, EventStateInvalid, EventCSRFFailed,
		EventRateLimited, EventPolicyDenied, EventRefresh, EventRefreshCoalesced, EventRefreshFailed,
		EventSessionEnded, EventLogout, EventLogoutRefused, EventBearerRefused, EventStoreError}
	seen := map[string]EventKind{}
	for _, k := range kinds {
		level, msg := k.record()
		if msg == "portcullis: event" || seen[msg] != "" {
			t.Errorf("%s: message %q is not its own", k, msg)
		}
		seen[msg] = k
		if (level == slog.LevelError) != (k == EventStoreError) {
			t.Errorf("%s: level %v", k, level)
		}
	}
	if level, msg := EventKind("other").record(); level != slog.LevelError || msg != "portcullis: event" {
		t.Errorf("an unknown kind: %v %q", level, msg)
	}
}

// TestEventsOfALogin: starting a login, finishing it, and replaying its
// callback each emit one event.
func TestEventsOfALogin(t *testing.T) {
	lt := newLoginTest(t, loginOptions{})
	mark := lt.events.len()
	cb := lt.start("a")
	checkObserved(t, lt, mark, Event{Kind: EventLoginStarted, Provider: "a", Status: http.StatusFound})

	mark = lt.events.len()
	if r := lt.get(cb.String()); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: %d", r.StatusCode)
	}
	checkObserved(t, lt, mark, Event{Kind: EventLogin, Provider: "a", User: adaRef, Status: http.StatusSeeOther})

	mark = lt.events.len()
	if r := lt.get(cb.String()); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("replayed callback: %d", r.StatusCode)
	}
	checkObserved(t, lt, mark, Event{Kind: EventStateInvalid, Provider: "a", Reason: "state_mismatch", Status: http.StatusBadRequest})
}

// TestEventsOfFailedLogins: a provider's error, a refused code exchange,
// a callback at an unknown provider and a refusal by SignInPolicy each
// emit one event with the reason, and the provider's error code only when
// it is a registered one.
func TestEventsOfFailedLogins(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  loginOptions
		setup func(lt *loginTest)
		edit  func(cb *url.URL)
		want  Event
	}{
		{name: "provider error", setup: func(lt *loginTest) {
			lt.op.Authorize = func(q url.Values) url.Values {
				return url.Values{"error": {"access_denied"}, "error_description": {"the user said no"}, "state": q["state"], "iss": q["iss"]}
			}
		}, want: Event{Kind: EventLoginFailed, Provider: "a", Reason: "provider_error", Error: "access_denied", Status: http.StatusUnauthorized}},
		{name: "unregistered error code", setup: func(lt *loginTest) {
			lt.op.Authorize = func(q url.Values) url.Values {
				return url.Values{"error": {"made_up_" + xss}, "state": q["state"], "iss": q["iss"]}
			}
		}, want: Event{Kind: EventLoginFailed, Provider: "a", Reason: "provider_error", Status: http.StatusUnauthorized}},
		{name: "code refused", setup: func(lt *loginTest) {
			lt.op.TokenResponse = func(w http.ResponseWriter, _ *http.Request) bool {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"error":"invalid_grant"}`)
				return true
			}
		}, want: Event{Kind: EventLoginFailed, Provider: "a", Reason: "code_exchange_refused", Error: "invalid_grant", Status: http.StatusUnauthorized}},
		{name: "unknown provider in the path", edit: func(cb *url.URL) { cb.Path = "/auth/callback/nosuch" },
			want: Event{Kind: EventStateInvalid, Reason: "provider_mismatch", Status: http.StatusBadRequest}},
		{name: "sign-in policy", opts: loginOptions{config: func(c *Config) { c.SignInPolicy = policy.EmailDomains("acme.example") }},
			want: Event{Kind: EventPolicyDenied, Provider: "a", Reason: "sign_in_policy", Status: http.StatusForbidden}},
		{name: "revocation list full", setup: func(lt *loginTest) { lt.auth.s.Revocations = fullRevocations{} },
			want: Event{Kind: EventStoreError, Provider: "a", Reason: "revocation_list_full", Status: http.StatusServiceUnavailable}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lt := newLoginTest(t, tc.opts)
			if tc.setup != nil {
				tc.setup(lt)
			}
			cb := lt.start("a")
			if tc.edit != nil {
				tc.edit(cb)
			}
			mark := lt.events.len()
			if r := lt.get(cb.String()); r.StatusCode != tc.want.Status {
				t.Fatalf("callback: %d, want %d", r.StatusCode, tc.want.Status)
			}
			checkObserved(t, lt, mark, tc.want)
		})
	}
}

// fullRevocations is a revocation list that says it is full.
type fullRevocations struct{ addFailingRevocations }

func (fullRevocations) full() bool { return true }

// TestEventRateLimited: the request over the limit emits rate_limited with
// the provider it asked for; the ones under it their own events.
func TestEventRateLimited(t *testing.T) {
	lt := newLoginTest(t, loginOptions{config: func(c *Config) { c.LoginRateLimit = RateLimit{Burst: 1, Every: time.Hour} }})
	mark := lt.events.len()
	lt.get(lt.app.URL + "/auth/login/a")
	if r := lt.get(lt.app.URL + "/auth/login/a"); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("second login: %d", r.StatusCode)
	}
	if r := lt.get(lt.app.URL + "/auth/login/nosuch"); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third login: %d", r.StatusCode)
	}
	checkObserved(t, lt, mark,
		Event{Kind: EventLoginStarted, Provider: "a", Status: http.StatusFound},
		Event{Kind: EventRateLimited, Provider: "a", Reason: "rate_limited", Status: http.StatusTooManyRequests},
		Event{Kind: EventRateLimited, Reason: "rate_limited", Status: http.StatusTooManyRequests})
}

// TestEventPolicyDenied: a route's policy refusing a signed-in user emits
// policy_denied with the provider and the user.
func TestEventPolicyDenied(t *testing.T) {
	lt := newLoginTest(t, loginOptions{})
	lt.signIn()
	h := lt.auth.RequireWith(policy.EmailDomains("acme.example"))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("the policy let the user through")
	}))
	mark := lt.events.len()
	if rec := call(h, lt.jar.Cookies(lt.appURL), nil); rec.Code != http.StatusForbidden {
		t.Fatalf("status %d", rec.Code)
	}
	checkObserved(t, lt, mark, Event{Kind: EventPolicyDenied, Provider: "a", Reason: "policy_denied", User: adaRef, Status: http.StatusForbidden})
}

// TestEventsOfRefresh: a refresh that calls the provider emits refresh; a
// request still carrying the old cookie gets the tokens from the memo and
// emits refresh_coalesced; refusals and outages emit refresh_failed.
func TestEventsOfRefresh(t *testing.T) {
	t.Run("refresh and coalesced", func(t *testing.T) {
		lt, cookies, h := refreshFixture(t, loginOptions{})
		later(lt.auth, dueButValid)
		mark := lt.events.len()
		for range 2 { // the same (old) cookie twice
			if rec := call(h, cookies, nil); rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
		}
		checkObserved(t, lt, mark,
			Event{Kind: EventRefresh, Provider: "a", User: adaRef},
			Event{Kind: EventRefreshCoalesced, Provider: "a", User: adaRef})
	})
	t.Run("concurrent requests share one call", func(t *testing.T) {
		lt, cookies, h := refreshFixture(t, loginOptions{})
		release := make(chan struct{})
		lt.op.TokenResponse = func(http.ResponseWriter, *http.Request) bool {
			<-release // hold the call until every request waits on it
			return false
		}
		later(lt.auth, dueButValid)
		mark := lt.events.len()
		const n = 5
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() { call(h, cookies, nil) })
		}
		// Let the others join the call in progress; one that came later
		// would get its answer from the memo: coalesced all the same.
		time.Sleep(100 * time.Millisecond)
		close(release)
		wg.Wait()
		got := lt.events.since(mark)
		count := map[EventKind]int{}
		for _, e := range got {
			count[e.Kind]++
		}
		if count[EventRefresh] != 1 || count[EventRefreshCoalesced] != n-1 || len(got) != n {
			t.Fatalf("events %s, want one refresh and %d refresh_coalesced", kinds(got), n-1)
		}
		checkLogged(t, lt.logs.String(), Event{Kind: EventRefreshCoalesced, Provider: "a", User: adaRef})
	})
	t.Run("denied", func(t *testing.T) {
		lt, cookies, h := refreshFixture(t, loginOptions{})
		lt.op.TokenResponse = func(w http.ResponseWriter, _ *http.Request) bool {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"invalid_grant"}`)
			return true
		}
		later(lt.auth, dueButValid)
		mark := lt.events.len()
		if rec := call(h, cookies, nil); rec.Code != http.StatusUnauthorized {
			t.Fatalf("status %d", rec.Code)
		}
		checkObserved(t, lt, mark, Event{Kind: EventRefreshFailed, Provider: "a", Reason: "refresh_denied", User: adaRef})
	})
	t.Run("provider down", func(t *testing.T) {
		lt, cookies, h := refreshFixture(t, loginOptions{})
		lt.op.Close()
		later(lt.auth, expired)
		mark := lt.events.len()
		if rec := call(h, cookies, nil); rec.Code != http.StatusBadGateway {
			t.Fatalf("status %d", rec.Code)
		}
		if rec := call(h, cookies, nil); rec.Code != http.StatusBadGateway {
			t.Fatalf("status %d", rec.Code)
		}
		checkObserved(t, lt, mark,
			Event{Kind: EventRefreshFailed, Provider: "a", Reason: "refresh_unavailable", User: adaRef},
			Event{Kind: EventRefreshFailed, Provider: "a", Reason: "refresh_backoff", User: adaRef})
	})
	t.Run("OnRefresh refuses", func(t *testing.T) {
		lt, cookies, h := refreshFixture(t, loginOptions{config: func(c *Config) {
			c.OnRefresh = func(context.Context, *session.Session) error { return errors.New("disabled") }
		}})
		later(lt.auth, dueButValid)
		mark := lt.events.len()
		if rec := call(h, cookies, nil); rec.Code != http.StatusUnauthorized {
			t.Fatalf("status %d", rec.Code)
		}
		checkObserved(t, lt, mark, Event{Kind: EventRefreshFailed, Provider: "a", Reason: "on_refresh_refused", User: adaRef})
	})
}

// TestEventSessionEnded: with RequireToken, a session whose token expired
// without a refresh token ends with session_ended.
func TestEventSessionEnded(t *testing.T) {
	lt, _, h := refreshFixture(t, loginOptions{config: func(c *Config) { c.RequireToken = true }})
	lt.op.Token = func(body map[string]any) { delete(body, "refresh_token") }
	lt.jar, _ = cookiejar.New(nil)
	lt.client.Jar = lt.jar
	lt.signIn()
	later(lt.auth, expired)
	mark := lt.events.len()
	if rec := call(h, lt.jar.Cookies(lt.appURL), nil); rec.Code != http.StatusUnauthorized {
		t.Fatalf("status %d", rec.Code)
	}
	checkObserved(t, lt, mark, Event{Kind: EventSessionEnded, Provider: "a", Reason: "token_expired", User: adaRef})
}

// TestEventsOfLogout: a local logout, a refused cross-origin one, a return
// from the provider with a forged state, EndSessions and a failed
// revocation each emit one event.
func TestEventsOfLogout(t *testing.T) {
	lt := newLoginTest(t, loginOptions{})
	lt.signIn()
	cookies := lt.jar.Cookies(lt.appURL)
	logout := func(origin string) *httptest.ResponseRecorder {
		return serve(lt.auth.Handler(), "POST", lt.app.URL+"/auth/logout", map[string]string{"Origin": origin}, cookies...)
	}
	mark := lt.events.len()
	if rec := logout("https://evil.example"); rec.Code != http.StatusForbidden {
		t.Fatalf("cross-origin logout: %d", rec.Code)
	}
	checkObserved(t, lt, mark, Event{Kind: EventCSRFFailed, Reason: "cross_origin", Logout: "local", Status: http.StatusForbidden})

	mark = lt.events.len()
	if rec := logout(lt.app.URL); rec.Code != http.StatusSeeOther {
		t.Fatalf("logout: %d", rec.Code)
	}
	lt.auth.background.Wait()
	checkObserved(t, lt, mark, Event{Kind: EventLogout, Provider: "a", Logout: "local", User: adaRef, Status: http.StatusSeeOther})

	mark = lt.events.len()
	if r := lt.get(lt.app.URL + "/auth/logout/callback?state=forged"); r.StatusCode != http.StatusOK {
		t.Fatalf("logout return: %d", r.StatusCode)
	}
	checkObserved(t, lt, mark, Event{Kind: EventStateInvalid, Reason: "logout_state_mismatch", Status: http.StatusOK})

	mark = lt.events.len()
	if err := lt.auth.EndSessions(context.Background(), "a", oidctest.Subject); err != nil {
		t.Fatal(err)
	}
	checkObserved(t, lt, mark, Event{Kind: EventLogout, Provider: "a", Logout: "everywhere", User: adaRef})

	lt.auth.s.Revocations = addFailingRevocations{}
	mark = lt.events.len()
	if err := lt.auth.EndSessions(context.Background(), "a", oidctest.Subject); !errors.Is(err, ErrStoreUnavailable) {
		t.Fatalf("EndSessions: %v", err)
	}
	checkObserved(t, lt, mark, Event{Kind: EventStoreError, Provider: "a", Reason: "revocation_store", Logout: "everywhere"})
}

// TestEventsOfBackchannelLogout: an accepted logout token emits logout
// (backchannel) with the token's user; a replayed one logout_refused.
func TestEventsOfBackchannelLogout(t *testing.T) {
	bt := newBCLTest(t)
	bt.login(oidctest.Subject, "sid-1")
	tok := bt.token(nil)
	mark := bt.events.len()
	if r := bt.postToken(tok); r.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d", r.StatusCode)
	}
	if r := bt.postToken(tok); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("replay: %d", r.StatusCode)
	}
	if r := bt.post("POST", "/auth/backchannel-logout/nosuch", formType, "logout_token="+tok); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown provider: %d", r.StatusCode)
	}
	checkObserved(t, bt.loginTest, mark,
		Event{Kind: EventLogout, Provider: "a", Logout: "backchannel", User: adaRef, Status: http.StatusOK},
		Event{Kind: EventLogoutRefused, Provider: "a", Reason: "replayed_jti", Logout: "backchannel", Status: http.StatusBadRequest},
		Event{Kind: EventLogoutRefused, Reason: "unknown_provider", Logout: "backchannel", Status: http.StatusBadRequest})
}

// TestEventStoreError: a session store that fails emits store_error, once
// per request, for a protected route and for a logout.
func TestEventStoreError(t *testing.T) {
	lt := newLoginTest(t, loginOptions{config: func(c *Config) { c.Sessions = failingStore{} }})
	h := lt.auth.Require(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("no session, yet let through") }))
	mark := lt.events.len()
	if rec := call(h, nil, nil); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("protected route: %d", rec.Code)
	}
	if rec := serve(lt.auth.Handler(), "POST", lt.app.URL+"/auth/logout", map[string]string{"Origin": lt.app.URL}); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("logout: %d", rec.Code)
	}
	checkObserved(t, lt, mark,
		Event{Kind: EventStoreError, Reason: "session_store", Status: http.StatusServiceUnavailable},
		Event{Kind: EventStoreError, Reason: "session_store", Logout: "local", Status: http.StatusServiceUnavailable})
}

// TestEventBearerRefused: an invalid bearer token emits bearer_refused; a
// valid one the route's policy refuses, policy_denied with the token's
// user.
func TestEventBearerRefused(t *testing.T) {
	e := newBearerEnv(t, true, policy.AllOf(policy.Providers("dev"), policy.Scopes("reports:write")))
	mark := e.events.len()
	if resp, _ := e.call("Bearer not-a-token", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("invalid token: %d", resp.StatusCode)
	}
	if resp, _ := e.call("Bearer "+e.token("reports:read"), nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("insufficient scope: %d", resp.StatusCode)
	}
	got := e.events.since(mark)
	want := []Event{
		{Kind: EventBearerRefused, Provider: "dev", Reason: reasonOfEvent(got, 0), Status: http.StatusUnauthorized},
		{Kind: EventPolicyDenied, Provider: "dev", Reason: "insufficient_scope", User: UserRef(&session.User{Provider: "dev", Subject: "app"}), Status: http.StatusForbidden},
	}
	checkEvents(t, got, want...)
	checkLogged(t, e.logs.String(), want...)
	if want[0].Reason == "" {
		t.Error("the refusal has no reason")
	}
}

// reasonOfEvent is the reason of events[i], or "".
func reasonOfEvent(events []Event, i int) string {
	if i < len(events) {
		return events[i].Reason
	}
	return ""
}

// panickingObserver panics on every event.
type panickingObserver struct{}

func (panickingObserver) Observe(context.Context, Event) { panic("observer bug") }

// TestObserverPanicRecovered: an Observer that panics breaks neither a
// sign-in nor the background revocation after a logout; the panic is
// logged.
func TestObserverPanicRecovered(t *testing.T) {
	lt := newLoginTest(t, loginOptions{config: func(c *Config) { c.Observer = panickingObserver{} }})
	lt.signIn()
	if r := lt.get(lt.app.URL + "/private"); r.StatusCode != http.StatusOK {
		t.Fatalf("protected page: %d", r.StatusCode)
	}
	if !logHas(lt.logs.String(), "level=ERROR", `msg="portcullis: Observer panicked"`, "event=login", `panic="observer bug"`) {
		t.Fatalf("the panic is not logged:\n%s", lt.logs)
	}
}

// TestEventProviderIsConfigured: emit drops a provider name that is not
// configured, whoever passed it.
func TestEventProviderIsConfigured(t *testing.T) {
	lt := newLoginTest(t, loginOptions{})
	mark := lt.events.len()
	lt.auth.emit(context.Background(), Event{Kind: EventLoginFailed, Provider: "attacker-chosen", Reason: "r"})
	checkObserved(t, lt, mark, Event{Kind: EventLoginFailed, Reason: "r"})
}
