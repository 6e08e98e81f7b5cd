// Package bounded holds the two concurrency structures portcullis builds
// its caches, memos, replay sets and lists on, so that each says in one
// word what happens when it is full:
//
//   - [Map], a map whose entries expire, with a fixed capacity and a
//     [Policy] for the moment it is full: [EvictSoonest] (a cache: the
//     entry closest to its expiry goes first, and pinned entries never)
//     or [Refuse] (a security promise: the insert fails with [ErrFull]
//     and the caller fails closed);
//   - [Group], a single-flight: concurrent calls with one key share one
//     execution of the function.
//
// Expired entries leave through a min-heap ordered by expiry, a few at a
// time on each write: no operation scans the whole map, so a large map
// never stalls the readers behind a collection pass.
//
// It is not public API.
package bounded
