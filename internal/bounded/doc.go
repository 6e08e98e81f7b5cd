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
// Expired entries leave through a min-heap ordered by expiry, at most 64
// on each write (more only when a full map needs the room, one per slot):
// no operation scans the whole map or collects a whole generation of
// entries at once, so a large map never stalls the readers behind a
// collection pass. Reads never see an expired entry either way.
//
// It is not public API.
package bounded
