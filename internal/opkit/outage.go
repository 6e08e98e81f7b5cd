package opkit

import (
	"net/http"
	"sync"
)

// Mode is how an [Outage] answers.
type Mode int

// The modes of an [Outage].
const (
	// Up passes every request to the provider.
	Up Mode = iota
	// Unavailable answers 503 Service Unavailable, as a load balancer
	// with no healthy provider behind it does.
	Unavailable
	// Hang reads the request and answers nothing until the client gives
	// up or the mode changes; then it answers as the new mode does.
	Hang
	// Drop closes the connection without an answer.
	Drop
)

// Outage plays a provider that is down, in front of a real one: in its
// current [Mode] it answers every request itself, or passes it to the
// provider. It is safe for concurrent use; [Outage.Set] changes the mode
// for the requests that follow and for those hanging.
type Outage struct {
	next http.Handler

	mu      sync.Mutex
	mode    Mode
	changed chan struct{} // closed by Set: hanging requests look again
}

// NewOutage returns an Outage in front of next, in mode m.
func NewOutage(next http.Handler, m Mode) *Outage {
	return &Outage{next: next, mode: m, changed: make(chan struct{})}
}

// Set switches to mode m.
func (o *Outage) Set(m Mode) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.mode = m
	close(o.changed)
	o.changed = make(chan struct{})
}

func (o *Outage) current() (Mode, <-chan struct{}) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.mode, o.changed
}

func (o *Outage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for {
		mode, changed := o.current()
		switch mode {
		case Up:
			o.next.ServeHTTP(w, r)
		case Unavailable:
			http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
		case Drop:
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
				return
			}
			// HTTP/2 cannot hijack: abort the stream instead.
			panic(http.ErrAbortHandler)
		case Hang:
			select {
			case <-r.Context().Done():
				return
			case <-changed:
				continue
			}
		}
		return
	}
}
