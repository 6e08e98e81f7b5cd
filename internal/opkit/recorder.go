package opkit

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
)

// maxRecordedBody bounds how much of a request body a [Recorder] keeps.
const maxRecordedBody = 1 << 20

// Recorder keeps a copy of every request a fake provider receives, so that
// a test can assert what was sent where: that the token endpoint got the
// code_verifier, or was never called at all. The zero Recorder is ready to
// use, and a Recorder is safe for concurrent use.
//
// It is unbounded on purpose: a fake lives for one test, and an assertion
// that something was never sent must not lose an entry to eviction. Each
// body is kept up to its first MiB.
type Recorder struct {
	mu  sync.Mutex
	log []recorded
}

// recorded is one request as it arrived, without its body, and the body.
type recorded struct {
	req  *http.Request
	body []byte
}

// Record keeps a copy of r; call it before the handler reads anything. The
// handler still reads the whole body, past what is kept. The copy's Form
// and PostForm are parsed from the kept body; a malformed form leaves them
// partial, and the handler decides what that means.
func (rec *Recorder) Record(r *http.Request) {
	if r.Body == nil {
		r.Body = http.NoBody
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRecordedBody))
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
	c := r.Clone(context.Background())
	c.Body = io.NopCloser(bytes.NewReader(body))
	c.ParseForm()
	c.Body = nil
	rec.mu.Lock()
	rec.log = append(rec.log, recorded{req: c, body: body})
	rec.mu.Unlock()
}

// Requests returns the requests received at path (compared with the
// request's URL.Path), oldest first. See [Recorder.Matching].
func (rec *Recorder) Requests(path string) []*http.Request {
	return rec.Matching(func(r *http.Request) bool { return r.URL.Path == path })
}

// Matching returns the requests for which keep is true, oldest first. Each
// is a fresh copy, with Form and PostForm parsed and a Body that reads the
// kept body from its start; changing it changes nothing in the Recorder.
func (rec *Recorder) Matching(keep func(r *http.Request) bool) []*http.Request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []*http.Request
	for _, e := range rec.log {
		if !keep(e.req) {
			continue
		}
		r := e.req.Clone(context.Background())
		r.Body = io.NopCloser(bytes.NewReader(e.body))
		out = append(out, r)
	}
	return out
}
