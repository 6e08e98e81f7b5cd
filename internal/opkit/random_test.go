package opkit

import (
	"strings"
	"testing"
)

func TestRandomToken(t *testing.T) {
	a, b := RandomToken("ya29."), RandomToken("ya29.")
	if !strings.HasPrefix(a, "ya29.") || len(a) != len("ya29.")+32 {
		t.Errorf("RandomToken = %q, want ya29. and 32 characters", a)
	}
	if a == b {
		t.Error("two tokens are equal")
	}
}
