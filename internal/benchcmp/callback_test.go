package benchcmp

import (
	"bytes"
	"testing"
)

// TestCallback: a prepared flow signs the user in once; the same flow a
// second time, and a flow whose ID token's signature is changed, are
// refused; the baseline verifies and saves.
func TestCallback(t *testing.T) {
	s, err := NewSetup()
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCallbackSetup(s.Key, s.Payload)
	if err != nil {
		t.Fatal(err)
	}
	f, err := c.NewFlow(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Baseline(f); err != nil {
		t.Fatal("baseline:", err)
	}
	if err := c.Callback(f); err != nil {
		t.Fatal(err)
	}
	if err := c.Callback(f); err == nil {
		t.Fatal("a flow was used twice")
	}
	g, err := c.NewFlow(1)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(g.Response, []byte(g.IDToken)) + len(g.IDToken) - 10 // inside the ID token's signature
	g.Response = bytes.Clone(g.Response)
	g.Response[i] ^= 'A' ^ 'B'
	if err := c.Callback(g); err == nil {
		t.Fatal("a changed ID token was accepted")
	}
	res, err := RunCallback(c, 1, 3)
	if err != nil || res.Callback == 0 || res.Baseline == 0 {
		t.Fatalf("RunCallback: %+v, %v", res, err)
	}
}

// BenchmarkCallback measures the callback and its baseline, alternately
// with -count; flows are prepared with the timer stopped, a batch at a
// time (signing each ID token takes about a millisecond).
func BenchmarkCallback(b *testing.B) {
	s, err := NewSetup()
	if err != nil {
		b.Fatal(err)
	}
	c, err := NewCallbackSetup(s.Key, s.Payload)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		op   func(Flow) error
	}{{"portcullis_callback", c.Callback}, {"go-oidc_Verify+CookieStore.Save", c.Baseline}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var flows []Flow
			for i := 0; i < b.N; i++ {
				if len(flows) == 0 {
					b.StopTimer()
					if flows, err = c.Flows(i, min(b.N-i, 256)); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				if err := bc.op(flows[0]); err != nil {
					b.Fatal(err)
				}
				flows = flows[1:]
			}
		})
	}
}
