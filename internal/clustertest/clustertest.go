// Package clustertest runs several instances of one application — each its
// own *middleware.Auth with its own Provider, sharing keys, a
// middleware.SharedState and optionally a session store — behind one
// loopback address, as a load balancer would, for tests of what instances
// must agree on. It is not public API.
//
// A request goes to the instance named by its X-Instance header, or round
// robin when it has none; every response says which instance served it in
// X-Served-By. Each instance serves:
//
//	/auth/...   its Handler
//	/token      behind Require: the access token
//	/private    behind Require: "hello " and the subject
//	/           "home" (public)
package clustertest

import (
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/session"
)

// Config describes a cluster.
type Config struct {
	// N is the number of instances. Default 2.
	N int
	// Addr is the loopback address to listen on. Default "127.0.0.1:0".
	Addr string
	// Provider returns the provider of one instance; each instance gets
	// its own. baseURL is the cluster's URL. Required.
	Provider func(t testing.TB, baseURL string) *providers.Provider
	// Shared returns the shared state of instance i (usually the same
	// value for all). Nil: none (each instance on its own).
	Shared func(i int) middleware.SharedState
	// Sessions returns the session store of instance i. Nil: the default
	// cookie store.
	Sessions func(i int) session.Store
	// Edit edits instance i's configuration last.
	Edit func(i int, c *middleware.Config)
}

// Keys are the keys every instance uses.
var Keys = [][]byte{[]byte("clustertest-key-0123456789abcdef")}

// Cluster is a running cluster.
type Cluster struct {
	URL   string
	Auths []*middleware.Auth
	// Served counts the requests each instance served.
	Served []atomic.Int64
	next   atomic.Uint64
}

// Start starts the cluster; it stops when the test ends.
func Start(t testing.TB, cfg Config) *Cluster {
	t.Helper()
	if cfg.N == 0 {
		cfg.N = 2
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		t.Fatalf("clustertest: listen on %s: %v", cfg.Addr, err)
	}
	c := &Cluster{URL: "http://" + ln.Addr().String(), Served: make([]atomic.Int64, cfg.N)}
	handlers := make([]http.Handler, cfg.N)
	for i := range cfg.N {
		mc := middleware.Config{
			BaseURL:   c.URL,
			Providers: []*providers.Provider{cfg.Provider(t, c.URL)},
			Keys:      Keys,
		}
		if cfg.Shared != nil {
			mc.Shared = cfg.Shared(i)
		}
		if cfg.Sessions != nil {
			mc.Sessions = cfg.Sessions(i)
		}
		if cfg.Edit != nil {
			cfg.Edit(i, &mc)
		}
		a, err := middleware.New(mc)
		if err != nil {
			ln.Close()
			t.Fatalf("clustertest: instance %d: %v", i, err)
		}
		c.Auths = append(c.Auths, a)
		mux := http.NewServeMux()
		mux.Handle("/auth/", a.Handler())
		mux.Handle("/token", a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := middleware.SessionFrom(r.Context())
			io.WriteString(w, s.Tokens.AccessToken)
		})))
		mux.Handle("/private", a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, _ := middleware.UserFrom(r.Context())
			io.WriteString(w, "hello "+u.Subject)
		})))
		mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "home") })
		handlers[i] = mux
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(c.next.Add(1)-1) % cfg.N
		if v := r.Header.Get("X-Instance"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n >= cfg.N {
				http.Error(w, "clustertest: bad X-Instance", http.StatusBadRequest)
				return
			}
			i = n
		}
		c.Served[i].Add(1)
		w.Header().Set("X-Served-By", strconv.Itoa(i))
		handlers[i].ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return c
}

// Browser returns a client with a cookie jar that does not follow
// redirects.
func Browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Response is a response with its body read.
type Response struct {
	Status   int
	Body     string
	ServedBy string
	Header   http.Header
	Cookies  []*http.Cookie
	URL      *url.URL
}

// Do sends a request like a browser navigation (or, with api, like a
// fetch wanting JSON) with exactly the given cookies and no jar, to
// instance i (-1: round robin).
func Do(t testing.TB, method, target string, i int, api bool, cookies []*http.Cookie, hdr http.Header) Response {
	t.Helper()
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if api {
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Sec-Fetch-Mode", "cors")
	} else {
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Sec-Fetch-Mode", "navigate")
	}
	if i >= 0 {
		req.Header.Set("X-Instance", strconv.Itoa(i))
	}
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Errorf("clustertest: %s %s: %v", method, target, err)
		return Response{}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Body: string(body), ServedBy: resp.Header.Get("X-Served-By"),
		Header: resp.Header, Cookies: resp.Cookies(), URL: resp.Request.URL}
}

// Follow follows redirects from target with the browser client, across
// hosts, sending requests for the cluster round robin, and returns the
// final response and the instances that served each cluster request.
func Follow(t testing.TB, browser *http.Client, target string) (Response, []string) {
	t.Helper()
	var servedBy []string
	for range 20 {
		req, err := http.NewRequest(http.MethodGet, target, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatalf("clustertest: GET %s: %v", target, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if s := resp.Header.Get("X-Served-By"); s != "" {
			servedBy = append(servedBy, s)
		}
		if resp.StatusCode < 300 || resp.StatusCode > 399 {
			return Response{Status: resp.StatusCode, Body: string(body), ServedBy: resp.Header.Get("X-Served-By"),
				Header: resp.Header, Cookies: resp.Cookies(), URL: resp.Request.URL}, servedBy
		}
		loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		target = loc.String()
	}
	t.Fatal("clustertest: too many redirects")
	return Response{}, nil
}

// SessionCookies returns the portcullis cookies the browser holds for the
// cluster.
func (c *Cluster) SessionCookies(browser *http.Client) []*http.Cookie {
	u, _ := url.Parse(c.URL)
	var cs []*http.Cookie
	for _, ck := range browser.Jar.Cookies(u) {
		if strings.Contains(ck.Name, "portcullis") && !strings.Contains(ck.Name, "flow") {
			cs = append(cs, ck)
		}
	}
	return cs
}

// Merge returns cookies updated by the Set-Cookie lines of set: replaced
// by name, removed when expired.
func Merge(cookies, set []*http.Cookie) []*http.Cookie {
	byName := map[string]*http.Cookie{}
	var order []string
	for _, c := range cookies {
		if _, ok := byName[c.Name]; !ok {
			order = append(order, c.Name)
		}
		byName[c.Name] = c
	}
	for _, c := range set {
		if _, ok := byName[c.Name]; !ok {
			order = append(order, c.Name)
		}
		if c.MaxAge < 0 || c.Value == "" {
			delete(byName, c.Name)
			continue
		}
		byName[c.Name] = c
	}
	var out []*http.Cookie
	for _, n := range order {
		if c, ok := byName[n]; ok {
			out = append(out, c)
		}
	}
	return out
}
