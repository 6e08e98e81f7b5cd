package opkit

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// recordingServer serves h behind rec, the way the fakes use a Recorder.
func recordingServer(t *testing.T, rec *Recorder, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.Record(r)
		h(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts
}

func TestRecorder(t *testing.T) {
	var rec Recorder
	var handlerRead []int // body lengths the handler read
	var mu sync.Mutex
	ts := recordingServer(t, &rec, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		handlerRead = append(handlerRead, len(b))
		mu.Unlock()
	})
	big := "x=" + strings.Repeat("a", maxRecordedBody) // longer than what is kept
	sent := []struct {
		method, path, contentType, body string
	}{
		{"GET", "/authorize?client_id=c&nonce=n", "", ""},
		{"POST", "/token", "application/x-www-form-urlencoded", "grant_type=authorization_code&code_verifier=v"},
		{"POST", "/token", "application/x-www-form-urlencoded", big},
		{"POST", "/other", "text/plain", "not a form"},
	}
	for _, tc := range sent {
		req, _ := http.NewRequest(tc.method, ts.URL+tc.path, strings.NewReader(tc.body))
		if tc.contentType != "" {
			req.Header.Set("Content-Type", tc.contentType)
		}
		req.Header.Set("Authorization", "Basic Y2xpZW50OnNlY3JldA==")
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	for i, tc := range sent {
		if len(handlerRead) != len(sent) || handlerRead[i] != len(tc.body) {
			t.Fatalf("the handler read bodies of %v bytes: recording must not shorten them", handlerRead)
		}
	}

	for _, tc := range []struct {
		name, path string
		check      func(t *testing.T, got []*http.Request)
	}{
		{"GET query in Form", "/authorize", func(t *testing.T, got []*http.Request) {
			if len(got) != 1 || got[0].Form.Get("nonce") != "n" || got[0].Method != "GET" || len(got[0].PostForm) != 0 {
				t.Errorf("%+v", got)
			}
		}},
		{"form posts, oldest first, body parsed and readable", "/token", func(t *testing.T, got []*http.Request) {
			if len(got) != 2 || got[0].PostForm.Get("code_verifier") != "v" || got[0].Header.Get("Authorization") == "" {
				t.Fatalf("%d requests", len(got))
			}
			if b, _ := io.ReadAll(got[0].Body); string(b) != "grant_type=authorization_code&code_verifier=v" {
				t.Errorf("recorded body %q", b)
			}
			if b, _ := io.ReadAll(got[1].Body); len(b) != maxRecordedBody {
				t.Errorf("kept %d bytes of a long body, want %d", len(b), maxRecordedBody)
			}
		}},
		{"a body that is no form is kept but not parsed", "/other", func(t *testing.T, got []*http.Request) {
			b, _ := io.ReadAll(got[0].Body)
			if len(got) != 1 || len(got[0].PostForm) != 0 || string(b) != "not a form" {
				t.Errorf("%+v %q", got, b)
			}
		}},
		{"no request at a path", "/userinfo", func(t *testing.T, got []*http.Request) {
			if len(got) != 0 {
				t.Errorf("%d requests", len(got))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, rec.Requests(tc.path)) })
	}

	// The copies are the caller's: editing one changes no later answer.
	first := rec.Requests("/token")[0]
	first.Header.Del("Authorization")
	first.PostForm.Set("code_verifier", "edited")
	if again := rec.Requests("/token")[0]; again.Header.Get("Authorization") == "" || again.PostForm.Get("code_verifier") != "v" {
		t.Error("editing a returned request changed the record")
	}
	if n := len(rec.Matching(func(r *http.Request) bool { return r.Method == "POST" })); n != 3 {
		t.Errorf("Matching POST: %d requests, want 3", n)
	}
}

// TestRecorderConcurrent is for the race detector.
func TestRecorderConcurrent(t *testing.T) {
	var rec Recorder
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			rec.Record(httptest.NewRequest("POST", "/token", strings.NewReader("a=b")))
			rec.Requests("/token")
		})
	}
	wg.Wait()
	if n := len(rec.Requests("/token")); n != 8 {
		t.Errorf("%d requests, want 8", n)
	}
}
