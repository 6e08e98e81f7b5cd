package fakeapple

import (
	"encoding/json"
	"errors"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

// grant is what an authorization code, or a refresh token, stands for.
type grant struct {
	redirectURI string
	challenge   string
	nonce       string
	email       bool // the email scope was granted
	expires     time.Time
	used        bool
}

// errorPage is what Apple shows instead of answering the client when the
// request cannot be trusted to go back to it.
func errorPage(w http.ResponseWriter, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	template.Must(template.New("").Parse(`<!doctype html><title>Sign in with Apple</title><p>{{.}}</p>`)).Execute(w, text)
}

// formPage posts the authorization response to the redirect URI (OAuth 2.0
// Form Post Response Mode §2: an auto-submitting form).
var formPage = template.Must(template.New("").Parse(`<!doctype html>
<html><head><title>Sign in with Apple</title></head>
<body onload="document.forms[0].submit()">
<form method="post" action="{{.Action}}">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<noscript><button type="submit">Continue</button></noscript>
</form></body></html>
`))

type field struct{ Name, Value string }

func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != ServicesID {
		errorPage(w, "invalid_client")
		return
	}
	redirectURI := q.Get("redirect_uri")
	if !slices.Contains(s.cfg.RedirectURIs, redirectURI) {
		errorPage(w, "invalid_request: Invalid web redirect url.")
		return
	}
	if q.Get("response_type") != "code" {
		errorPage(w, "unsupported_response_type")
		return
	}
	scopes := strings.Fields(q.Get("scope"))
	wantName, wantEmail := slices.Contains(scopes, "name"), slices.Contains(scopes, "email")
	if (wantName || wantEmail) && q.Get("response_mode") != "form_post" {
		errorPage(w, "invalid_request: response_mode must be form_post when name or email scope is requested.")
		return
	}
	if c := q.Get("code_challenge"); c != "" && (q.Get("code_challenge_method") != "S256" || !opkit.ValidS256Challenge(c)) {
		errorPage(w, "invalid_request: code_challenge")
		return
	}
	var fields []field
	if st, ok := q["state"]; ok {
		fields = append(fields, field{"state", st[0]})
	}
	if s.cfg.Deny {
		fields = append(fields, field{"error", "user_cancelled_authorize"})
		s.writeForm(w, redirectURI, fields)
		return
	}
	code := opkit.RandomToken("c")
	s.mu.Lock()
	s.codes[code] = &grant{
		redirectURI: redirectURI, challenge: q.Get("code_challenge"), nonce: q.Get("nonce"),
		email: wantEmail, expires: s.cfg.Clock().Add(5 * time.Minute),
	}
	first := !s.authorized
	s.authorized = true
	s.mu.Unlock()
	fields = append(fields, field{"code", code})
	if first && (wantName || wantEmail) {
		// Only the first authorization of the client carries "user".
		u := map[string]any{}
		if wantName {
			u["name"] = map[string]string{"firstName": s.cfg.User.FirstName, "lastName": s.cfg.User.LastName}
		}
		if wantEmail {
			u["email"] = s.cfg.User.Email
		}
		b, _ := json.Marshal(u)
		fields = append(fields, field{"user", string(b)})
	}
	s.writeForm(w, redirectURI, fields)
}

func (s *Server) writeForm(w http.ResponseWriter, action string, fields []field) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	opkit.NoStore(w)
	formPage.Execute(w, struct {
		Action string
		Fields []field
	}{action, fields})
}

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	formField  = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// ParseFormPost reads the page the authorization endpoint answers with
// and returns where its form posts and what: the browser's part of the
// Form Post Response Mode, for a test to play.
func ParseFormPost(page []byte) (action string, form url.Values, err error) {
	m := formAction.FindSubmatch(page)
	if m == nil {
		return "", nil, errors.New("fakeapple: no form post in the page")
	}
	form = url.Values{}
	for _, f := range formField.FindAllSubmatch(page, -1) {
		form.Add(html.UnescapeString(string(f[1])), html.UnescapeString(string(f[2])))
	}
	return html.UnescapeString(string(m[1])), form, nil
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		opkit.WriteError(w, http.StatusBadRequest, "invalid_request", "")
		return
	}
	if !s.clientAuthenticated(r) {
		opkit.WriteError(w, http.StatusBadRequest, "invalid_client", "")
		return
	}
	f := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	switch f.Get("grant_type") {
	case "authorization_code":
		g := s.codes[f.Get("code")]
		switch {
		case g == nil || g.used || !s.cfg.Clock().Before(g.expires):
			opkit.WriteError(w, http.StatusBadRequest, "invalid_grant", "")
			return
		case f.Get("redirect_uri") != g.redirectURI:
			opkit.WriteError(w, http.StatusBadRequest, "invalid_grant", "")
			return
		case g.challenge != "" && !opkit.VerifyS256(f.Get("code_verifier"), g.challenge):
			opkit.WriteError(w, http.StatusBadRequest, "invalid_grant", "")
			return
		}
		g.used = true
		s.issue(w, g, true)
	case "refresh_token":
		g := s.refresh[f.Get("refresh_token")]
		if g == nil {
			opkit.WriteError(w, http.StatusBadRequest, "invalid_grant", "")
			return
		}
		s.issue(w, g, false)
	default:
		opkit.WriteError(w, http.StatusBadRequest, "unsupported_grant_type", "")
	}
}

// clientAuthenticated accepts client_secret_post only: client_id and a
// client_secret JWT that verifies (clientsecret.go) in the body, and no
// HTTP Basic credentials.
func (s *Server) clientAuthenticated(r *http.Request) bool {
	if _, _, basic := r.BasicAuth(); basic || r.Header.Get("Authorization") != "" {
		s.refuse("basic_auth")
		return false
	}
	if r.PostForm.Get("client_id") != ServicesID || len(r.PostForm["client_secret"]) != 1 {
		s.refuse("client_id")
		return false
	}
	if reason := s.checkSecret(r.PostForm.Get("client_secret")); reason != "" {
		s.refuse(reason)
		return false
	}
	return true
}

func (s *Server) refuse(reason string) {
	s.mu.Lock()
	s.refusals = append(s.refusals, reason)
	s.mu.Unlock()
}

// issue writes a token response for g; s.mu is held.
func (s *Server) issue(w http.ResponseWriter, g *grant, login bool) {
	access := opkit.RandomToken("a")
	body := map[string]any{
		"access_token": access,
		"token_type":   "Bearer",
		"expires_in":   3600,
		"id_token":     s.idToken(access, g, login),
	}
	if login {
		rt := opkit.RandomToken("r")
		s.refresh[rt] = g
		body["refresh_token"] = rt
	}
	opkit.WriteJSON(w, http.StatusOK, body)
}

func (s *Server) idToken(access string, g *grant, login bool) string {
	now := time.Now()
	u := s.cfg.User
	c := map[string]any{
		"iss": s.URL, "aud": ServicesID, "sub": u.Sub,
		"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "auth_time": now.Unix(),
		"at_hash": opkit.AtHash(access), "nonce_supported": true, "real_user_status": 2,
	}
	if g.email {
		c["email"] = u.Email
		if s.cfg.BoolClaims {
			c["email_verified"], c["is_private_email"] = true, u.PrivateEmail
		} else {
			c["email_verified"], c["is_private_email"] = "true", boolString(u.PrivateEmail)
		}
	}
	if login && g.nonce != "" {
		c["nonce"] = g.nonce
	}
	tok, err := s.key.Sign("", c)
	if err != nil {
		panic(err) // the claims are strings and numbers
	}
	return tok
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func (s *Server) serveRevoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || !s.clientAuthenticated(r) {
		opkit.WriteError(w, http.StatusBadRequest, "invalid_client", "")
		return
	}
	s.mu.Lock()
	delete(s.refresh, r.PostForm.Get("token"))
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}
