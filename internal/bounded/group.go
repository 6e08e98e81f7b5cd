package bounded

import (
	"context"
	"sync"
)

// Group is a single-flight: [Group.Do] runs at most one function per key at
// a time, and the callers that ask for the same key meanwhile share its
// result. The zero value is ready to use.
type Group[K comparable, V any] struct {
	mu    sync.Mutex
	calls map[K]*call[V]
}

type call[V any] struct {
	done chan struct{}
	val  V
	err  error
}

// Do runs fn for key unless a call for key is running, in which case it
// waits for that one; shared reports that the result came from a call
// another caller started. fn runs in its own goroutine with a context that
// keeps ctx's values but not its cancellation or deadline (bound it inside
// fn): one caller going away must not fail the others. A caller whose ctx
// ends stops waiting and gets ctx.Err(); the call runs on for the rest.
func (g *Group[K, V]) Do(ctx context.Context, key K, fn func(context.Context) (V, error)) (v V, err error, shared bool) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = make(map[K]*call[V])
	}
	c, running := g.calls[key]
	if !running {
		c = &call[V]{done: make(chan struct{})}
		g.calls[key] = c
		detached := context.WithoutCancel(ctx)
		go func() {
			defer func() {
				g.mu.Lock()
				delete(g.calls, key)
				g.mu.Unlock()
				close(c.done)
			}()
			c.val, c.err = fn(detached)
		}()
	}
	g.mu.Unlock()
	select {
	case <-c.done:
		return c.val, c.err, running
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err(), running
	}
}
