package devoidc

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

// tokenResponse is the successful token response of RFC 6749 §5.1 with the
// ID token of OpenID Connect Core 1.0 §3.1.3.3. The authorization_code and
// refresh_token grants always issue a refresh token and an ID token; the
// client_credentials grant issues neither (RFC 6749 §4.4.3).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// handleToken serves POST /token: the authorization_code grant
// (RFC 6749 §4.1.3 with PKCE, RFC 7636 §4.5), the refresh_token grant with
// rotation (RFC 6749 §6, RFC 9700 §4.14.2) and the client_credentials grant
// (RFC 6749 §4.4, clientcredentials.go). Errors follow RFC 6749 §5.2.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.stats.token.Add(1)
	opkit.NoStore(w)
	form, client, ok := s.clientForm(w, r, "devoidc: token request refused")
	if !ok {
		return
	}
	grantType := form.Get("grant_type")
	if grantType == "client_credentials" {
		s.clientCredentials(w, form, client)
		return
	}
	tok := s.newIssue()
	var (
		g    grantView
		oerr *oauthError
	)
	switch grantType {
	case "authorization_code":
		g, oerr = s.exchangeCode(form, client, tok)
	case "refresh_token":
		g, oerr = s.refresh(form, client, tok)
	case "":
		oerr = invalidRequest("grant_type is required")
	default:
		oerr = &oauthError{code: "unsupported_grant_type", description: "only authorization_code, refresh_token and client_credentials are supported", status: http.StatusBadRequest}
	}
	if oerr != nil {
		s.log.Info("devoidc: token request refused", "client_id", client.ID, "error", oerr.code)
		writeOAuthError(w, oerr)
		return
	}

	now := s.now()
	access, err := s.encodeAccess(tok.access, g.access)
	var idToken string
	if err == nil {
		idToken, err = s.idToken(now, g, access)
	}
	if err != nil {
		s.log.Error("devoidc: sign tokens", "client_id", client.ID, "err", err)
		s.store.revoke(tokenHash(tok.refresh), client.ID)
		writeOAuthError(w, &oauthError{code: "server_error", description: "the tokens could not be signed", status: http.StatusInternalServerError})
		return
	}
	opkit.WriteJSON(w, http.StatusOK, tokenResponse{
		AccessToken:  access,
		TokenType:    "Bearer",
		ExpiresIn:    int64(g.access.expires.Sub(now) / time.Second),
		RefreshToken: tok.refresh,
		IDToken:      idToken,
		Scope:        strings.Join(g.access.scope, " "),
	})
}

// exchangeCode performs the authorization_code grant. The checks on the
// request's shape come first and do not spend the code; once the code is
// looked up, any mismatch spends it.
func (s *Server) exchangeCode(form url.Values, client Client, tok issue) (grantView, *oauthError) {
	code, redirectURI, verifier := form.Get("code"), form.Get("redirect_uri"), form.Get("code_verifier")
	switch {
	case code == "":
		return grantView{}, invalidRequest("code is required")
	case redirectURI == "":
		return grantView{}, invalidRequest("redirect_uri is required")
	case verifier == "":
		return grantView{}, invalidRequest("code_verifier is required (PKCE, RFC 7636)")
	case !opkit.ValidVerifier(verifier):
		return grantView{}, invalidRequest("code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1)")
	}
	g, oerr := s.store.redeemCode(s.now(), code, func(c *authCode) *oauthError {
		switch {
		case c.clientID != client.ID:
			return invalidGrant("the authorization code was issued to another client")
		case c.redirectURI != redirectURI:
			return invalidGrant("redirect_uri does not match the authorization request")
		case !opkit.VerifyS256(verifier, c.challenge):
			return invalidGrant("code_verifier does not match code_challenge")
		}
		return nil
	}, tok)
	switch {
	case oerr == nil:
		s.log.Info("devoidc: code exchanged", "client_id", client.ID)
	case oerr.description == descCodeReplayed:
		s.log.Warn("devoidc: authorization code replayed; its tokens are revoked", "client_id", client.ID)
	}
	return g, oerr
}

// refresh performs the refresh_token grant with rotation and reuse
// detection. The new ID token has the same iss, sub, aud, sid and
// auth_time, and no nonce (OpenID Connect Core 1.0 §12.2).
func (s *Server) refresh(form url.Values, client Client, tok issue) (grantView, *oauthError) {
	rt := form.Get("refresh_token")
	if rt == "" {
		return grantView{}, invalidRequest("refresh_token is required")
	}
	var scope []string
	if form.Has("scope") {
		if scope = strings.Fields(form.Get("scope")); len(scope) == 0 {
			return grantView{}, invalidRequest("scope must not be empty")
		}
	}
	g, oerr := s.store.rotateRefresh(s.now(), rt, client.ID, scope, tok)
	switch {
	case oerr == nil:
		s.log.Info("devoidc: refresh token rotated", "client_id", client.ID)
	case oerr.description == descRefreshReused:
		s.log.Warn("devoidc: refresh token reuse detected; grant revoked", "client_id", client.ID)
	}
	return g, oerr
}
