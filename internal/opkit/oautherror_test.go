package opkit

import (
	"net/http/httptest"
	"testing"
)

func TestWriteError(t *testing.T) {
	for _, tc := range []struct {
		name              string
		preset            map[string]string
		status            int
		code, description string
		wantBody          string
		wantAuthenticate  string
	}{
		{
			name: "invalid_grant", status: 400, code: "invalid_grant", description: "PKCE verification failed",
			wantBody: `{"error":"invalid_grant","error_description":"PKCE verification failed"}` + "\n",
		},
		{
			name: "no description: the member is left out", status: 400, code: "unsupported_grant_type",
			wantBody: `{"error":"unsupported_grant_type"}` + "\n",
		},
		{
			name: "invalid_client keeps the handler's challenge", status: 401, code: "invalid_client", description: "client authentication failed",
			preset:           map[string]string{"WWW-Authenticate": `Basic realm="op"`},
			wantBody:         `{"error":"invalid_client","error_description":"client authentication failed"}` + "\n",
			wantAuthenticate: `Basic realm="op"`,
		},
		{
			name: "no-store even over the handler's Cache-Control", status: 400, code: "invalid_request",
			preset:   map[string]string{"Cache-Control": "no-cache"},
			wantBody: `{"error":"invalid_request"}` + "\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			for k, v := range tc.preset {
				rec.Header().Set(k, v)
			}
			WriteError(rec, tc.status, tc.code, tc.description)
			h := rec.Header()
			if rec.Code != tc.status || rec.Body.String() != tc.wantBody || h.Get("Content-Type") != "application/json" {
				t.Errorf("got %d %q %q, want %d %q", rec.Code, h.Get("Content-Type"), rec.Body, tc.status, tc.wantBody)
			}
			if h.Get("Cache-Control") != "no-store" || h.Get("Pragma") != "no-cache" {
				t.Errorf("Cache-Control %q Pragma %q, want no-store and no-cache (RFC 6749 §5.1)", h.Get("Cache-Control"), h.Get("Pragma"))
			}
			if got := h.Get("WWW-Authenticate"); got != tc.wantAuthenticate {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.wantAuthenticate)
			}
		})
	}
}
