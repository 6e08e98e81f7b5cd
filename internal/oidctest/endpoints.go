package oidctest

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

// grant is what an authorization code or refresh token stands for.
type grant struct {
	redirectURI string
	challenge   string
	nonce       string
	scope       string
	issued      time.Time
}

// codeLifetime bounds how long an authorization code can be redeemed.
const codeLifetime = time.Minute

// serveAuthorize plays the user consenting at once: it mints a code bound
// to the request's redirect_uri, PKCE challenge and nonce, and redirects.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirectURI := q.Get("redirect_uri")
	if q.Get("client_id") != ClientID || redirectURI == "" || len(q["redirect_uri"]) != 1 {
		http.Error(w, "oidctest: unknown client_id or missing redirect_uri", http.StatusBadRequest)
		return
	}
	cb := url.Values{}
	switch {
	case q.Get("response_type") != "code":
		cb.Set("error", "unsupported_response_type")
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		cb.Set("error", "invalid_request")
		cb.Set("error_description", "PKCE S256 is required")
	default:
		code := random(24)
		s.mu.Lock()
		s.codes[code] = &grant{
			redirectURI: redirectURI,
			challenge:   q.Get("code_challenge"),
			nonce:       q.Get("nonce"),
			scope:       q.Get("scope"),
			issued:      time.Now(),
		}
		s.secrets = append(s.secrets, code)
		s.mu.Unlock()
		cb.Set("code", code)
	}
	if q.Has("state") {
		cb.Set("state", q.Get("state"))
	}
	cb.Set("iss", s.URL)
	if s.Authorize != nil {
		cb = s.Authorize(cb)
		if cb == nil {
			http.Error(w, "oidctest: the Authorize hook refused to redirect", http.StatusBadRequest)
			return
		}
	}
	w.Header().Set("Location", opkit.AppendQuery(redirectURI, cb))
	opkit.NoStore(w)
	w.WriteHeader(http.StatusFound)
}

// clientForm reads a strict client request to the token, introspection or
// revocation endpoint: POST, a form body, no repeated parameter, and the
// client authenticated by one of the methods the server accepts
// (authenticateClient). It answers the request itself when it is refused.
func (s *Server) clientForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		opkit.WriteError(w, http.StatusMethodNotAllowed, "invalid_request", "POST only")
		return nil, false
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		opkit.WriteError(w, http.StatusBadRequest, "invalid_request", "form body required")
		return nil, false
	}
	if err := r.ParseForm(); err != nil {
		opkit.WriteError(w, http.StatusBadRequest, "invalid_request", "malformed body")
		return nil, false
	}
	for k, vs := range r.PostForm {
		if len(vs) > 1 {
			opkit.WriteError(w, http.StatusBadRequest, "invalid_request", "repeated parameter "+k)
			return nil, false
		}
	}
	if why := s.authenticateClient(r); why != "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
		opkit.WriteError(w, http.StatusUnauthorized, "invalid_client", why)
		return nil, false
	}
	return r.PostForm, true
}

// serveToken is a strict token endpoint: client_secret_basic, one-time
// codes bound to redirect_uri and PKCE S256, rotating refresh tokens.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if s.TokenResponse != nil && s.TokenResponse(w, r) {
		return
	}
	f, ok := s.clientForm(w, r)
	if !ok {
		return
	}
	var g *grant
	switch f.Get("grant_type") {
	case "authorization_code":
		code := f.Get("code")
		s.mu.Lock()
		g = s.codes[code]
		delete(s.codes, code) // one use, successful or not
		s.mu.Unlock()
		switch {
		case g == nil || time.Since(g.issued) > codeLifetime:
			opkit.WriteError(w, http.StatusBadRequest, "invalid_grant", "unknown, used or expired code")
			return
		case f.Get("redirect_uri") != g.redirectURI:
			opkit.WriteError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri differs from the authorization request's")
			return
		case !opkit.VerifyS256(f.Get("code_verifier"), g.challenge):
			opkit.WriteError(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
			return
		}
	case "refresh_token":
		rt := f.Get("refresh_token")
		s.mu.Lock()
		g = s.refresh[rt]
		delete(s.refresh, rt) // rotation: each refresh token works once
		s.mu.Unlock()
		if g == nil {
			opkit.WriteError(w, http.StatusBadRequest, "invalid_grant", "unknown or used refresh token")
			return
		}
		g = &grant{scope: g.scope, issued: time.Now()} // no nonce on refresh
	default:
		opkit.WriteError(w, http.StatusBadRequest, "unsupported_grant_type", "")
		return
	}
	at, rt := random(24), random(24)
	c := s.defaultClaims(g.nonce, at)
	h := Header{}
	if s.IDToken != nil {
		c, h = s.IDToken(c, h)
	}
	idt := s.Sign(c, h)
	s.mu.Lock()
	s.access[at] = true
	s.issued[at] = issuedAccess{scope: g.scope, iat: time.Now(), exp: time.Now().Add(time.Hour)}
	s.refresh[rt] = g
	s.secrets = append(s.secrets, at, rt, idt)
	s.mu.Unlock()
	body := map[string]any{
		"access_token":  at,
		"token_type":    "Bearer",
		"expires_in":    3600,
		"refresh_token": rt,
		"scope":         g.scope,
		"id_token":      idt,
	}
	if s.Token != nil {
		s.Token(body)
	}
	opkit.WriteJSON(w, http.StatusOK, body)
}

// defaultClaims returns the claims of an honest ID token.
func (s *Server) defaultClaims(nonce, accessToken string) Claims {
	now := time.Now()
	c := Claims{
		"iss":            s.URL,
		"sub":            Subject,
		"aud":            ClientID,
		"exp":            now.Add(5 * time.Minute).Unix(),
		"iat":            now.Unix(),
		"email":          "user-1@example.com",
		"email_verified": true,
		"name":           "Test User",
		"sid":            "sid-1",
		"at_hash":        opkit.AtHash(accessToken),
	}
	if nonce != "" {
		c["nonce"] = nonce
	}
	return c
}

// serveUserInfo answers for issued access tokens sent as Bearer tokens in
// the Authorization header, and only for them.
func (s *Server) serveUserInfo(w http.ResponseWriter, r *http.Request) {
	if s.UserInfoResponse != nil && s.UserInfoResponse(w, r) {
		return
	}
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	s.mu.Lock()
	ok := strings.EqualFold(scheme, "Bearer") && s.access[tok]
	s.mu.Unlock()
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	c := Claims{
		"sub":            Subject,
		"email":          "user-1@example.com",
		"email_verified": true,
		"name":           "Test User",
	}
	if s.UserInfo != nil {
		c = s.UserInfo(c)
	}
	opkit.WriteJSON(w, http.StatusOK, c)
}
