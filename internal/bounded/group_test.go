package bounded

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

func TestGroupOneCallPerKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Group[string, int]
		var calls atomic.Int32
		release := make(chan struct{})
		fn := func(context.Context) (int, error) {
			calls.Add(1)
			<-release
			return 42, nil
		}
		const n = 20
		var wg sync.WaitGroup
		var shared atomic.Int32
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err, sh := g.Do(context.Background(), "k", fn)
				if v != 42 || err != nil {
					t.Errorf("Do = %v, %v", v, err)
				}
				if sh {
					shared.Add(1)
				}
			}()
		}
		// Every caller is now blocked: the one call on release, the rest
		// waiting for it.
		synctest.Wait()
		if c := calls.Load(); c != 1 {
			t.Fatalf("%d calls for one key, want 1", c)
		}
		close(release)
		wg.Wait()
		if shared.Load() != n-1 {
			t.Fatalf("shared = %d, want %d", shared.Load(), n-1)
		}
		// Another key is another call.
		g.Do(context.Background(), "other", func(context.Context) (int, error) { calls.Add(1); return 0, nil })
		if calls.Load() != 2 {
			t.Fatal("a second key did not get its own call")
		}
	})
}

func TestGroupCallerCancelDoesNotCancelCall(t *testing.T) {
	var g Group[string, int]
	release := make(chan struct{})
	var sawCancel atomic.Bool
	fn := func(ctx context.Context) (int, error) {
		<-release
		sawCancel.Store(ctx.Err() != nil)
		return 7, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err, _ := g.Do(ctx, "k", fn)
		done <- err
	}()
	for {
		g.mu.Lock()
		n := len(g.calls)
		g.mu.Unlock()
		if n == 1 {
			break
		}
		runtime.Gosched()
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller got %v", err)
	}
	// A second caller joins the still-running call and gets its result.
	res := make(chan int)
	go func() {
		v, _, _ := g.Do(context.Background(), "k", fn)
		res <- v
	}()
	close(release)
	if v := <-res; v != 7 {
		t.Fatalf("second caller got %d", v)
	}
	if sawCancel.Load() {
		t.Fatal("the call saw the first caller's cancellation")
	}
}
