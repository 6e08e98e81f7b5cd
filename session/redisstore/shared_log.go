package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The shared log is three keys in one hash slot (KEYS in every script):
//
//	KEYS[1] Prefix+"{log}seq"       the last sequence number given out
//	KEYS[2] Prefix+"{log}entries"   sorted set: score seq, member "seq:expires:entry"
//	KEYS[3] Prefix+"{log}expiries"  sorted set: score expires, member "seq"
//
// expires is in Unix milliseconds of the application's clock, rounded up.
// Only the two scripts below change these keys, and a script runs alone,
// so a reader sees an entry exactly when it sees its sequence number.
//
// A sequence number is the greater of the last one plus one and the
// server's clock (TIME) in microseconds. Numbers therefore increase, and
// a log that lost its data (a restart without persistence, FLUSHALL, a
// failover before replication) or was restored from an old copy goes on
// above every number it gave out before, without remembering them, as
// long as the server's clock has not gone back and the log gave out
// fewer than a million numbers a second (Lua's doubles hold these
// numbers exactly until the year 2255). Since reports last 0 (no
// counter) or the restored counter until the next Append: below the
// caller's after, so that it reads everything again.
// The counter has no TTL and the sets empty as entries expire.
const (
	// maxEntrySize bounds one entry; with MaxLogEntries it bounds the log.
	maxEntrySize = 4096
	// trimBatch bounds the expired entries each script removes.
	trimBatch = 128
	// sincePage bounds the entries one Since script returns; Since reads
	// page after page until the end.
	sincePage = 1024
)

// trimLua defines trim(now, n), which removes up to n entries whose
// expiry is at or before now (both decimal strings, as the scripts get
// them): bounded work, whatever the size of the log.
const trimLua = `
local function trim(now, n)
	local old = redis.call('ZRANGE', KEYS[3], '-inf', now, 'BYSCORE', 'LIMIT', 0, n)
	if #old == 0 then
		return
	end
	for i = 1, #old do
		redis.call('ZREMRANGEBYSCORE', KEYS[2], old[i], old[i])
	end
	redis.call('ZREM', KEYS[3], unpack(old))
end
`

// appendScript: ARGV entry, expires, now, max live entries, trim batch.
// It returns the entry's sequence number, or -1 when the log holds max
// live entries. An entry that has already expired gets a number and is
// not stored.
const appendScript = trimLua + `
trim(ARGV[3], ARGV[5])
local live = tonumber(ARGV[2]) > tonumber(ARGV[3])
if live and redis.call('ZCOUNT', KEYS[3], '(' .. ARGV[3], '+inf') >= tonumber(ARGV[4]) then
	return -1
end
local t = redis.call('TIME')
local seq = math.max(tonumber(redis.call('GET', KEYS[1]) or '0') + 1, tonumber(t[1]) * 1000000 + tonumber(t[2]))
local id = string.format('%d', seq)
redis.call('SET', KEYS[1], id)
if live then
	redis.call('ZADD', KEYS[2], id, id .. ':' .. ARGV[2] .. ':' .. ARGV[1])
	redis.call('ZADD', KEYS[3], ARGV[2], id)
end
return seq
`

// sinceScript: ARGV after, now, page size, trim batch. It returns the
// last sequence number given out (0 when the counter is missing) and up
// to a page of members with a greater one, in order, expired ones
// included (the caller drops them; trimming is bounded).
const sinceScript = trimLua + `
trim(ARGV[2], ARGV[4])
local last = redis.call('GET', KEYS[1])
if last then
	last = tonumber(last)
else
	last = 0
end
return {last, redis.call('ZRANGE', KEYS[2], '(' .. ARGV[1], '+inf', 'BYSCORE', 'LIMIT', 0, ARGV[3])}
`

// unixMilliCeil is t in Unix milliseconds, rounded up: an entry is never
// dropped before its expiry.
func unixMilliCeil(t time.Time) int64 {
	ms := t.UnixMilli()
	if time.UnixMilli(ms).Before(t) {
		ms++
	}
	return ms
}

// Append implements middleware.SharedState with one script: it trims
// expired entries (at most 128), then takes the next sequence number (see
// above) and stores the entry under it. It refuses an entry over 4 KiB, and an entry
// while the log holds MaxLogEntries live ones. An entry whose expiry is
// not in the future gets a sequence number and is not stored.
func (s *Shared) Append(ctx context.Context, entry []byte, expires time.Time) (int64, error) {
	if len(entry) > maxEntrySize {
		return 0, fmt.Errorf("redisstore: shared: append: entry of %d bytes exceeds %d", len(entry), maxEntrySize)
	}
	now := s.now().UnixMilli()
	seq, err := s.appender.Run(ctx, s.rdb, s.logKeys, entry, unixMilliCeil(expires), now, s.maxLog, trimBatch).Int64()
	switch {
	case err != nil:
		return 0, fmt.Errorf("redisstore: shared: append: %w", err)
	case seq < 0:
		return 0, fmt.Errorf("redisstore: shared: append: the log holds MaxLogEntries (%d) live entries; refusing until some expire", s.maxLog)
	}
	return seq, nil
}

// Since implements middleware.SharedState. It reads the log a page of
// 1024 entries per script (each also trims up to 128 expired ones), so
// no single call holds Redis for long; it returns at most about
// MaxLogEntries entries. Should the log lose its data between two pages,
// it reads again from after, so the result is always one log's.
func (s *Shared) Since(ctx context.Context, after int64) ([][]byte, int64, error) {
	for range 3 {
		entries, last, whole, err := s.readSince(ctx, after)
		if err != nil {
			return nil, 0, fmt.Errorf("redisstore: shared: since: %w", err)
		}
		if whole {
			return entries, last, nil
		}
	}
	return nil, 0, errors.New("redisstore: shared: since: the log was reset while being read, three times in a row")
}

// readSince reads the log page by page from after. whole is false when
// the log was reset between two pages.
func (s *Shared) readSince(ctx context.Context, after int64) (entries [][]byte, last int64, whole bool, err error) {
	cursor := after
	for {
		now := s.now().UnixMilli()
		res, err := s.reader.Run(ctx, s.rdb, s.logKeys, cursor, now, sincePage, trimBatch).Slice()
		if err != nil {
			return nil, 0, false, err
		}
		last, members, err := parseSinceReply(res)
		if err != nil {
			return nil, 0, false, err
		}
		if cursor != after && last < cursor {
			return nil, 0, false, nil
		}
		for _, m := range members {
			seq, expires, entry, err := parseMember(m)
			if err != nil {
				return nil, 0, false, err
			}
			if expires > now {
				entries = append(entries, entry)
			}
			cursor = seq
		}
		if len(members) < sincePage {
			return entries, last, true, nil
		}
	}
}

// parseSinceReply reads the reply of sinceScript: {last, {member...}}.
func parseSinceReply(res []any) (int64, []string, error) {
	if len(res) != 2 {
		return 0, nil, fmt.Errorf("unexpected reply of %d elements", len(res))
	}
	last, ok := res[0].(int64)
	if !ok {
		return 0, nil, fmt.Errorf("unexpected reply: last is a %T", res[0])
	}
	list, ok := res[1].([]any)
	if !ok {
		return 0, nil, fmt.Errorf("unexpected reply: entries are a %T", res[1])
	}
	members := make([]string, len(list))
	for i, m := range list {
		if members[i], ok = m.(string); !ok {
			return 0, nil, fmt.Errorf("unexpected reply: an entry is a %T", m)
		}
	}
	return last, members, nil
}

// parseMember splits a member of the entries set, "seq:expires:entry".
// The error does not quote the member: entries may be sealed secrets.
func parseMember(m string) (seq, expires int64, entry []byte, err error) {
	seqText, rest, ok1 := strings.Cut(m, ":")
	expText, body, ok2 := strings.Cut(rest, ":")
	seq, err1 := strconv.ParseInt(seqText, 10, 64)
	expires, err2 := strconv.ParseInt(expText, 10, 64)
	if !ok1 || !ok2 || err1 != nil || err2 != nil {
		return 0, 0, nil, errors.New("malformed log entry")
	}
	return seq, expires, []byte(body), nil
}
