package opkit

import (
	"encoding/base64"
	"net/http/httptest"
	"testing"
)

func TestClientSecretBasic(t *testing.T) {
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	for _, tc := range []struct {
		name, authorization string
		wantID, wantSecret  string
		wantOK              bool
	}{
		{"plain credentials", basic("client", "secret"), "client", "secret", true},
		{"form-urlencoded before base64", basic("my%3Aclient", "p%40ss+word%25"), "my:client", "p@ss word%", true},
		{"empty secret", basic("client", ""), "client", "", true},
		{"no header", "", "", "", false},
		{"Bearer, not Basic", "Bearer abc", "", "", false},
		{"not base64", "Basic !!!", "", "", false},
		{"bad escape in the id", basic("%zz", "secret"), "", "", false},
		{"bad escape in the secret", basic("client", "%"), "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/token", nil)
			if tc.authorization != "" {
				r.Header.Set("Authorization", tc.authorization)
			}
			id, secret, ok := ClientSecretBasic(r)
			if id != tc.wantID || secret != tc.wantSecret || ok != tc.wantOK {
				t.Errorf("got %q %q %v, want %q %q %v", id, secret, ok, tc.wantID, tc.wantSecret, tc.wantOK)
			}
		})
	}
}
