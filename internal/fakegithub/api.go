package fakegithub

import (
	"net/http"
	"slices"
	"strings"

	"github.com/portcullis-go/portcullis/internal/opkit"
)

const restDocs = "https://docs.github.com/rest"

// authorized returns the grant of the request's token, or writes 401.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) *grant {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		tok, ok = strings.CutPrefix(h, "token ")
	}
	s.mu.Lock()
	g := s.access[tok]
	s.mu.Unlock()
	if !ok || g == nil {
		opkit.WriteJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials", "documentation_url": restDocs, "status": "401"})
		return nil
	}
	return g
}

// canRead reports whether the token may read what scope guards. GitHub App
// user tokens have no scopes; the app's permissions decide.
func (s *Server) canRead(g *grant, scopes ...string) bool {
	if s.cfg.ExpiringTokens {
		return true
	}
	for _, sc := range scopes {
		if slices.Contains(g.scopes, sc) {
			return true
		}
	}
	return false
}

func notFound(w http.ResponseWriter) {
	opkit.WriteJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found", "documentation_url": restDocs, "status": "404"})
}

func (s *Server) serveUser(w http.ResponseWriter, r *http.Request) {
	if s.authorized(w, r) == nil {
		return
	}
	if s.cfg.RawUser != "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write([]byte(s.cfg.RawUser))
		return
	}
	u := s.cfg.User
	var email any
	if u.PublicEmail != "" {
		email = u.PublicEmail
	}
	opkit.WriteJSON(w, http.StatusOK, map[string]any{
		"login": u.Login, "id": u.ID, "node_id": "MDQ6VXNlcjE=", "avatar_url": u.AvatarURL,
		"gravatar_id": "", "url": s.APIURL + "/users/" + u.Login, "html_url": s.URL + "/" + u.Login,
		"type": "User", "site_admin": false, "name": u.Name, "company": nil, "blog": "",
		"location": nil, "email": email, "hireable": nil, "bio": nil, "public_repos": 8,
		"followers": 20, "following": 0, "created_at": "2011-01-25T18:44:36Z", "updated_at": "2024-01-22T12:12:12Z",
	})
}

func (s *Server) serveEmails(w http.ResponseWriter, r *http.Request) {
	g := s.authorized(w, r)
	switch {
	case g == nil:
	case s.cfg.EmailsForbidden:
		opkit.WriteJSON(w, http.StatusForbidden, map[string]string{"message": "Resource not accessible by integration", "documentation_url": restDocs, "status": "403"})
	case !s.canRead(g, "user:email", "user"):
		notFound(w)
	default:
		emails := s.cfg.User.Emails
		if emails == nil {
			emails = []Email{}
		}
		opkit.WriteJSON(w, http.StatusOK, emails)
	}
}

// serveOrgMember is "Check organization membership for a user": 204 if
// the user is a member, 302 to the public check if the requester is not a
// member, 404 if the requester is a member and the user is not, or the
// organisation does not exist.
func (s *Server) serveOrgMember(w http.ResponseWriter, r *http.Request) {
	g := s.authorized(w, r)
	if g == nil {
		return
	}
	org, user := r.PathValue("org"), r.PathValue("user")
	member, exists := s.cfg.Orgs[org]
	if !exists {
		notFound(w)
		return
	}
	// Without read:org a private membership is invisible: the requester
	// looks like an outsider.
	requesterMember := member && s.canRead(g, "read:org", "write:org", "admin:org")
	switch {
	case !requesterMember:
		w.Header().Set("Location", s.APIURL+"/orgs/"+org+"/public_members/"+user)
		w.WriteHeader(http.StatusFound)
	case strings.EqualFold(user, s.cfg.User.Login):
		w.WriteHeader(http.StatusNoContent)
	default:
		notFound(w)
	}
}

// serveTeamMembership is "Get team membership for a user".
func (s *Server) serveTeamMembership(w http.ResponseWriter, r *http.Request) {
	g := s.authorized(w, r)
	if g == nil {
		return
	}
	org, team, user := r.PathValue("org"), r.PathValue("team"), r.PathValue("user")
	state, ok := s.cfg.Teams[org+"/"+team]
	if !ok || !strings.EqualFold(user, s.cfg.User.Login) || !s.canRead(g, "read:org", "write:org", "admin:org") {
		notFound(w)
		return
	}
	opkit.WriteJSON(w, http.StatusOK, map[string]string{
		"url":   s.APIURL + "/teams/1/memberships/" + user,
		"role":  "member",
		"state": state,
	})
}
