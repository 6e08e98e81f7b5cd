package redisstore

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/portcullis-go/portcullis/session"
)

// recordVersion is the version of the stored record. A record of another
// version reads as no session.
const recordVersion = 1

// record is what a Redis key holds: a JSON object
//
//	{"v":1,"saved":"2026-01-02T15:04:05.999999999Z","session":{…}}
//
// where "saved" is when the record was last written (the start of the idle
// timeout) and "session" is the encoding/json form of [session.Session]
// (its exported field names, times in RFC 3339). JSON is plain, typed and
// documented; the session package's compact codec is unexported, and this
// decode is next to a network round trip, not on its own on the request
// path.
type record struct {
	V       int             `json:"v"`
	Saved   time.Time       `json:"saved"`
	Session session.Session `json:"session"`
}

func encodeRecord(s *session.Session, saved time.Time) ([]byte, error) {
	return json.Marshal(record{V: recordVersion, Saved: saved.UTC(), Session: *s})
}

func decodeRecord(data []byte) (*record, error) {
	var rec record
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, err
	}
	if rec.V != recordVersion {
		return nil, errors.New("redisstore: unknown record version")
	}
	return &rec, nil
}

// live reports whether rec is a usable session with the given id at now:
// within its absolute lifetime (bounded by the store's Lifetime) and,
// with an IdleTimeout, written less than IdleTimeout ago.
func (s *Store) live(rec *record, id string, now time.Time) bool {
	ss := &rec.Session
	switch {
	case ss.ID != id:
		return false
	case !ss.Valid(now):
		return false
	case ss.Expires.After(ss.Created.Add(s.lifetime)):
		return false
	case s.idle > 0 && now.Sub(rec.Saved) > s.idle:
		return false
	}
	return true
}
