package middleware

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// eventRecorder is an Observer that keeps every event, for assertions.
type eventRecorder struct {
	mu     sync.Mutex
	events []Event
}

func (o *eventRecorder) Observe(_ context.Context, e Event) {
	o.mu.Lock()
	o.events = append(o.events, e)
	o.mu.Unlock()
}

// len returns how many events were observed: a mark for since.
func (o *eventRecorder) len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.events)
}

// since returns the events observed after mark.
func (o *eventRecorder) since(mark int) []Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Event(nil), o.events[mark:]...)
}

// kinds returns the kinds of events, for messages.
func kinds(events []Event) string {
	var ks []string
	for _, e := range events {
		ks = append(ks, fmt.Sprintf("%s(%s)", e.Kind, e.Reason))
	}
	return "[" + strings.Join(ks, " ") + "]"
}

// checkEvents asserts that got are exactly want, in order.
func checkEvents(t testing.TB, got []Event, want ...Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("events %s, want %s", kinds(got), kinds(want))
		return
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// logHas reports whether one line of logs has every one of the
// attributes kv ("key=value").
func logHas(logs string, kv ...string) bool {
	for _, line := range strings.Split(logs, "\n") {
		ok := true
		for _, a := range kv {
			if !strings.Contains(line+" ", " "+a+" ") {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// eventAttrs are the log attributes an event's record must have.
func eventAttrs(e Event) []string {
	var kv []string
	for _, a := range e.attrs() {
		kv = append(kv, a.Key+"="+a.Value.String())
	}
	return kv
}
