package devoidc

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The sign-in page is a form that posts back to /authorize. The post is
// protected twice against cross-site submission (which would let another
// site sign the browser in as a user of its choosing):
//
//   - net/http's CrossOriginProtection refuses posts whose Sec-Fetch-Site
//     or Origin header shows another origin;
//   - the form carries a token, the HMAC under a per-Server key of a random
//     value in a cookie scoped to the issuer's path (a signed double-submit
//     cookie, OWASP CSRF Prevention Cheat Sheet), so a post must come from
//     a page this provider rendered for this browser.

// csrfField is the name of the form field holding the CSRF token.
const csrfField = "csrf_token"

// csrfToken returns the token for the sign-in form, setting the browser's
// CSRF cookie first if it has none.
func (s *Server) csrfToken(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(s.csrfCookie)
	if err != nil || len(c.Value) != 43 {
		c = s.cookie(s.csrfCookie, randomToken(), 0)
		http.SetCookie(w, c)
	}
	return s.csrfMAC(c.Value)
}

func (s *Server) csrfMAC(cookie string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte("devoidc sign-in form\x00" + cookie))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF returns an error unless the sign-in post r is same-origin and
// carries the token matching its CSRF cookie. r.PostForm must be parsed.
func (s *Server) checkCSRF(r *http.Request) error {
	if err := s.cop.Check(r); err != nil {
		return err
	}
	c, err := r.Cookie(s.csrfCookie)
	if err != nil {
		return errors.New("no CSRF cookie")
	}
	want := s.csrfMAC(c.Value)
	if !hmac.Equal([]byte(want), []byte(r.PostForm.Get(csrfField))) {
		return errors.New("CSRF token mismatch")
	}
	return nil
}

// Form fields of the sign-in buttons: each user has one of each, and the
// button clicked decides the level of the sign-in (stepup.go).
const (
	subjectField    = "subject"     // sign in with ACRPassword
	subjectMFAField = "subject_mfa" // sign in with ACRMultiFactor
)

// signIn handles the sign-in form's POST, already checked by checkCSRF: it
// starts an OP session for the chosen user, at the level of the button
// clicked, and returns the code. The level chosen stands even when it is
// not the one acr_values asked for: the relying party reads acr.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, req authRequest) {
	sub, acr := r.PostForm.Get(subjectField), ACRPassword
	if mfa := r.PostForm.Get(subjectMFAField); mfa != "" {
		if sub != "" {
			s.messagePage(w, http.StatusBadRequest, "Request refused", "The sign-in form chose two ways to sign in at once.")
			return
		}
		sub, acr = mfa, ACRMultiFactor
	}
	u, ok := s.user(sub)
	if !ok {
		s.messagePage(w, http.StatusBadRequest, "Request refused", "The chosen user does not exist.")
		return
	}
	sess := s.startSession(w, r, u.Subject, acr)
	s.log.Info("devoidc: user signed in", "client_id", req.client.ID)
	s.issueCode(w, req, sess)
}

// signInData is what the sign-in page template shows.
type signInData struct {
	Title    string
	ClientID string
	Action   string
	CSRF     string
	AsksMFA  bool   // the request's acr_values ask for ACRMultiFactor
	MFA      string // ACRMultiFactor, for the page to name it
	Hidden   []hiddenField
	Users    []signInUser
}

type hiddenField struct{ Name, Value string }

type signInUser struct {
	Subject, Name, Email, Initials string
}

// showSignIn renders the sign-in page for req: two buttons per test user,
// to sign in with one factor or with a second one.
func (s *Server) showSignIn(w http.ResponseWriter, r *http.Request, req authRequest) {
	data := signInData{
		Title:    "Sign in",
		ClientID: req.client.ID,
		Action:   s.base + "/authorize",
		CSRF:     s.csrfToken(w, r),
		AsksMFA:  req.wantsMFA() && !s.ignoreStepUp,
		MFA:      ACRMultiFactor,
	}
	for _, name := range authorizeParams() {
		if req.params.Has(name) {
			data.Hidden = append(data.Hidden, hiddenField{name, req.params.Get(name)})
		}
	}
	for _, u := range s.users {
		name := u.Name
		if name == "" {
			name = u.Subject
		}
		data.Users = append(data.Users, signInUser{
			Subject:  u.Subject,
			Name:     name,
			Email:    u.Email,
			Initials: initials(name),
		})
	}
	s.render(w, http.StatusOK, s.pages.signIn, data)
}

// initials returns up to two capital initials of name, for the avatar.
func initials(name string) string {
	var out []rune
	for _, word := range strings.Fields(name) {
		r, _ := utf8.DecodeRuneInString(word)
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			out = append(out, unicode.ToUpper(r))
		}
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}
