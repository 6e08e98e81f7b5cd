package middleware

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/portcullis-go/portcullis/internal/cookiekeys"
	"golang.org/x/oauth2"
)

// A login flow lives in its own encrypted, authenticated cookie from the
// redirect to the provider until the callback: several tabs can sign in at
// once without overwriting each other's state. The cookie's name is derived
// from the state, so the callback finds its flow without trying others.
const (
	flowLifetime = 10 * time.Minute
	// maxFlows and maxFlowBytes bound the flow cookies alive at once in one
	// browser, by count and by their bytes in the Cookie header (names,
	// values and separators): a new login evicts the oldest until both
	// hold. Five flows with long return paths would otherwise push the
	// Cookie header past the 8 KiB that proxies commonly allow (nginx's
	// default answers 400 to every request then), and any cross-site page
	// can start logins.
	maxFlows       = 5
	maxFlowBytes   = 4 << 10
	flowVersion    = 3
	maxFlowEncoded = 4096
)

// flow is the content of a flow cookie.
type flow struct {
	Provider string
	Issuer   string
	State    string
	Nonce    string
	Verifier string
	ReturnTo string
	// Prompt is the OpenID Connect prompt the flow asked for ("consent"
	// when a login is restarted to obtain a refresh token).
	Prompt string
	// MaxAge, ACR and AMR are a step-up request (see providers.Flow):
	// the route's policy.StepUpRequired the login must meet.
	MaxAge  time.Duration
	ACR     []string
	AMR     []string
	Created time.Time
}

// flowCookies encodes and names flow cookies.
type flowCookies struct {
	prefix string // cookie name prefix, e.g. "__Host-portcullis-flow."
	secure bool
	codecs []securecookie.Codec
}

// newFlowCookies returns the cookies of one kind of flow: "flow" for
// logins, "logout" for RP-initiated logouts. Each kind has its own keys and
// names, so a value minted for one is never accepted as the other. tag is
// settings.cookieTag: applications under other paths of the host have
// other names, so they never count, evict or clear each other's flows.
func newFlowCookies(keys [][]byte, secure bool, tag, kind string) (*flowCookies, error) {
	codecs, err := cookiekeys.Codecs(keys, kind, flowLifetime, maxFlowEncoded)
	if err != nil {
		return nil, err
	}
	prefix := "portcullis" + tag + "-" + kind + "."
	if secure {
		prefix = "__Host-" + prefix
	}
	return &flowCookies{prefix: prefix, secure: secure, codecs: codecs}, nil
}

// newFlow mints a flow with fresh random state, nonce and PKCE verifier.
func newFlow(provider, issuer, returnTo string, now time.Time) *flow {
	return &flow{
		Provider: provider,
		Issuer:   issuer,
		State:    randomString(32),
		Nonce:    randomString(32),
		Verifier: oauth2.GenerateVerifier(),
		ReturnTo: returnTo,
		Created:  now,
	}
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never returns an error; see crypto/rand.Read
	return base64.RawURLEncoding.EncodeToString(b)
}

// name returns the cookie name of the flow with the given state.
func (fc *flowCookies) name(state string) string {
	h := sha256.Sum256([]byte(state))
	return fc.prefix + base64.RawURLEncoding.EncodeToString(h[:16])
}

// set writes f's cookie, first expiring the oldest flows the request
// carries so that at most maxFlows remain. crossSite makes it a
// SameSite=None cookie (crossSiteCookie), for a flow whose callback is a
// cross-site POST.
func (fc *flowCookies) set(w http.ResponseWriter, r *http.Request, f *flow, crossSite bool) error {
	name := fc.name(f.State)
	encoded, err := securecookie.EncodeMulti(name, encodeFlow(f), fc.codecs...)
	if err != nil {
		return err
	}
	type live struct {
		name    string
		created time.Time
		size    int
	}
	var alive []live
	total := cookieBytes(name, encoded)
	for _, c := range r.Cookies() {
		if !strings.HasPrefix(c.Name, fc.prefix) || c.Name == name {
			continue
		}
		old, err := fc.decode(c.Name, c.Value)
		if err != nil {
			http.SetCookie(w, fc.cookie(c.Name, "", -1))
			continue
		}
		alive = append(alive, live{c.Name, old.Created, cookieBytes(c.Name, c.Value)})
		total += alive[len(alive)-1].size
	}
	slices.SortFunc(alive, func(a, b live) int { return a.created.Compare(b.created) })
	for len(alive) > 0 && (len(alive) >= maxFlows || total > maxFlowBytes) {
		http.SetCookie(w, fc.cookie(alive[0].name, "", -1))
		total -= alive[0].size
		alive = alive[1:]
	}
	c := fc.cookie(name, encoded, int(flowLifetime/time.Second))
	if crossSite {
		c = crossSiteCookie(c)
	}
	http.SetCookie(w, c)
	return nil
}

// crossSiteCookie makes c a SameSite=None cookie, as the flow cookie of a
// provider whose authorization response is a form POST
// (providers.Provider.FormPost) must be: browsers send a Lax cookie with a
// cross-site top-level GET but not with a cross-site POST (RFC 6265bis,
// "SameSite" cookies). None requires Secure, which browsers honour over http on
// loopback hosts too (they are secure contexts), so it is set whatever
// the BaseURL's scheme; HttpOnly stays. Nothing else about the flow
// changes: the cookie is still encrypted, named after the state, scoped
// to the flow's lifetime, and the callback's checks are the same.
func crossSiteCookie(c *http.Cookie) *http.Cookie {
	c.SameSite = http.SameSiteNoneMode
	c.Secure = true
	return c
}

// cookieBytes is what a cookie adds to the Cookie header: "name=value; ".
func cookieBytes(name, value string) int { return len(name) + 1 + len(value) + 2 }

// take finds and decodes the flow for state, and expires its cookie.
// Every failure is errInvalidFlow.
func (fc *flowCookies) take(w http.ResponseWriter, r *http.Request, state string, now time.Time) (*flow, error) {
	fc.expire(w, r, state, false)
	return fc.find(r, state, now)
}

// expire expires the cookie of the flow with the given state, if the
// request carries it; no other flow is touched. crossSite writes the
// expiry with the attributes the cookie was set with (crossSiteCookie).
func (fc *flowCookies) expire(w http.ResponseWriter, r *http.Request, state string, crossSite bool) {
	if state == "" {
		return
	}
	if name := fc.name(state); len(r.CookiesNamed(name)) > 0 {
		c := fc.cookie(name, "", -1)
		if crossSite {
			c = crossSiteCookie(c)
		}
		http.SetCookie(w, c)
	}
}

// find decodes the flow for state from the request's cookies, checking
// its state and age. Every failure is errInvalidFlow.
func (fc *flowCookies) find(r *http.Request, state string, now time.Time) (*flow, error) {
	if state == "" {
		return nil, errInvalidFlow
	}
	name := fc.name(state)
	cs := r.CookiesNamed(name)
	if len(cs) != 1 {
		return nil, errInvalidFlow
	}
	f, err := fc.decode(name, cs[0].Value)
	if err != nil || !constantTimeEqual(f.State, state) {
		return nil, errInvalidFlow
	}
	if now.Sub(f.Created) > flowLifetime || f.Created.After(now.Add(time.Minute)) {
		return nil, errInvalidFlow
	}
	return f, nil
}

// clearAll expires every flow cookie the request carries.
func (fc *flowCookies) clearAll(w http.ResponseWriter, r *http.Request) {
	seen := map[string]bool{}
	for _, c := range r.Cookies() {
		if strings.HasPrefix(c.Name, fc.prefix) && !seen[c.Name] {
			seen[c.Name] = true
			http.SetCookie(w, fc.cookie(c.Name, "", -1))
		}
	}
}

func (fc *flowCookies) decode(name, value string) (*flow, error) {
	var data []byte
	if err := securecookie.DecodeMulti(name, value, &data, fc.codecs...); err != nil {
		return nil, errInvalidFlow
	}
	return decodeFlow(data)
}

func (fc *flowCookies) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		Secure:   fc.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
}

var errInvalidFlow = errors.New("invalid flow")

// encodeFlow and decodeFlow use the same shape of encoding as the session
// codec: a version byte, length-prefixed strings, a varint time. Decoding
// accepts only the canonical (shortest) varints, so one flow has exactly
// one encoding.
func encodeFlow(f *flow) []byte {
	b := []byte{flowVersion}
	for _, s := range [...]string{f.Provider, f.Issuer, f.State, f.Nonce, f.Verifier, f.ReturnTo, f.Prompt} {
		b = appendFlowString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(f.MaxAge/time.Second))
	for _, list := range [...][]string{f.ACR, f.AMR} {
		b = binary.AppendUvarint(b, uint64(len(list)))
		for _, v := range list {
			b = appendFlowString(b, v)
		}
	}
	return binary.AppendVarint(b, f.Created.Unix())
}

func appendFlowString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// maxStepUpValues bounds the acr and amr values a flow carries.
const maxStepUpValues = 8

func decodeFlow(data []byte) (*flow, error) {
	if len(data) == 0 || data[0] != flowVersion {
		return nil, errInvalidFlow
	}
	data = data[1:]
	f := new(flow)
	next := func() (string, bool) {
		n, k := binary.Uvarint(data)
		if k <= 0 || k != len(binary.AppendUvarint(nil, n)) || n > uint64(len(data)-k) {
			return "", false
		}
		v := string(data[k : k+int(n)])
		data = data[k+int(n):]
		return v, true
	}
	count := func(max uint64) (uint64, bool) {
		n, k := binary.Uvarint(data)
		if k <= 0 || k != len(binary.AppendUvarint(nil, n)) || n > max {
			return 0, false
		}
		data = data[k:]
		return n, true
	}
	for _, p := range [...]*string{&f.Provider, &f.Issuer, &f.State, &f.Nonce, &f.Verifier, &f.ReturnTo, &f.Prompt} {
		v, ok := next()
		if !ok {
			return nil, errInvalidFlow
		}
		*p = v
	}
	maxAge, ok := count(uint64(maxStepUpAge / time.Second))
	if !ok {
		return nil, errInvalidFlow
	}
	f.MaxAge = time.Duration(maxAge) * time.Second
	for _, list := range [...]*[]string{&f.ACR, &f.AMR} {
		n, ok := count(maxStepUpValues)
		if !ok {
			return nil, errInvalidFlow
		}
		for range n {
			v, ok := next()
			if !ok {
				return nil, errInvalidFlow
			}
			*list = append(*list, v)
		}
	}
	t, k := binary.Varint(data)
	if k <= 0 || k != len(data) || k != len(binary.AppendVarint(nil, t)) || f.State == "" || f.Provider == "" {
		return nil, errInvalidFlow
	}
	f.Created = time.Unix(t, 0)
	return f, nil
}
