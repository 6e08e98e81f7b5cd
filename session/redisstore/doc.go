// Package redisstore keeps portcullis sessions in Redis: a
// [session.Store] whose browser cookie holds only a signed session id.
//
// # The flow
//
// The middleware creates a session at sign-in and calls [Store.Save]: the
// session is written, as a versioned JSON record, under Prefix+"s:"+id
// with a TTL of min(Expires, now+IdleTimeout), its id is added to the
// user's index Prefix+"u:"+provider+"|"+subject, and the browser gets a
// cookie of about 66 bytes: the id (128 random bits, the session's own
// ID) and its HMAC-SHA256. Every protected request calls [Store.Load]: the
// cookie's syntax and signature are checked first, without a network call,
// then the record is read with one GET. Each later Save of the same
// session rewrites the record and resets its TTL, but only while the
// record exists, so an ended session is never brought back. Logout calls
// [Store.Clear], which deletes the record and its index entry.
// [Store.Sessions] lists a user's live sessions and [Store.EndSessions]
// deletes them all ("sign out everywhere").
//
// # When to choose it over the cookie store
//
// [session.CookieStore] needs no server: the whole session, tokens
// included, travels encrypted in the browser's cookies. Choose this store
// when
//   - a copied cookie must stop working the moment the session ends, with
//     no revocation list: deleting the record ends it everywhere;
//   - you want to list and end a user's sessions (an account page, "sign
//     out everywhere", an administrator locking an account);
//   - tokens should not leave the server, or sessions are too large for a
//     few cookies (long ID tokens with many groups);
//   - requests should stay small: one 66-byte cookie instead of several
//     kilobytes.
//
// The price is a Redis round trip on every protected request (the JSON
// decode beside it is tens of microseconds) and a dependency that must be
// up for anyone to be signed in.
//
// # Several instances
//
// Every instance of the application must use the same Redis data, the
// same Prefix and the same Keys: an instance with other keys reads every
// cookie as tampered, and its users appear signed out. Keys rotate like the
// cookie store's: put the new key first, remove the old one a Lifetime
// later. They are used through HKDF with their own label, so the same key
// bytes may also serve the middleware's flow cookies without ever signing
// the same thing.
//
// # When Redis fails
//
// Load, Save, Clear, Sessions and EndSessions return an error that is not
// [session.ErrNoSession]: the middleware then answers 503 (its
// ErrStoreUnavailable) rather than treating the visitor as signed out, so
// nobody is sent to sign in again into the same outage. Clear expires the
// cookie even then; a copy of the cookie keeps working until Redis deletes
// the record or the middleware's revocation list refuses it. The store
// does not retry beyond what the go-redis client is configured to do, and
// keeps no local copy of any session. Sentinel and Cluster clients work:
// no command spans two keys, so the keys may live on different shards,
// and the session record and the index are written by separate commands
// (index first): an index entry can outlive its record, and is dropped
// when listed, but a record is never missing from its index.
//
// # What this package does not do
//
// It does not judge sessions beyond their absolute lifetime and idle
// timeout (token refresh, revocation lists and policies belong to the
// middleware), does not revoke tokens at the provider, does not encrypt
// the record (protect Redis itself: TLS, ACLs, no public port; the record
// holds refresh tokens) and needs Redis 7.0 or later (EXPIRE NX/GT,
// GETDEL).
package redisstore
