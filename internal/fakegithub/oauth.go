package fakegithub

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

// grant is what a code, access token or refresh token stands for.
type grant struct {
	redirectURI string
	challenge   string
	scopes      []string
	used        bool
}

const troubleshootAuthorize = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/"

func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != ClientID || len(s.cfg.RedirectURIs) == 0 {
		http.NotFound(w, r)
		return
	}
	back := url.Values{}
	if st := q.Get("state"); st != "" {
		back.Set("state", st)
	}
	redirectURI := q.Get("redirect_uri")
	if redirectURI != "" && !slices.Contains(s.cfg.RedirectURIs, redirectURI) {
		back.Set("error", "redirect_uri_mismatch")
		back.Set("error_description", "The redirect_uri MUST match the registered callback URL for this application.")
		back.Set("error_uri", troubleshootAuthorize+"#redirect-uri-mismatch")
		redirect(w, r, s.cfg.RedirectURIs[0], back)
		return
	}
	target := redirectURI
	if target == "" {
		target = s.cfg.RedirectURIs[0]
	}
	challenge := q.Get("code_challenge")
	if m := q.Get("code_challenge_method"); (challenge != "" || m != "") && m != "S256" {
		back.Set("error", "invalid_request")
		back.Set("error_description", "Only the S256 code challenge method is supported.")
		redirect(w, r, target, back)
		return
	}
	if s.cfg.Deny {
		back.Set("error", "access_denied")
		back.Set("error_description", "The user has denied your application access.")
		back.Set("error_uri", troubleshootAuthorize+"#access-denied")
		redirect(w, r, target, back)
		return
	}
	scopes := strings.FieldsFunc(q.Get("scope"), func(r rune) bool { return r == ' ' || r == ',' })
	slices.Sort(scopes)
	code := random("")[:20]
	s.mu.Lock()
	s.codes[code] = &grant{redirectURI: redirectURI, challenge: challenge, scopes: slices.Compact(scopes)}
	s.mu.Unlock()
	back.Set("code", code)
	redirect(w, r, target, back)
}

// redirect answers with GitHub's 302 to target with q appended.
func redirect(w http.ResponseWriter, r *http.Request, target string, q url.Values) {
	http.Redirect(w, r, opkit.AppendQuery(target, q), http.StatusFound)
}

// tokenErrors are the documented token endpoint errors; GitHub sends them
// with HTTP 200.
var tokenErrors = map[string]string{
	"bad_verification_code":        "The code passed is incorrect or expired.",
	"incorrect_client_credentials": "The client_id and/or client_secret passed are incorrect.",
	"redirect_uri_mismatch":        "The redirect_uri MUST match the registered callback URL for this application.",
	"bad_refresh_token":            "The refresh token passed is incorrect or expired.",
	"unsupported_grant_type":       "The grant type is not supported.",
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f := r.PostForm
	fail := func(code string) {
		tokenResponse(w, r, map[string]any{
			"error": code, "error_description": tokenErrors[code],
			"error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#" + strings.ReplaceAll(code, "_", "-"),
		})
	}
	if s.cfg.TokenError != "" {
		fail(s.cfg.TokenError)
		return
	}
	if f.Get("client_id") != ClientID || subtle.ConstantTimeCompare([]byte(f.Get("client_secret")), []byte(ClientSecret)) != 1 {
		fail("incorrect_client_credentials")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch f.Get("grant_type") {
	case "", "authorization_code":
		g := s.codes[f.Get("code")]
		switch {
		case g == nil || g.used:
			fail("bad_verification_code")
			return
		case g.redirectURI != "" && f.Get("redirect_uri") != g.redirectURI:
			fail("redirect_uri_mismatch")
			return
		case g.challenge != "" && !opkit.VerifyS256(f.Get("code_verifier"), g.challenge):
			fail("bad_verification_code")
			return
		}
		g.used = true
		s.issue(w, r, g)
	case "refresh_token":
		rt := f.Get("refresh_token")
		g := s.refresh[rt]
		if g == nil || !s.cfg.ExpiringTokens {
			fail("bad_refresh_token")
			return
		}
		delete(s.refresh, rt) // refresh tokens rotate: each works once
		s.issue(w, r, g)
	default:
		fail("unsupported_grant_type")
	}
}

// issue writes a token response for g; s.mu is held.
func (s *Server) issue(w http.ResponseWriter, r *http.Request, g *grant) {
	if !s.cfg.ExpiringTokens {
		access := random("gho_")
		s.access[access] = g
		tokenResponse(w, r, map[string]any{"access_token": access, "scope": strings.Join(g.scopes, ","), "token_type": "bearer"})
		return
	}
	access, refresh := random("ghu_"), random("ghr_")
	s.access[access] = g
	s.refresh[refresh] = g
	tokenResponse(w, r, map[string]any{
		"access_token": access, "expires_in": 28800,
		"refresh_token": refresh, "refresh_token_expires_in": 15897600,
		"scope": "", "token_type": "bearer",
	})
}

// tokenResponse answers with HTTP 200, as JSON when the client accepts it
// and form-encoded otherwise (GitHub's default).
func tokenResponse(w http.ResponseWriter, r *http.Request, body map[string]any) {
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		opkit.WriteJSON(w, http.StatusOK, body)
		return
	}
	v := url.Values{}
	for k, x := range body {
		switch x := x.(type) {
		case string:
			v.Set(k, x)
		case int:
			v.Set(k, strconv.Itoa(x))
		}
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	w.Write([]byte(v.Encode()))
}
