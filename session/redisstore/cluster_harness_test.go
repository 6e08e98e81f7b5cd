package redisstore

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/internal/clustertest"
	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/providers/devoidc"
	"github.com/portcullis-go/portcullis/session"
	"github.com/redis/go-redis/v9"
)

// The cluster tests run two instances of one application (each its own
// *middleware.Auth and Provider) behind one loopback address
// (internal/clustertest, round robin or X-Instance), sharing one Redis
// through NewShared, with sessions in the middleware's default cookie
// store or in Store. Each test has its own Prefix, whose keys are deleted
// when it ends.

// sessionModes are the two ways a cluster keeps sessions.
var sessionModes = []struct {
	name  string
	redis bool // Store (sessions in Redis); otherwise the default cookie store
}{{"cookie-sessions", false}, {"redis-sessions", true}}

// cluster is a running two-instance application on one Redis.
type cluster struct {
	*clustertest.Cluster
	shared *Shared
	store  *Store // nil with the default cookie store
	direct *redis.Client
	prefix string
	gate   *tokenGate
	loads  atomic.Int64 // sessions read from Store by the instances
}

type clusterConfig struct {
	// n is the number of instances. Default 2.
	n             int
	redisSessions bool
	// app is the client the instances reach Redis through. Default: a
	// direct one.
	app *redis.Client
	// addr is where the cluster listens. Default 127.0.0.1:0.
	addr string
	// provider makes one instance's provider; hc is its HTTP client
	// (through the cluster's tokenGate).
	provider func(t testing.TB, baseURL string, hc *http.Client) *providers.Provider
	// edit edits instance i's configuration after the defaults of these
	// tests (RefreshBefore 30 minutes).
	edit func(i int, c *middleware.Config)
}

// startCluster starts a cluster; it stops when the test ends, and its keys
// are deleted after that.
func startCluster(t testing.TB, cc clusterConfig) *cluster {
	t.Helper()
	c := &cluster{direct: redisClient(t)}
	c.prefix = testPrefix(t, c.direct)
	app := c.direct
	if cc.app != nil {
		app = cc.app
	}
	var err error
	if c.shared, err = NewShared(context.Background(), SharedConfig{Client: app, Prefix: c.prefix}); err != nil {
		t.Fatal(err)
	}
	var sessions func(int) session.Store
	if cc.redisSessions {
		if c.store, err = New(Config{Client: app, Keys: [][]byte{testKey}, Prefix: c.prefix, InsecureCookies: true}); err != nil {
			t.Fatal(err)
		}
		sessions = func(int) session.Store { return countedStore{c.store, &c.loads} }
	}
	c.gate = &tokenGate{next: http.DefaultTransport}
	hc := &http.Client{Transport: c.gate, Timeout: 30 * time.Second}
	c.Cluster = clustertest.Start(t, clustertest.Config{
		N:    cc.n,
		Addr: cc.addr,
		Provider: func(t testing.TB, baseURL string) *providers.Provider {
			return cc.provider(t, baseURL, hc)
		},
		Shared:   func(int) middleware.SharedState { return c.shared },
		Sessions: sessions,
		Edit: func(i int, mc *middleware.Config) {
			// devoidc's access tokens live 5 minutes and node-oidc-provider's
			// 60 seconds: every request with a token is due for a refresh.
			mc.RefreshBefore = 30 * time.Minute
			if cc.edit != nil {
				cc.edit(i, mc)
			}
		},
	})
	return c
}

// countedStore is Store counting the sessions it has read.
type countedStore struct {
	*Store
	loads *atomic.Int64
}

func (s countedStore) Load(r *http.Request) (*session.Session, error) {
	defer s.loads.Add(1)
	return s.Store.Load(r)
}

// served is the number of requests the instances have received.
func (c *cluster) served() int64 {
	var n int64
	for i := range c.Served {
		n += c.Served[i].Load()
	}
	return n
}

// keys returns the Redis keys under the cluster's prefix and pattern.
func (c *cluster) keys(t testing.TB, pattern string) []string {
	t.Helper()
	ks, err := c.direct.Keys(context.Background(), c.prefix+pattern).Result()
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// logEntries is the number of entries in the shared revocation log.
func (c *cluster) logEntries(t testing.TB) int64 {
	t.Helper()
	n, err := c.direct.ZCard(context.Background(), c.prefix+"{log}entries").Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// signIn signs a new browser in through the cluster, round robin, and
// returns the instances that served the flow and the session cookies.
func (c *cluster) signIn(t *testing.T) ([]string, []*http.Cookie) {
	t.Helper()
	b := clustertest.Browser()
	resp, served := clustertest.Follow(t, b, c.URL+"/private")
	if resp.Status != http.StatusOK || !strings.HasPrefix(resp.Body, "hello ") {
		t.Fatalf("sign-in ended with %d %.200q", resp.Status, resp.Body)
	}
	return served, c.SessionCookies(b)
}

// logout posts a same-origin logout to instance i.
func (c *cluster) logout(t *testing.T, i int, cookies []*http.Cookie) clustertest.Response {
	t.Helper()
	return clustertest.Do(t, http.MethodPost, c.URL+"/auth/logout", i, false, cookies,
		http.Header{"Origin": {c.URL}, "Sec-Fetch-Site": {"same-origin"}})
}

// waitStatus polls /private on instance i with cookies until it answers
// want, for at most 5 seconds (a few SharedStaleness periods). allow lists
// the statuses accepted meanwhile (any other fails the test at once); with
// none, any status is.
func (c *cluster) waitStatus(t *testing.T, i int, cookies []*http.Cookie, want int, what string, allow ...int) clustertest.Response {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := clustertest.Do(t, http.MethodGet, c.URL+"/private", i, true, cookies, nil)
		if r.Status == want {
			return r
		}
		ok := len(allow) == 0
		for _, s := range allow {
			ok = ok || r.Status == s
		}
		if !ok || time.Now().After(deadline) {
			t.Fatalf("%s (instance %d): %d, want %d", what, i, r.Status, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// devOP is one devoidc that every instance of a cluster signs in with. It
// is made when the first instance asks for its provider, once the
// cluster's URL (and so the client's redirect URIs) is known.
type devOP struct {
	ts    *httptest.Server
	users []devoidc.User // nil: the defaults, with AutoLogin "ada"
	op    atomic.Pointer[devoidc.Server]
}

func newDevOP(t testing.TB, users []devoidc.User) *devOP {
	d := &devOP{users: users}
	d.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if op := d.op.Load(); op != nil {
			op.ServeHTTP(w, r)
			return
		}
		http.Error(w, "devoidc not started", http.StatusServiceUnavailable)
	}))
	t.Cleanup(d.ts.Close)
	return d
}

// Stats returns devoidc's counters.
func (d *devOP) Stats() devoidc.Stats { return d.op.Load().Stats() }

func (d *devOP) provider(t testing.TB, baseURL string, hc *http.Client) *providers.Provider {
	t.Helper()
	if d.op.Load() == nil {
		cfg := devoidc.Config{
			Issuer: d.ts.URL,
			Clients: []devoidc.Client{{
				ID: "app", Secret: "app-secret",
				RedirectURIs:           []string{baseURL + "/auth/callback/dev"},
				PostLogoutRedirectURIs: []string{baseURL + "/auth/logout/callback"},
				BackchannelLogoutURI:   baseURL + "/auth/backchannel-logout/dev",
			}},
			Users: d.users,
		}
		if d.users == nil {
			cfg.AutoLogin = "ada"
		}
		op, err := devoidc.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		d.op.Store(op)
	}
	p, err := providers.OIDC(context.Background(), providers.OIDCConfig{
		Name: "dev", Issuer: d.ts.URL, ClientID: "app", ClientSecret: "app-secret", HTTPClient: hc,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// tokenGate is the providers' HTTP transport. It counts the refresh grants
// the instances send to a token endpoint and, while held, keeps them
// waiting: a test can so make sure that every one of its concurrent
// requests has read its session before the first refresh is answered.
type tokenGate struct {
	next      http.RoundTripper
	refreshes atomic.Int64
	mu        sync.Mutex
	held      chan struct{} // closed on release; nil when not held
}

func (g *tokenGate) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPost || r.Body == nil {
		return g.next.RoundTrip(r)
	}
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	if form, _ := url.ParseQuery(string(body)); form.Get("grant_type") == "refresh_token" {
		g.refreshes.Add(1)
		g.mu.Lock()
		held := g.held
		g.mu.Unlock()
		if held != nil {
			select {
			case <-held:
			case <-r.Context().Done():
				return nil, r.Context().Err()
			}
		}
	}
	return g.next.RoundTrip(r2)
}

// hold keeps refresh grants waiting until ready reports true or max has
// passed. The function it returns waits for the release and reports
// whether ready was met.
func (g *tokenGate) hold(ready func() bool, max time.Duration) func() bool {
	held := make(chan struct{})
	g.mu.Lock()
	g.held = held
	g.mu.Unlock()
	met := make(chan bool, 1)
	go func() {
		deadline := time.Now().Add(max)
		ok := ready()
		for !ok && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
			ok = ready()
		}
		g.mu.Lock()
		g.held = nil
		g.mu.Unlock()
		close(held)
		met <- ok
	}()
	return func() bool { return <-met }
}
