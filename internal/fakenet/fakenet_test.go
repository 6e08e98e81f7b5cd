package fakenet

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestStart(t *testing.T) {
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "fake at "+r.Host) })
	other := Start(hello, nil) // stands for an application on loopback
	defer other.Close()
	for _, tc := range []struct {
		name   string
		hosts  []string
		url    func(s *Server) string
		want   string
		scheme string
	}{
		{"loopback", nil, func(s *Server) string { return s.LoopbackURL() + "/x" }, "fake at 127.0.0.1", "http://"},
		{"real host name", []string{"accounts.google.com"}, func(*Server) string { return "https://accounts.google.com/x" }, "fake at accounts.google.com", "https://"},
		{"other hosts where addressed", []string{"accounts.google.com"}, func(*Server) string { return other.LoopbackURL() + "/x" }, "fake at 127.0.0.1", "https://"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Start(hello, tc.hosts)
			defer s.Close()
			if !strings.HasPrefix(s.LoopbackURL(), tc.scheme) {
				t.Errorf("LoopbackURL %q, want %s", s.LoopbackURL(), tc.scheme)
			}
			resp, err := s.Client().Get(tc.url(s))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.HasPrefix(string(b), tc.want) {
				t.Errorf("body %q, want %q", b, tc.want)
			}
		})
	}
	s := Start(hello, nil)
	s.Close()
	if _, err := http.Get(s.LoopbackURL()); err == nil {
		t.Error("a closed server still answers")
	}
}
