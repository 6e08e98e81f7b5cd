package opkit

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestOutage(t *testing.T) {
	o := NewOutage(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "provider")
	}), Unavailable)
	arrived := make(chan struct{}, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			arrived <- struct{}{}
		}
		o.ServeHTTP(w, r)
	}))
	defer ts.Close()
	get := func(ctx context.Context, path string) (int, string, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+path, nil)
		resp, err := ts.Client().Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	if status, _, err := get(context.Background(), "/"); status != http.StatusServiceUnavailable || err != nil {
		t.Errorf("Unavailable: %d, %v", status, err)
	}
	o.Set(Drop)
	if _, _, err := get(context.Background(), "/"); err == nil {
		t.Error("Drop: the request got an answer")
	}
	o.Set(Up)
	if status, body, err := get(context.Background(), "/"); status != 200 || body != "provider" || err != nil {
		t.Errorf("Up: %d %q, %v", status, body, err)
	}

	// Hang: no answer until the client gives up...
	o.Set(Hang)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, _, err := get(ctx, "/"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Hang: %v, want the client's deadline", err)
	}
	// ...or the mode changes: the hanging request is answered as the new
	// mode answers.
	answered := make(chan string, 1)
	go func() {
		_, body, err := get(context.Background(), "/hang")
		if err != nil {
			body = err.Error()
		}
		answered <- body
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the request did not reach the server")
	}
	select {
	case body := <-answered:
		t.Fatalf("Hang answered %q", body)
	default:
	}
	o.Set(Up)
	select {
	case body := <-answered:
		if body != "provider" {
			t.Errorf("a hanging request after Set(Up): %q", body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the hanging request was not answered after Set(Up)")
	}
}
