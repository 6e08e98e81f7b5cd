package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/portcullis-go/portcullis/session"
	"github.com/redis/go-redis/v9"
)

// Sessions returns the live sessions of the user (provider, subject), the
// oldest first, and drops from the user's index the ids whose records are
// gone, expired or belong to someone else. It costs two round trips plus
// one for the cleanup.
//
// Sessions does not consult the middleware's revocation list: a session
// it lists may have been revoked there.
func (s *Store) Sessions(ctx context.Context, provider, subject string) ([]session.Session, error) {
	ukey := s.userKey(provider, subject)
	ids, err := s.rdb.SMembers(ctx, ukey).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: sessions: %w", err)
	}
	var dead []any
	valid := ids[:0]
	for _, id := range ids {
		if validID(id) {
			valid = append(valid, id)
		} else {
			dead = append(dead, id)
		}
	}
	// One GET per key, pipelined: MGET would fail across Cluster slots.
	cmds := make([]*redis.StringCmd, len(valid))
	if len(valid) > 0 {
		_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, id := range valid {
				cmds[i] = p.Get(ctx, s.sessionKey(id))
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("redisstore: sessions: %w", err)
		}
	}
	now := s.now()
	var out []session.Session
	for i, id := range valid {
		data, err := cmds[i].Bytes()
		if errors.Is(err, redis.Nil) {
			dead = append(dead, id)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("redisstore: sessions: %w", err)
		}
		rec, err := decodeRecord(data)
		if err != nil || !s.live(rec, id, now) || rec.Session.User.Provider != provider || rec.Session.User.Subject != subject {
			dead = append(dead, id)
			continue
		}
		out = append(out, rec.Session)
	}
	if len(dead) > 0 {
		if err := s.rdb.SRem(ctx, ukey, dead...).Err(); err != nil {
			return nil, fmt.Errorf("redisstore: sessions: drop dangling entries: %w", err)
		}
	}
	slices.SortFunc(out, func(a, b session.Session) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// EndSessions deletes every session of the user (provider, subject) and
// the user's index, and returns how many sessions it deleted: "sign out
// everywhere", effective on the next request of each browser, with no
// revocation list. A session saved concurrently by a request that loaded
// it before is not brought back ([Store.Save] writes updates only over an
// existing record); a sign-in that completes after EndSessions starts is a
// new session.
//
// It does not add entries to the middleware's revocation list, and does
// not revoke the provider's tokens.
func (s *Store) EndSessions(ctx context.Context, provider, subject string) (int, error) {
	ukey := s.userKey(provider, subject)
	ids, err := s.rdb.SMembers(ctx, ukey).Result()
	if err != nil {
		return 0, fmt.Errorf("redisstore: end sessions: %w", err)
	}
	var dels []*redis.IntCmd
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			if validID(id) {
				dels = append(dels, p.Del(ctx, s.sessionKey(id)))
			}
		}
		p.Del(ctx, ukey)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("redisstore: end sessions: %w", err)
	}
	n := 0
	for _, d := range dels {
		n += int(d.Val())
	}
	return n, nil
}
