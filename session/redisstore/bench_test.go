package redisstore

import (
	"net/http/httptest"
	"testing"
)

// BenchmarkLoad is one Load of a stored session: a network round trip to
// Redis plus the JSON decode.
func BenchmarkLoad(b *testing.B) {
	s, _, _ := testStore(b, nil)
	ss := newSession("ada", t0)
	w := httptest.NewRecorder()
	if err := s.Save(w, httptest.NewRequest("GET", "/", nil), ss); err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(w.Result().Cookies()[0])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Load(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordDecode is the JSON cost alone, without Redis.
func BenchmarkRecordDecode(b *testing.B) {
	data, err := encodeRecord(newSession("ada", t0), t0)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeRecord(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordEncode is the JSON cost of a Save, without Redis.
func BenchmarkRecordEncode(b *testing.B) {
	ss := newSession("ada", t0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeRecord(ss, t0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseCookie is the signature check every Load starts with.
func BenchmarkParseCookie(b *testing.B) {
	s := downStore(b)
	v := s.sign("AAAAAAAAAAAAAAAAAAAAAA")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := s.parse(v); !ok {
			b.Fatal("refused")
		}
	}
}
