package benchcmp

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/oauth2-proxy/oauth2-proxy/v7/pkg/apis/options"
	osessions "github.com/oauth2-proxy/oauth2-proxy/v7/pkg/apis/sessions"
	ocookie "github.com/oauth2-proxy/oauth2-proxy/v7/pkg/sessions/cookie"
	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/middleware/policy"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/providers/devoidc"
	"github.com/portcullis-go/portcullis/session"
)

// Item is one measured thing: an HTTP chain (auth middleware → the app
// handler, which reads the user and writes the e-mail) run over prepared
// requests, or a bare operation (the crypto floor).
type Item struct {
	Name string
	// Op runs the item once; i counts the iterations (chains rotate over
	// their requests with it).
	Op func(i int)
	// Handler and Requests are set for HTTP chains.
	Handler  http.Handler
	Requests []*http.Request
	// CookieBytes is the length of the Cookie header a chain's request
	// carries.
	CookieBytes int
}

// Names of the items, as the table prints them.
const (
	Bare        = "bare handler"
	Floor       = "crypto floor (b64 + AES-GCM open)"
	WarmRequire = "portcullis Require, warm"
	ColdRequire = "portcullis Require, cold"
	Policy      = "portcullis RequireWith(policy), warm"
	BigPolicy   = "portcullis RequireWith(10,000 domains, 10,000 groups), warm"
	Revocations = "portcullis Require, 30,000 revocations"
	OAuth2Proxy = "oauth2-proxy cookie store"
	Gorilla     = "gorilla/sessions CookieStore"
	SecureJSON  = "securecookie + JSON"
)

// ColdSessions is how many distinct sessions the cold chain rotates over:
// 4× the decoded-session cache, so nearly every request decodes.
const ColdSessions = 4096

func chain(name string, h http.Handler, reqs ...*http.Request) Item {
	return Item{
		Name: name, Handler: h, Requests: reqs,
		CookieBytes: len(strings.Join(reqs[0].Header.Values("Cookie"), "; ")),
		Op: func(i int) {
			r := new(http.Request)
			*r = *reqs[i%len(reqs)]
			h.ServeHTTP(httptest.NewRecorder(), r)
		},
	}
}

func newRequest() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://app.example/private", nil)
	r.Header.Set("Cookie", "_ga=GA1.1.1234567890.1700000000; theme=dark")
	return r
}

// withCookies returns a copy of r carrying the cookies rec set.
func withCookies(r *http.Request, rec *httptest.ResponseRecorder) *http.Request {
	r = r.Clone(context.Background())
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge >= 0 {
			r.AddCookie(c)
		}
	}
	return r
}

func writeEmail(w http.ResponseWriter, email string) { io.WriteString(w, email) }

// Setup holds what the items share: the payload and the test servers.
type Setup struct {
	Key     *rsa.PrivateKey
	Payload Payload
	closers []func()
}

// NewSetup makes the payload (a fresh 2048-bit RSA key signs the ID token).
func NewSetup() (*Setup, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return &Setup{Key: key, Payload: NewPayload(key, time.Now(), 0)}, nil
}

// Close stops the test servers.
func (s *Setup) Close() {
	for _, c := range s.closers {
		c()
	}
}

var sessionKey = []byte("0123456789abcdef0123456789abcdef")

// Portcullis returns an Auth with one OpenID provider (devoidc, in
// process), its CookieStore, and the provider.
func (s *Setup) Portcullis(revocations int) (*middleware.Auth, *session.CookieStore, *providers.Provider, error) {
	ts := httptest.NewServer(nil)
	s.closers = append(s.closers, ts.Close)
	op, err := devoidc.New(devoidc.Config{Issuer: ts.URL, Clients: []devoidc.Client{{ID: "app", Secret: "s", RedirectURIs: []string{"https://app.example/auth/callback/dev"}}}})
	if err != nil {
		return nil, nil, nil, err
	}
	ts.Config.Handler = op
	p, err := providers.OIDC(context.Background(), providers.OIDCConfig{Name: "dev", Issuer: ts.URL, ClientID: "app", ClientSecret: "s"})
	if err != nil {
		return nil, nil, nil, err
	}
	store, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{sessionKey}})
	if err != nil {
		return nil, nil, nil, err
	}
	a, err := middleware.New(middleware.Config{
		BaseURL:   "https://app.example",
		Providers: []*providers.Provider{p},
		Keys:      [][]byte{sessionKey},
		Sessions:  store,
	})
	if err != nil {
		return nil, nil, nil, err
	}
	for i := range revocations {
		if err := a.EndSessions(context.Background(), "dev", fmt.Sprintf("other-user-%d", i)); err != nil {
			return nil, nil, nil, err
		}
	}
	return a, store, p, nil
}

// portcullisSession is the payload as a portcullis session of p.
func (s *Setup) portcullisSession(p *providers.Provider, pl Payload, id int) *session.Session {
	ss := session.New(session.User{Provider: p.Name(), Issuer: p.Issuer(), Subject: pl.Subject, Email: pl.Email, Name: pl.Name},
		session.Tokens{AccessToken: pl.AccessToken, TokenType: "Bearer", RefreshToken: pl.RefreshToken, Expiry: pl.Expiry, IDToken: pl.IDToken},
		time.Now(), 12*time.Hour)
	ss.ID = fmt.Sprintf("session-%06d-%s", id, ss.ID)
	return ss
}

// PortcullisRequests saves n sessions of the payload and returns a request
// carrying each.
func (s *Setup) PortcullisRequests(store *session.CookieStore, p *providers.Provider, pl Payload, n int) ([]*http.Request, error) {
	reqs := make([]*http.Request, n)
	for i := range reqs {
		rec := httptest.NewRecorder()
		if err := store.Save(rec, newRequest(), s.portcullisSession(p, pl, i)); err != nil {
			return nil, err
		}
		reqs[i] = withCookies(newRequest(), rec)
	}
	return reqs, nil
}

func portcullisApp() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := middleware.UserFrom(r.Context())
		if !ok {
			panic("no user")
		}
		writeEmail(w, u.Email)
	})
}

// Items returns every item, ready to run.
func (s *Setup) Items() ([]Item, error) {
	var items []Item
	items = append(items, chain(Bare, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeEmail(w, s.Payload.Email) }), newRequest()))

	floor, err := s.floor()
	if err != nil {
		return nil, err
	}
	items = append(items, floor)

	a, store, p, err := s.Portcullis(0)
	if err != nil {
		return nil, err
	}
	warm, err := s.PortcullisRequests(store, p, s.Payload, 1)
	if err != nil {
		return nil, err
	}
	items = append(items, chain(WarmRequire, a.Require(portcullisApp()), warm...))
	cold, err := s.PortcullisRequests(store, p, s.Payload, ColdSessions)
	if err != nil {
		return nil, err
	}
	items = append(items, chain(ColdRequire, a.Require(portcullisApp()), cold...))
	items = append(items, chain(Policy, a.RequireWith(policy.AnyOf(policy.EmailDomains("example.com"), policy.Groups("admins")))(portcullisApp()), warm...))
	domains, groups := make([]string, 10000), make([]string, 10000)
	for i := range domains {
		domains[i], groups[i] = fmt.Sprintf("d%d.example.org", i), fmt.Sprintf("group-%d", i)
	}
	domains[9999] = "example.com" // the user's, last
	items = append(items, chain(BigPolicy, a.RequireWith(policy.AnyOf(policy.Groups(groups...), policy.EmailDomains(domains...)))(portcullisApp()), warm...))

	ra, rstore, rp, err := s.Portcullis(30000)
	if err != nil {
		return nil, err
	}
	rwarm, err := s.PortcullisRequests(rstore, rp, s.Payload, 1)
	if err != nil {
		return nil, err
	}
	items = append(items, chain(Revocations, ra.Require(portcullisApp()), rwarm...))

	for _, f := range []func() (Item, error){s.oauth2Proxy, s.gorilla, s.secureJSON} {
		it, err := f()
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, nil
}

// floor is base64url decoding and AES-256-GCM opening of the payload's
// JSON sealed as one cookie value, into preallocated buffers.
func (s *Setup) floor() (Item, error) {
	block, err := aes.NewCipher(sessionKey)
	if err != nil {
		return Item{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return Item{}, err
	}
	js, _ := json.Marshal(s.Payload)
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	value := []byte(base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, js, nil)))
	raw := make([]byte, base64.RawURLEncoding.DecodedLen(len(value)))
	plain := make([]byte, len(js))
	return Item{Name: Floor, CookieBytes: len(value), Op: func(int) {
		n, err := base64.RawURLEncoding.Decode(raw, value)
		if err != nil {
			panic(err)
		}
		if _, err := aead.Open(plain[:0], raw[:12], raw[12:n], nil); err != nil {
			panic(err)
		}
	}}, nil
}

// oauth2Proxy is oauth2-proxy's cookie SessionStore.Load (HMAC-SHA256
// signature, AES-256-CFB, lz4, msgpack), configured as its documentation
// recommends (a 32-byte secret, base64): the session loaded, its expiry
// checked.
func (s *Setup) oauth2Proxy() (Item, error) {
	secret := make([]byte, 32)
	rand.Read(secret)
	store, err := ocookie.NewCookieSessionStore(&options.SessionOptions{Type: options.CookieSessionStoreType}, &options.Cookie{
		Name: "_oauth2_proxy", Secret: base64.URLEncoding.EncodeToString(secret), Path: "/",
		Expire: 168 * time.Hour, Secure: true, HTTPOnly: true,
	})
	if err != nil {
		return Item{}, err
	}
	now := time.Now()
	exp := s.Payload.Expiry
	ss := &osessions.SessionState{CreatedAt: &now, ExpiresOn: &exp, AccessToken: s.Payload.AccessToken, IDToken: s.Payload.IDToken,
		RefreshToken: s.Payload.RefreshToken, Email: s.Payload.Email, User: s.Payload.Subject, PreferredUsername: s.Payload.Name}
	rec := httptest.NewRecorder()
	if err := store.Save(rec, newRequest(), ss); err != nil {
		return Item{}, err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ss, err := store.Load(r)
		if err != nil || ss.IsExpired() {
			http.Error(w, "unauthenticated", http.StatusUnauthorized)
			return
		}
		writeEmail(w, ss.Email)
	})
	return chain(OAuth2Proxy, h, withCookies(newRequest(), rec)), nil
}

var (
	hashKey64  = []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	blockKey32 = []byte("0123456789abcdef0123456789abcdef")
)

// gorilla is gorilla/sessions' CookieStore (gob map, AES-256-CTR,
// HMAC-SHA256): store.Get and seven Values.
func (s *Setup) gorilla() (Item, error) {
	store := sessions.NewCookieStore(hashKey64, blockKey32)
	req := newRequest()
	gs, _ := store.New(req, "session")
	pl := s.Payload
	gs.Values["sub"], gs.Values["email"], gs.Values["name"] = pl.Subject, pl.Email, pl.Name
	gs.Values["access_token"], gs.Values["refresh_token"], gs.Values["id_token"] = pl.AccessToken, pl.RefreshToken, pl.IDToken
	gs.Values["expiry"] = pl.Expiry.Unix()
	rec := httptest.NewRecorder()
	if err := store.Save(req, rec, gs); err != nil {
		return Item{}, err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gs, err := store.Get(r, "session")
		exp, _ := gs.Values["expiry"].(int64)
		if err != nil || gs.IsNew || time.Now().Unix() > exp {
			http.Error(w, "unauthenticated", http.StatusUnauthorized)
			return
		}
		email, _ := gs.Values["email"].(string)
		writeEmail(w, email)
	})
	return chain(Gorilla, h, withCookies(newRequest(), rec)), nil
}

// secureJSON is securecookie.Decode into the payload struct with its
// JSONEncoder, the same keys.
func (s *Setup) secureJSON() (Item, error) {
	sc := securecookie.New(hashKey64, blockKey32).SetSerializer(securecookie.JSONEncoder{})
	v, err := sc.Encode("sc", s.Payload)
	if err != nil {
		return Item{}, err
	}
	req := newRequest()
	req.AddCookie(&http.Cookie{Name: "sc", Value: v})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("sc")
		var p Payload
		if err == nil {
			err = sc.Decode("sc", c.Value, &p)
		}
		if err == nil && !time.Now().Before(p.Expiry) {
			err = errors.New("expired")
		}
		if err != nil {
			http.Error(w, "unauthenticated", http.StatusUnauthorized)
			return
		}
		writeEmail(w, p.Email)
	})
	return chain(SecureJSON, h, req), nil
}
