package redisstore

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// TestRecordKeepsClaims: a record holds the user's kept claims and
// GroupsIncomplete, as JSON, and gives them back unchanged; a record
// written before they existed reads with none.
func TestRecordKeepsClaims(t *testing.T) {
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	ss := newSession("ada", now)
	ss.User.Claims = map[string]json.RawMessage{"tid": json.RawMessage(`"9188040d"`), "realm_access": json.RawMessage(`{"roles":["admin"]}`)}
	ss.User.GroupsIncomplete = true
	data, err := encodeRecord(ss, now)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := decodeRecord(data)
	if err != nil {
		t.Fatal(err)
	}
	u := rec.Session.User
	if !u.GroupsIncomplete || len(u.Claims) != 2 || !bytes.Equal(u.Claims["realm_access"], ss.User.Claims["realm_access"]) || !bytes.Equal(u.Claims["tid"], ss.User.Claims["tid"]) {
		t.Fatalf("record gave back claims %s and GroupsIncomplete %v", u.Claims, u.GroupsIncomplete)
	}
	old := newSession("bob", now)
	data, err = encodeRecord(old, now)
	if err != nil {
		t.Fatal(err)
	}
	// A record of before: no Claims or GroupsIncomplete members at all.
	data = bytes.Replace(data, []byte(`,"Claims":null`), nil, 1)
	data = bytes.Replace(data, []byte(`"GroupsIncomplete":false,`), nil, 1)
	if bytes.Contains(data, []byte("Claims")) || bytes.Contains(data, []byte("GroupsIncomplete")) {
		t.Fatalf("could not strip the new members from %s", data)
	}
	rec, err = decodeRecord(data)
	if err != nil || rec.Session.User.Claims != nil || rec.Session.User.GroupsIncomplete {
		t.Fatalf("an older record: %+v, %v", rec, err)
	}
}
