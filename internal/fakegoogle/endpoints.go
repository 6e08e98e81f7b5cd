package fakegoogle

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

// grant is what an authorization code, or a refresh token, stands for.
type grant struct {
	redirectURI string
	challenge   string
	method      string
	nonce       string
	scope       string
	refreshable bool
	used        bool
}

// errorPage is what Google shows the user instead of redirecting when the
// request cannot be trusted to go back to the client.
func errorPage(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	w.Write([]byte("<!doctype html><title>Error 400</title><p>Access blocked: this app’s request is invalid</p><p>Error 400: " + code + "</p>"))
}

func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != ClientID {
		errorPage(w, "invalid_client")
		return
	}
	redirectURI := q.Get("redirect_uri")
	if !slices.Contains(s.cfg.RedirectURIs, redirectURI) {
		errorPage(w, "redirect_uri_mismatch")
		return
	}
	if q.Get("response_type") != "code" {
		errorPage(w, "invalid_request")
		return
	}
	method := q.Get("code_challenge_method")
	if q.Get("code_challenge") != "" && method != "S256" && method != "plain" {
		errorPage(w, "invalid_request")
		return
	}
	back := url.Values{}
	if st, ok := q["state"]; ok {
		back.Set("state", st[0])
	}
	back.Set("iss", s.URL)
	if s.cfg.Deny {
		back.Set("error", "access_denied")
		http.Redirect(w, r, opkit.AppendQuery(redirectURI, back), http.StatusFound)
		return
	}
	scope := expandScopes(q.Get("scope"))
	offline := q.Get("access_type") == "offline"
	prompt := q.Get("prompt")
	s.mu.Lock()
	// Google issues a refresh token when the user grants offline access:
	// the first time, or again whenever prompt=consent shows the screen.
	refreshable := offline && (prompt == "consent" || !s.offlineGranted)
	consentShown := prompt == "consent" || (offline && !s.offlineGranted)
	if offline {
		s.offlineGranted = true
	}
	code := opkit.RandomToken("4/0A")
	s.codes[code] = &grant{
		redirectURI: redirectURI, challenge: q.Get("code_challenge"), method: method,
		nonce: q.Get("nonce"), scope: scope, refreshable: refreshable,
	}
	s.mu.Unlock()
	back.Set("code", code)
	back.Set("scope", scope)
	back.Set("authuser", "0")
	if s.cfg.User.HD != "" {
		back.Set("hd", s.cfg.User.HD)
	}
	if consentShown {
		back.Set("prompt", "consent")
	} else {
		back.Set("prompt", "none")
	}
	http.Redirect(w, r, opkit.AppendQuery(redirectURI, back), http.StatusFound)
}

// expandScopes writes scopes the way Google echoes them: email and profile
// also as their userinfo URLs.
func expandScopes(scope string) string {
	var out []string
	for _, sc := range strings.Fields(scope) {
		out = append(out, sc)
		switch sc {
		case "email":
			out = append(out, "https://www.googleapis.com/auth/userinfo.email")
		case "profile":
			out = append(out, "https://www.googleapis.com/auth/userinfo.profile")
		}
	}
	return strings.Join(out, " ")
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		opkit.WriteError(w, http.StatusBadRequest, "invalid_request", "Bad Request")
		return
	}
	if !opkit.ClientSecretAuth(r, ClientID, ClientSecret) {
		opkit.WriteError(w, http.StatusUnauthorized, "invalid_client", "Unauthorized")
		return
	}
	f := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	switch f.Get("grant_type") {
	case "authorization_code":
		g := s.codes[f.Get("code")]
		switch {
		case g == nil || g.used:
			opkit.WriteError(w, http.StatusBadRequest, "invalid_grant", "Bad Request")
			return
		case f.Get("redirect_uri") != g.redirectURI:
			opkit.WriteError(w, http.StatusBadRequest, "redirect_uri_mismatch", "Bad Request")
			return
		case g.challenge != "" && !pkceMatches(f.Get("code_verifier"), g.challenge, g.method):
			opkit.WriteError(w, http.StatusBadRequest, "invalid_grant", "Invalid code verifier.")
			return
		}
		g.used = true
		s.issue(w, g, true)
	case "refresh_token":
		g := s.refresh[f.Get("refresh_token")]
		if g == nil {
			opkit.WriteError(w, http.StatusBadRequest, "invalid_grant", "Token has been expired or revoked.")
			return
		}
		s.issue(w, g, false)
	default:
		opkit.WriteError(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+f.Get("grant_type"))
	}
}

// issue writes a token response for g; s.mu is held.
func (s *Server) issue(w http.ResponseWriter, g *grant, login bool) {
	access := opkit.RandomToken("ya29.")
	s.access[access] = true
	body := map[string]any{
		"access_token": access,
		"expires_in":   3599,
		"scope":        g.scope,
		"token_type":   "Bearer",
	}
	if slices.Contains(strings.Fields(g.scope), "openid") {
		nonce := ""
		if login {
			nonce = g.nonce
		}
		body["id_token"] = s.idToken(access, nonce)
	}
	if login && g.refreshable && !s.cfg.NoRefreshTokens {
		rt := opkit.RandomToken("1//0")
		s.refresh[rt] = g
		body["refresh_token"] = rt
	}
	opkit.WriteJSON(w, http.StatusOK, body)
}

func (s *Server) idToken(access, nonce string) string {
	u := s.cfg.User
	now := time.Now()
	iss := s.URL
	if s.cfg.IssClaim != "" {
		iss = s.cfg.IssClaim
	}
	c := map[string]any{
		"iss": iss, "azp": ClientID, "aud": ClientID, "sub": u.Sub,
		"at_hash": opkit.AtHash(access), "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
	if u.Email != "" {
		c["email"], c["email_verified"] = u.Email, u.EmailVerified
	}
	if u.HD != "" {
		c["hd"] = u.HD
	}
	if u.Name != "" {
		c["name"] = u.Name
		c["given_name"], _, _ = strings.Cut(u.Name, " ")
	}
	if u.Picture != "" {
		c["picture"] = u.Picture
	}
	if nonce != "" {
		c["nonce"] = nonce
	}
	tok, err := s.key.Sign("JWT", c)
	if err != nil {
		panic(err) // the claims are strings and numbers
	}
	return tok
}

// pkceMatches is Google's PKCE check: S256, or plain when the client asked
// for it or sent no method (RFC 7636 §4.3). Either way the verifier must
// have the syntax of RFC 7636 §4.1.
func pkceMatches(verifier, challenge, method string) bool {
	if method == "S256" {
		return opkit.VerifyS256(verifier, challenge)
	}
	return opkit.ValidVerifier(verifier) && subtle.ConstantTimeCompare([]byte(verifier), []byte(challenge)) == 1
}

func (s *Server) serveUserInfo(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	valid := ok && s.access[tok]
	s.mu.Unlock()
	if !valid {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
		opkit.WriteError(w, http.StatusUnauthorized, "invalid_request", "Invalid Credentials")
		return
	}
	u := s.cfg.User
	c := map[string]any{"sub": u.Sub, "name": u.Name, "picture": u.Picture, "email": u.Email, "email_verified": u.EmailVerified}
	if u.HD != "" {
		c["hd"] = u.HD
	}
	opkit.WriteJSON(w, http.StatusOK, c)
}

func (s *Server) serveRevoke(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	tok := r.PostForm.Get("token")
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.access[tok] && s.refresh[tok] == nil {
		opkit.WriteError(w, http.StatusBadRequest, "invalid_token", "Token expired or revoked")
		return
	}
	delete(s.access, tok)
	delete(s.refresh, tok)
	opkit.WriteJSON(w, http.StatusOK, map[string]any{})
}
