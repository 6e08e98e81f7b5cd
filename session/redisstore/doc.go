// Package redisstore keeps portcullis sessions in Redis: a
// [session.Store] whose browser cookie holds only a signed session id,
// and [Shared], the storage through which several instances of an
// application coordinate refreshes, logins and logouts.
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
// # Several instances: shared coordination
//
// Instances behind one load balancer must also agree on what happens
// between requests: a refresh token is redeemed once, a login's callback
// and a back-channel logout token work once, and a logout on one instance
// ends the session on all. [NewShared] returns a [Shared], the
// middleware's SharedState on Redis; pass it with the store:
//
//	client := redis.NewClient(&redis.Options{Addr: "redis:6379"})
//	store, err := redisstore.New(redisstore.Config{Client: client, Keys: keys})
//	…
//	shared, err := redisstore.NewShared(ctx, redisstore.SharedConfig{Client: client})
//	…
//	auth, err := middleware.New(middleware.Config{Sessions: store, Shared: shared, …})
//
// The two may share the client and the Prefix: Shared's keys are
// Prefix+"k:"+name for the values (refresh locks and sealed answers, used
// states, logout-token ids: names the middleware derives with SHA-256,
// never a token), each with a TTL, and Prefix+"{log}seq",
// Prefix+"{log}entries" and Prefix+"{log}expiries" for the revocation
// log. Shared is usable without the Redis session store, beside the
// cookie store.
//
// Redis must not evict: with maxmemory set and a policy other than
// noeviction it would drop, silently, a refresh lock (and a refresh token
// would be redeemed twice), a used state (and a login replayed) or a
// revocation (and a copied cookie accepted again). Every key Shared
// writes has a TTL, so the volatile-* policies are as bad as the
// allkeys-* ones. [NewShared] therefore asks each server for its
// maxmemory-policy (CONFIG GET) and refuses anything but noeviction,
// naming the fix: maxmemory-policy noeviction. It contacts Redis to do so,
// and fails when Redis cannot be reached. Managed services that rename
// or forbid CONFIG make the check impossible: set the policy to
// noeviction in the service's settings, then
// [SharedConfig.InsecureSkipEvictionCheck]. With noeviction, a Redis out
// of memory refuses writes, and portcullis answers 503 rather than
// forget. The log itself is bounded: an Append is refused (503 for the
// logout) while [SharedConfig.MaxLogEntries] entries are live, entries
// are at most 4 KiB, expired ones are trimmed by every call, and Since
// reads in pages so that no script holds Redis for long.
//
// Cluster and Sentinel clients work. A value is one key and one command;
// the log's keys share the {log} hash tag, so its scripts run on Cluster,
// and the whole log lives on one shard. Replication is asynchronous: a
// failover, like a restart without persistence, can lose the last writes.
// A lost lock or used state can then be taken again once; the log goes
// on above every sequence number it gave out before (they follow the
// server's clock in microseconds), and each instance keeps the
// revocations it has already read. Run Redis with persistence (appendonly
// yes) where that matters.
//
// When Redis fails, every Shared method returns an error, never a
// claim or a value, and portcullis fails closed with 503
// (middleware.ErrStoreUnavailable): callbacks, logouts, refreshes of
// expired access tokens, and every request once an instance's copy of the
// revocation list is older than SharedStaleness. Nothing needs a restart:
// everything works again when Redis answers. Values expire by Redis's
// clock (the TTL is computed from each instance's clock when written);
// log entries by the clock of the instance that reads them.
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
// GETDEL, ZRANGE BYSCORE). [Shared] checks the eviction policy once, in
// NewShared, not when it is changed later, and does not retry a failed
// call: the middleware decides what a failure means.
package redisstore
