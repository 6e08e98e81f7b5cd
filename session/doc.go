// Package session holds the nouns shared by portcullis: the signed-in
// [User], the [Session] that carries the user's tokens, and the [Store]
// that keeps sessions between requests.
//
// # The flow
//
// The middleware creates a Session when a login completes (always a new
// one, with a new random ID), saves it through a Store before redirecting
// the browser back to the application, loads it on every protected
// request, saves it again when tokens are refreshed, and clears it on
// logout.
//
// # Stores
//
// [CookieStore] is the default: the whole session lives in the browser,
// sealed with AES-256-GCM (the cookie name and expiry authenticated with
// it) in a compact versioned binary encoding (decoding it is on the path
// of every request, so it is neither gob nor JSON); cookies of the earlier
// gorilla/securecookie format are still read. Keys
// rotate without signing anyone out: new cookies use the first key, every
// key is tried when reading. A session larger than one cookie (long ID
// tokens with many groups) is split over several cookies up to a hard
// bound; beyond it Save fails with [ErrTooLarge] and writes nothing.
//
// Keys are raw bytes, 32 to 64 random ones each, newest first;
// [ParseKeys] reads them from text such as an environment variable
// SESSION_KEYS (comma separated, base64: `openssl rand -base64 32`).
//
// Every Store reports "no session" — absent, expired, tampered, made with
// an unknown key — as [ErrNoSession]; other errors are system failures.
//
// # What this package does not do
//
// It does not decide whether a session is still acceptable beyond its
// absolute lifetime (idle timeouts, revocation, token expiry and refresh
// belong to the middleware), and a cookie store cannot forget a copied
// cookie by itself.
package session
