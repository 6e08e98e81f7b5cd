package session

import (
	"errors"
	"net/http"
)

// ErrNoSession is returned by [Store.Load] when the request carries no
// session, or one that is expired, tampered with, truncated, made with an
// unknown key or otherwise undecodable. It is the expected answer for
// signed-out visitors and for attacks alike: callers treat the request as
// unauthenticated.
var ErrNoSession = errors.New("session: no session")

// Store keeps sessions between requests.
//
// Load returns [ErrNoSession] for every "not found" case; any other error
// is a system failure (a store that cannot be reached). Save writes s so
// that the next Load of a request from the same browser returns it; it must
// be called before the response body is written. Clear deletes the session
// in every form the store keeps it (all cookie chunks, the server-side
// record).
//
// Implementations must be safe for concurrent use.
type Store interface {
	Load(r *http.Request) (*Session, error)
	Save(w http.ResponseWriter, r *http.Request, s *Session) error
	Clear(w http.ResponseWriter, r *http.Request) error
}
