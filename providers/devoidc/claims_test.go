package devoidc

import (
	"net/http"
	"strings"
	"testing"
)

func TestScopeClaims(t *testing.T) {
	o := newTestOP(t)
	tests := []struct {
		scope                        string
		wantName, wantEmail, wantGrp bool
	}{
		{"openid", false, false, false},
		{"openid email", false, true, false},
		{"openid profile", true, false, true},
		{"openid groups", false, false, true},
		{"openid unknown email", false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.scope, func(t *testing.T) {
			resp, m := o.exchange(o.code(map[string]string{"scope": tt.scope}))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %v", resp.StatusCode, m)
			}
			var c idTokenClaims
			if err := o.op.keys.verify(str(m, "id_token"), &c); err != nil {
				t.Fatal(err)
			}
			if (c.Name != "") != tt.wantName || (c.Email != "") != tt.wantEmail || (c.Groups != nil) != tt.wantGrp {
				t.Errorf("claims = %+v", c.userClaims)
			}
			if strings.Contains(str(m, "scope"), "unknown") {
				t.Errorf("granted scope %q includes an unsupported scope", str(m, "scope"))
			}
		})
	}
}
