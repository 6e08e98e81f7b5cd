package middleware

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/portcullis-go/portcullis/session"
)

// SignInForTest saves a new session for u holding tok through the
// application's session store, writing its cookie to w, as a sign-in
// with the provider u.Provider names would: it is what package
// [github.com/portcullis-go/portcullis/middleware/authtest] builds its
// signed-in requests on. Use that package rather than this method.
//
// It works only in a test binary ([testing.Testing]): in a program built
// with go build it writes nothing and returns an error, so production
// code cannot mint sessions with it.
//
// u.Provider may be empty when the Auth has one provider; u.Issuer is set
// to that provider's issuer and u.Subject is required. The session's
// AuthTime is now; it has no SID, ACR or AMR. It does not call the
// provider, SignInPolicy, LinkAccount or OnLogin: u and tok are stored as
// given, and the provider knows nothing of tok.
func (a *Auth) SignInForTest(w http.ResponseWriter, r *http.Request, u session.User, tok session.Tokens) error {
	if !testing.Testing() {
		return errors.New("middleware: SignInForTest works only in tests")
	}
	if u.Provider == "" && len(a.s.Providers) == 1 {
		u.Provider = a.s.Providers[0].Name()
	}
	p, ok := a.s.providers[u.Provider]
	if !ok {
		names := make([]string, len(a.s.Providers))
		for i, p := range a.s.Providers {
			names[i] = p.Name()
		}
		return fmt.Errorf("middleware: SignInForTest: User.Provider %q is not one of the configured providers %q", u.Provider, names)
	}
	if u.Subject == "" {
		return errors.New("middleware: SignInForTest: User.Subject is required")
	}
	u.Issuer = p.Issuer()
	now := a.now()
	s := session.New(u, tok, now, a.s.SessionLifetime)
	s.AuthTime = now
	if err := a.s.Sessions.Save(w, r, s); err != nil {
		return fmt.Errorf("middleware: SignInForTest: save the session: %w", err)
	}
	return nil
}
