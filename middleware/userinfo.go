package middleware

import (
	"encoding/json"
	"net/http"
	"time"
)

// userInfo is the JSON shape of GET /auth/userinfo. It never holds tokens.
type userInfo struct {
	ID       string   `json:"id"`
	Provider string   `json:"provider"`
	Issuer   string   `json:"issuer,omitempty"`
	Subject  string   `json:"sub"`
	Email    string   `json:"email,omitempty"`
	Name     string   `json:"name,omitempty"`
	Login    string   `json:"login,omitempty"`
	Picture  string   `json:"picture,omitempty"`
	Groups   []string `json:"groups,omitempty"`
	// GroupsIncomplete says Groups lists only some of the user's groups.
	GroupsIncomplete bool      `json:"groups_incomplete,omitempty"`
	SessionExpires   time.Time `json:"session_expires"`
	TokenExpires     time.Time `json:"access_token_expires,omitzero"`
}

// serveUserInfo answers with the signed-in user as JSON, or 401 JSON.
func (a *Auth) serveUserInfo(w http.ResponseWriter, r *http.Request) {
	s, err := a.Session(r)
	if err != nil {
		// An API endpoint: never a redirect, whatever the client accepts.
		r2 := r.Clone(r.Context())
		r2.Header.Set("Accept", "application/json")
		r2.Header.Del("Sec-Fetch-Mode")
		a.fail(w, r2, &loginRequired{failure: err, login: a.loginPath(a.s.home)})
		return
	}
	u := &s.User
	body, err := json.Marshal(userInfo{
		ID: u.ID(), Provider: u.Provider, Issuer: u.Issuer, Subject: u.Subject,
		Email: u.Email, Name: u.Name, Login: u.Login, Picture: u.Picture, Groups: u.Groups, GroupsIncomplete: u.GroupsIncomplete,
		SessionExpires: s.Expires.UTC(), TokenExpires: s.Tokens.Expiry.UTC(),
	})
	if err != nil {
		a.fail(w, r, fail(ErrInternal, "userinfo_encode", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(append(body, '\n'))
}
