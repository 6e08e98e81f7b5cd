package devoidc

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

// authRequest is a validated authorization request (OpenID Connect Core 1.0
// §3.1.2.1, https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest).
type authRequest struct {
	client      Client
	redirectURI string
	state       string
	nonce       string
	challenge   string
	scope       []string
	prompt      string   // "", "none" or "login"
	maxAge      int64    // seconds; -1 when absent
	acrValues   []string // in order of preference (§3.1.2.1)
	params      url.Values
}

// authorizeParams are the parameters the sign-in form carries over from the
// GET request into its POST.
func authorizeParams() []string {
	return []string{
		"client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
		"code_challenge", "code_challenge_method",
	}
}

// Outcomes of decide.
const (
	outcomeSSO           = iota // an OP session exists: sign in silently
	outcomeAutoLogin            // Config.AutoLogin: sign that user in silently
	outcomeSignInPage           // show the sign-in page
	outcomeLoginRequired        // prompt=none without a usable session
)

// handleAuthorize serves GET and POST /authorize. GET is the authorization
// request; POST is the sign-in page's form, which carries the same
// parameters plus the chosen user and is checked for cross-site requests.
// Until client_id and redirect_uri are known good, errors are an HTML page
// and never a redirect (RFC 6749 §4.1.2.1).
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	s.stats.authorize.Add(1)
	opkit.NoStore(w)
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			s.messagePage(w, http.StatusBadRequest, "Request refused", "The sign-in form could not be read.")
			return
		}
		if err := s.checkCSRF(r); err != nil {
			s.log.Warn("devoidc: sign-in form refused", "reason", err.Error())
			s.messagePage(w, http.StatusForbidden, "Request refused", "The sign-in form was not submitted from this provider's own page. Start the sign-in again from the application.")
			return
		}
		params = r.PostForm
	}
	req, problem, oerr := s.parseAuthorize(params)
	if problem != "" {
		s.messagePage(w, http.StatusBadRequest, "Request refused", problem)
		return
	}
	if oerr != nil {
		s.redirectError(w, req, oerr)
		return
	}
	if r.Method == http.MethodPost {
		s.signIn(w, r, req)
		return
	}
	sess, outcome := s.decide(r, req)
	switch outcome {
	case outcomeSSO:
		s.issueCode(w, req, sess)
	case outcomeAutoLogin:
		s.issueCode(w, req, s.startSession(w, r, s.autoLogin, s.requestedACR(req)))
	case outcomeLoginRequired:
		s.redirectError(w, req, &oauthError{code: "login_required", description: "the user is not signed in"})
	default:
		s.showSignIn(w, r, req)
	}
}

// parseAuthorize validates an authorization request. problem is set when
// the client or redirect URI is not trustworthy, in which case the caller
// must show it on a page and not redirect; otherwise oerr is an error to
// redirect back with.
func (s *Server) parseAuthorize(p url.Values) (req authRequest, problem string, oerr *oauthError) {
	if len(p["client_id"]) != 1 || len(p["redirect_uri"]) != 1 {
		return req, "The request must carry exactly one client_id and one redirect_uri.", nil
	}
	c, ok := s.clients[p.Get("client_id")]
	if !ok {
		return req, "The client_id is not registered with this provider.", nil
	}
	if !slices.Contains(c.RedirectURIs, p.Get("redirect_uri")) {
		return req, "The redirect_uri is not registered for this client, so the provider will not redirect to it.", nil
	}
	req = authRequest{client: c, redirectURI: p.Get("redirect_uri"), state: p.Get("state"), maxAge: -1, params: p}

	if err := singleValued(p); err != nil {
		return req, "", err
	}
	switch rt := p.Get("response_type"); {
	case rt == "":
		return req, "", invalidRequest("response_type is required")
	case rt != "code":
		return req, "", &oauthError{code: "unsupported_response_type", description: "only response_type=code is supported"}
	}
	if p.Has("request") {
		return req, "", &oauthError{code: "request_not_supported", description: "request objects are not supported"}
	}
	if p.Has("request_uri") {
		return req, "", &oauthError{code: "request_uri_not_supported", description: "request_uri is not supported"}
	}
	if rm := p.Get("response_mode"); rm != "" && rm != "query" {
		return req, "", invalidRequest("only response_mode=query is supported")
	}
	req.scope = parseScope(p.Get("scope"))
	if !slices.Contains(req.scope, "openid") {
		return req, "", &oauthError{code: "invalid_scope", description: "the scope must include openid"}
	}
	req.challenge = p.Get("code_challenge")
	switch {
	case req.challenge == "":
		return req, "", invalidRequest("code_challenge is required: PKCE with S256 (RFC 7636)")
	case p.Get("code_challenge_method") != "S256":
		return req, "", invalidRequest("code_challenge_method must be S256")
	case !opkit.ValidS256Challenge(req.challenge):
		return req, "", invalidRequest("code_challenge must be a base64url-encoded SHA-256 digest")
	}
	req.nonce = p.Get("nonce")
	if len(req.nonce) > 1024 {
		return req, "", invalidRequest("nonce is too long")
	}
	prompts := strings.Fields(p.Get("prompt"))
	switch {
	case slices.Contains(prompts, "none") && len(prompts) > 1:
		return req, "", invalidRequest("prompt=none cannot be combined with other values")
	case slices.Contains(prompts, "none"):
		req.prompt = "none"
	case slices.Contains(prompts, "login"):
		req.prompt = "login"
	}
	if v := p.Get("max_age"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return req, "", invalidRequest("max_age must be a non-negative integer")
		}
		req.maxAge = n
	}
	req.acrValues = strings.Fields(p.Get("acr_values"))
	return req, "", nil
}

// decide returns what GET /authorize does with req, given the browser's OP
// session: single sign-on unless prompt=login, max_age or acr_values ask
// for a new sign-in (OpenID Connect Core 1.0 §3.1.2.1, stepup.go), then
// AutoLogin, then the sign-in page. prompt=none never shows a page.
func (s *Server) decide(r *http.Request, req authRequest) (opSession, int) {
	sess, ok := s.currentSession(r)
	if ok && !s.mustReauthenticate(sess, req) {
		return sess, outcomeSSO
	}
	switch {
	case req.prompt == "none":
		return opSession{}, outcomeLoginRequired
	case s.autoLogin != "":
		return opSession{}, outcomeAutoLogin
	}
	return opSession{}, outcomeSignInPage
}

// issueCode stores a new authorization code for sess and redirects to the
// client with it, the state and the issuer (RFC 9207).
func (s *Server) issueCode(w http.ResponseWriter, req authRequest, sess opSession) {
	now := s.now()
	code := randomToken()
	s.store.putCode(now, code, &authCode{
		clientID:    req.client.ID,
		redirectURI: req.redirectURI,
		challenge:   req.challenge,
		nonce:       req.nonce,
		scope:       req.scope,
		subject:     sess.subject,
		sid:         sess.sid,
		authTime:    sess.authTime,
		acr:         sess.acr,
		expires:     now.Add(codeLifetime),
	})
	s.log.Info("devoidc: authorization code issued", "client_id", req.client.ID)
	params := url.Values{"code": {code}, "iss": {s.issuer}}
	if req.state != "" {
		params.Set("state", req.state)
	}
	redirect(w, opkit.AppendQuery(req.redirectURI, params))
}

// redirectError sends the error response of RFC 6749 §4.1.2.1 to the
// client's validated redirect URI, with the issuer (RFC 9207 §2).
func (s *Server) redirectError(w http.ResponseWriter, req authRequest, e *oauthError) {
	s.log.Info("devoidc: authorization request refused", "client_id", req.client.ID, "error", e.code)
	params := url.Values{"error": {e.code}, "error_description": {e.description}, "iss": {s.issuer}}
	if req.state != "" {
		params.Set("state", req.state)
	}
	redirect(w, opkit.AppendQuery(req.redirectURI, params))
}

// redirect sends a 303 to a URL built from a registered redirect URI.
func redirect(w http.ResponseWriter, location string) {
	w.Header().Set("Location", location)
	w.WriteHeader(http.StatusSeeOther)
}
