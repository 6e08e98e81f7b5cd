package devoidc

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Lifetimes that are not configurable.
const (
	codeLifetime    = 60 * time.Second
	sessionLifetime = 12 * time.Hour
	pruneInterval   = 10 * time.Second
)

// Descriptions of the invalid_grant errors that signal an attack in
// progress, which the token endpoint logs as warnings.
const (
	descCodeReplayed  = "the authorization code was already used; the tokens issued from it are revoked"
	descRefreshReused = "the refresh token was already used; the grant is revoked"
)

// randomToken returns 32 bytes from crypto/rand, base64url-encoded without
// padding (43 characters). Codes, tokens, session handles and grant IDs are
// all made this way.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never returns an error; it crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenHash is the map key under which a secret is stored. The store never
// holds a code, token or session handle itself, and looking a hash up in a
// map leaks nothing useful through timing.
func tokenHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return string(sum[:])
}

// authCode is an issued, not yet redeemed authorization code
// (RFC 6749 §4.1.2) and everything it is bound to.
type authCode struct {
	clientID    string
	redirectURI string
	challenge   string // S256 code_challenge (RFC 7636 §4.3)
	nonce       string
	scope       []string
	subject     string
	sid         string
	authTime    time.Time
	acr         string
	expires     time.Time
}

// grant is what one code exchange creates: the refresh token chain and the
// access tokens issued from it. Revoking a grant revokes all of them.
type grant struct {
	id       string
	clientID string
	subject  string
	sid      string
	scope    []string
	authTime time.Time
	acr      string
	expires  time.Time // absolute: RefreshTokenTTL after the exchange
	codeHash string
	current  string   // hash of the only refresh token that may be used
	refresh  []string // hashes of every refresh token issued, current included
	access   []string // store keys of every access token issued (accesstoken.go)
}

// issue carries freshly generated tokens into the store, so that the
// randomness is drawn outside the lock.
type issue struct {
	access     string // the opaque access token, or the jti of a JWT one (accesstoken.go)
	accessKey  string // the store key of the access token
	refresh    string // the refresh token itself; only its hash is kept
	accessTTL  time.Duration
	refreshTTL time.Duration
}

func (s *Server) newIssue() issue {
	access, key := s.newAccessValue()
	return issue{access: access, accessKey: key, refresh: randomToken(), accessTTL: s.accessTTL, refreshTTL: s.refreshTTL}
}

// grantView is a copy of the parts of a grant that the token endpoint needs
// to build its response.
type grantView struct {
	access accessToken // a copy of the access token just issued
	sid    string
	nonce  string // only for a code exchange
}

// store holds all the provider's state behind one mutex. Expired entries
// are pruned at most every pruneInterval, on writes, so memory stays bounded
// by the issuance rate times the lifetimes.
type store struct {
	mu        sync.Mutex
	stats     *counters
	codes     map[string]*authCode    // by code hash: issued, not redeemed
	usedCodes map[string]string       // code hash → grant ID, for replay detection
	grants    map[string]*grant       // by grant ID
	refresh   map[string]string       // refresh token hash → grant ID (current and rotated)
	access    map[string]*accessToken // by store key: the token's hash, or its jti's (accesstoken.go)
	sessions  map[string]*opSession   // by session handle hash
	lastPrune time.Time
}

func newStore(stats *counters) *store {
	return &store{
		stats:     stats,
		codes:     map[string]*authCode{},
		usedCodes: map[string]string{},
		grants:    map[string]*grant{},
		refresh:   map[string]string{},
		access:    map[string]*accessToken{},
		sessions:  map[string]*opSession{},
	}
}

// putCode stores an issued code.
func (st *store) putCode(now time.Time, code string, c *authCode) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.pruneLocked(now)
	st.codes[tokenHash(code)] = c
}

// redeemCode exchanges a code for a new grant holding tok (RFC 6749
// §4.1.3). The code is burnt on first presentation, whatever check says, so
// it cannot be guessed at. A code that was already exchanged revokes the
// grant it produced (RFC 6749 §4.1.2) and is invalid_grant.
func (st *store) redeemCode(now time.Time, code string, check func(*authCode) *oauthError, tok issue) (grantView, *oauthError) {
	h := tokenHash(code)
	st.mu.Lock()
	defer st.mu.Unlock()
	if gid, ok := st.usedCodes[h]; ok {
		delete(st.usedCodes, h)
		if g := st.grants[gid]; g != nil {
			st.revokeGrantLocked(g)
		}
		return grantView{}, invalidGrant(descCodeReplayed)
	}
	c, ok := st.codes[h]
	if !ok {
		return grantView{}, invalidGrant("the authorization code is invalid or expired")
	}
	delete(st.codes, h)
	if !now.Before(c.expires) {
		return grantView{}, invalidGrant("the authorization code is invalid or expired")
	}
	if err := check(c); err != nil {
		return grantView{}, err
	}
	g := &grant{
		id:       randomToken(),
		clientID: c.clientID,
		subject:  c.subject,
		sid:      c.sid,
		scope:    c.scope,
		authTime: c.authTime,
		acr:      c.acr,
		expires:  now.Add(tok.refreshTTL),
		codeHash: h,
	}
	st.grants[g.id] = g
	st.usedCodes[h] = g.id
	view := st.addTokensLocked(now, g, tok, g.scope)
	view.nonce = c.nonce
	st.stats.exchanges.Add(1)
	return view, nil
}

// rotateRefresh performs the refresh_token grant (RFC 6749 §6) with
// rotation: the presented token is spent and tok replaces it. Presenting a
// spent token is taken as theft and revokes the whole grant (RFC 9700
// §4.14.2). scope, when not empty, narrows the new access token's scope.
func (st *store) rotateRefresh(now time.Time, refresh, clientID string, scope []string, tok issue) (grantView, *oauthError) {
	h := tokenHash(refresh)
	st.mu.Lock()
	defer st.mu.Unlock()
	g := st.grants[st.refresh[h]]
	switch {
	case g == nil:
		return grantView{}, invalidGrant("the refresh token is invalid, expired or revoked")
	case g.clientID != clientID:
		return grantView{}, invalidGrant("the refresh token is invalid, expired or revoked")
	case !now.Before(g.expires):
		st.deleteGrantLocked(g)
		return grantView{}, invalidGrant("the refresh token is invalid, expired or revoked")
	case g.current != h:
		st.stats.reuses.Add(1)
		st.revokeGrantLocked(g)
		return grantView{}, invalidGrant(descRefreshReused)
	}
	for _, sc := range scope {
		if !slices.Contains(g.scope, sc) {
			return grantView{}, &oauthError{code: "invalid_scope", description: "the requested scope exceeds the scope originally granted", status: http.StatusBadRequest}
		}
	}
	if len(scope) == 0 {
		scope = g.scope
	}
	view := st.addTokensLocked(now, g, tok, scope)
	st.stats.refreshes.Add(1)
	return view, nil
}

// addTokensLocked records tok's access and refresh tokens in g and makes the
// refresh token current.
func (st *store) addTokensLocked(now time.Time, g *grant, tok issue, scope []string) grantView {
	st.pruneLocked(now)
	rh := tokenHash(tok.refresh)
	exp := now.Add(tok.accessTTL)
	if exp.After(g.expires) {
		exp = g.expires
	}
	at := &accessToken{
		grantID:  g.id,
		clientID: g.clientID,
		subject:  g.subject,
		scope:    scope,
		authTime: g.authTime,
		acr:      g.acr,
		issued:   now,
		expires:  exp,
	}
	st.access[tok.accessKey] = at
	st.refresh[rh] = g.id
	g.access = append(g.access, tok.accessKey)
	g.refresh = append(g.refresh, rh)
	g.current = rh
	return grantView{access: *at, sid: g.sid}
}

// revoke implements RFC 7009 §2.1 for the authenticated client, given the
// store key of the presented token ([Server.tokenKey]): an access token is
// revoked alone, a refresh token revokes its grant. Unknown tokens and
// tokens of other clients are left alone, and it reports whether anything
// was revoked.
func (st *store) revoke(h, clientID string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if at, ok := st.access[h]; ok && at.clientID == clientID {
		delete(st.access, h)
		return true
	}
	if g := st.grants[st.refresh[h]]; g != nil && g.clientID == clientID {
		st.revokeGrantLocked(g)
		return true
	}
	return false
}

// revokeSessionGrantsLocked revokes every grant issued under the OP session
// sid and returns the IDs of the clients that held them, sorted.
func (st *store) revokeSessionGrantsLocked(sid string) []string {
	var clients []string
	for _, g := range st.grants {
		if g.sid == sid {
			st.revokeGrantLocked(g)
			clients = append(clients, g.clientID)
		}
	}
	slices.Sort(clients)
	return slices.Compact(clients)
}

// revokeGrantLocked forgets g and every token issued from it, and counts it.
func (st *store) revokeGrantLocked(g *grant) {
	st.deleteGrantLocked(g)
	st.stats.grantsRevoked.Add(1)
}

// deleteGrantLocked forgets g and every token issued from it. A spent code
// or refresh token of a deleted grant is simply unknown afterwards.
func (st *store) deleteGrantLocked(g *grant) {
	for _, h := range g.access {
		delete(st.access, h)
	}
	for _, h := range g.refresh {
		delete(st.refresh, h)
	}
	delete(st.usedCodes, g.codeHash)
	delete(st.grants, g.id)
}

// pruneLocked deletes expired codes, access tokens, grants and sessions,
// at most once per pruneInterval.
func (st *store) pruneLocked(now time.Time) {
	if now.Sub(st.lastPrune) < pruneInterval {
		return
	}
	st.lastPrune = now
	for h, c := range st.codes {
		if !now.Before(c.expires) {
			delete(st.codes, h)
		}
	}
	for h, at := range st.access {
		if !now.Before(at.expires) {
			delete(st.access, h)
		}
	}
	for _, g := range st.grants {
		if !now.Before(g.expires) {
			st.deleteGrantLocked(g)
			continue
		}
		// Access tokens pruned above are dropped from the grant too.
		g.access = slices.DeleteFunc(g.access, func(h string) bool { return st.access[h] == nil })
	}
	for h, sess := range st.sessions {
		if !now.Before(sess.expires) {
			delete(st.sessions, h)
		}
	}
}

// size reports how many entries the store holds, for tests of pruning.
func (st *store) size() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.codes) + len(st.usedCodes) + len(st.grants) + len(st.refresh) + len(st.access) + len(st.sessions)
}
