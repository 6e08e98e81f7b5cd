package fakeentra

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

// grant is what an authorization code, or a refresh token, stands for.
type grant struct {
	tenant      string // the {tenant} of the authorization request's path
	redirectURI string
	challenge   string
	nonce       string
	scope       string
	used        bool
}

// errorPage is what Entra shows instead of redirecting when the request
// cannot be trusted to go back to the client.
func errorPage(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	w.Write([]byte("<!doctype html><title>Sign in to your account</title><p>" + code + "</p>"))
}

func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	path, id, ok := s.tenantOf(r)
	if !ok {
		errorPage(w, "AADSTS90002: Tenant not found.")
		return
	}
	q := r.URL.Query()
	if q.Get("client_id") != ClientID {
		errorPage(w, "AADSTS700016: Application not found in the directory.")
		return
	}
	redirectURI := q.Get("redirect_uri")
	if !slices.Contains(s.cfg.RedirectURIs, redirectURI) {
		errorPage(w, "AADSTS50011: The redirect URI specified in the request does not match the redirect URIs configured for the application.")
		return
	}
	back := url.Values{}
	if st, ok := q["state"]; ok {
		back.Set("state", st[0])
	}
	fail := func(code, desc string) {
		back.Set("error", code)
		back.Set("error_description", desc)
		http.Redirect(w, r, opkit.AppendQuery(redirectURI, back), http.StatusFound)
	}
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "AADSTS700054: response_type is not enabled for the application.")
		return
	case q.Get("code_challenge_method") != "S256" || !opkit.ValidS256Challenge(q.Get("code_challenge")):
		fail("invalid_request", "AADSTS501491: Invalid size of Code_Challenge parameter.")
		return
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		fail("invalid_request", "AADSTS900144: The request body must contain the openid scope.")
		return
	}
	home := s.cfg.User.Tenant
	switch {
	case id != "" && id != home,
		path == "organizations" && home == Consumers:
		fail("access_denied", "AADSTS50020: User account from identity provider does not exist in tenant.")
		return
	}
	code := opkit.RandomToken("1.AXkA")
	s.mu.Lock()
	s.codes[code] = &grant{tenant: path, redirectURI: redirectURI, challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), scope: q.Get("scope")}
	s.mu.Unlock()
	back.Set("code", code)
	back.Set("session_state", "fake-session")
	http.Redirect(w, r, opkit.AppendQuery(redirectURI, back), http.StatusFound)
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	path, _, ok := s.tenantOf(r)
	if !ok {
		unknownTenant(w)
		return
	}
	if err := r.ParseForm(); err != nil {
		opkit.WriteError(w, http.StatusBadRequest, "invalid_request", "AADSTS900144: malformed request body.")
		return
	}
	if !opkit.ClientSecretAuth(r, ClientID, ClientSecret) {
		opkit.WriteError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
		return
	}
	f := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	switch f.Get("grant_type") {
	case "authorization_code":
		g := s.codes[f.Get("code")]
		switch {
		case g == nil || g.used || g.tenant != path:
			opkit.WriteError(w, http.StatusBadRequest, "invalid_grant", "AADSTS70008: The provided authorization code or refresh token has expired or was already used.")
			return
		case f.Get("redirect_uri") != g.redirectURI:
			opkit.WriteError(w, http.StatusBadRequest, "invalid_grant", "AADSTS500112: The reply address does not match the reply address provided when requesting the authorization code.")
			return
		case !opkit.VerifyS256(f.Get("code_verifier"), g.challenge):
			opkit.WriteError(w, http.StatusBadRequest, "invalid_grant", "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.")
			return
		}
		g.used = true
		s.issue(w, g, true)
	case "refresh_token":
		g := s.refresh[f.Get("refresh_token")]
		if g == nil || g.tenant != path {
			opkit.WriteError(w, http.StatusBadRequest, "invalid_grant", "AADSTS70008: The refresh token has expired.")
			return
		}
		s.issue(w, g, false)
	default:
		opkit.WriteError(w, http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
	}
}

// issue writes a token response for g; s.mu is held.
func (s *Server) issue(w http.ResponseWriter, g *grant, login bool) {
	body := map[string]any{
		"token_type":     "Bearer",
		"scope":          g.scope,
		"expires_in":     4166,
		"ext_expires_in": 4166,
		"access_token":   opkit.RandomToken("eyJ0eXAiOiJKV1Qi."),
	}
	nonce := ""
	if login {
		nonce = g.nonce
	}
	body["id_token"] = s.idToken(nonce)
	if slices.Contains(strings.Fields(g.scope), "offline_access") {
		rt := opkit.RandomToken("0.AXkA")
		s.refresh[rt] = g
		body["refresh_token"] = rt
	}
	opkit.WriteJSON(w, http.StatusOK, body)
}

func (s *Server) idToken(nonce string) string {
	u := s.cfg.User
	now := time.Now()
	c := map[string]any{
		"ver": "2.0", "iss": s.URL + "/" + u.Tenant + "/v2.0", "tid": u.Tenant,
		"aud": ClientID, "sub": u.Sub, "oid": u.OID, "name": u.Name,
		"preferred_username": "ada@contoso.onmicrosoft.com",
		"iat":                now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"aio": "fake-aio", "rh": "fake-rh", "uti": opkit.RandomToken(""),
	}
	if nonce != "" {
		c["nonce"] = nonce
	}
	if u.Email != "" {
		c["email"] = u.Email
	}
	if u.EDOV != nil {
		c["xms_edov"] = *u.EDOV
	}
	if len(u.Roles) > 0 {
		c["roles"] = u.Roles
	}
	switch {
	case u.Overage:
		c["_claim_names"] = map[string]any{"groups": "src1"}
		c["_claim_sources"] = map[string]any{"src1": map[string]any{
			"endpoint": "https://graph.microsoft.com/v1.0/users/" + u.OID + "/getMemberObjects",
		}}
	case len(u.Groups) > 0:
		c["groups"] = u.Groups
	}
	if s.cfg.Claims != nil {
		s.cfg.Claims(c)
	}
	kid := "org"
	if u.Tenant == Consumers {
		kid = "msa"
	}
	if s.cfg.SigningKey != "" {
		kid = s.cfg.SigningKey
	}
	tok, err := s.keys[kid].Sign("JWT", c)
	if err != nil {
		panic(err)
	}
	return tok
}

func (s *Server) serveLogout(w http.ResponseWriter, r *http.Request) {
	// "This URL must match one of the redirect URIs registered for your
	// application" (v2-protocols-oidc, Send a sign-out request).
	if to := r.URL.Query().Get("post_logout_redirect_uri"); slices.Contains(s.cfg.RedirectURIs, to) {
		http.Redirect(w, r, to, http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte("<!doctype html><title>Signed out</title><p>You signed out of your account."))
}
