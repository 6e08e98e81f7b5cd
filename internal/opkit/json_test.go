package opkit

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWriteJSON(t *testing.T) {
	for _, tc := range []struct {
		name       string
		preset     map[string]string // headers the handler set before
		status     int
		v          any
		wantStatus int
		wantType   string
		wantCache  string
		wantPragma string
		wantBody   string
	}{
		{
			name: "token response", status: 200, v: map[string]any{"access_token": "at", "expires_in": 60},
			wantStatus: 200, wantType: "application/json", wantCache: "no-store", wantPragma: "no-cache",
			wantBody: `{"access_token":"at","expires_in":60}` + "\n",
		},
		{
			name: "the handler's Cache-Control is kept", preset: map[string]string{"Cache-Control": "no-cache"},
			status: 200, v: JWKS{Keys: []JWK{}},
			wantStatus: 200, wantType: "application/json", wantCache: "no-cache",
			wantBody: `{"keys":[]}` + "\n",
		},
		{
			name: "status other than 200", status: http.StatusNotFound, v: map[string]string{"message": "Not Found"},
			wantStatus: 404, wantType: "application/json", wantCache: "no-store", wantPragma: "no-cache",
			wantBody: `{"message":"Not Found"}` + "\n",
		},
		{
			name: "HTML is escaped", status: 200, v: "<script>",
			wantStatus: 200, wantType: "application/json", wantCache: "no-store", wantPragma: "no-cache",
			wantBody: `"\u003cscript\u003e"` + "\n",
		},
		{
			name: "a value that does not marshal is a bare 500", status: 200, v: map[string]any{"f": func() {}},
			wantStatus: 500, wantType: "text/plain; charset=utf-8",
			wantBody: "Internal Server Error\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			for k, v := range tc.preset {
				rec.Header().Set(k, v)
			}
			WriteJSON(rec, tc.status, tc.v)
			h := rec.Header()
			if rec.Code != tc.wantStatus || h.Get("Content-Type") != tc.wantType || rec.Body.String() != tc.wantBody {
				t.Errorf("got %d %q %q, want %d %q %q", rec.Code, h.Get("Content-Type"), rec.Body, tc.wantStatus, tc.wantType, tc.wantBody)
			}
			if h.Get("Cache-Control") != tc.wantCache || h.Get("Pragma") != tc.wantPragma {
				t.Errorf("Cache-Control %q Pragma %q, want %q %q", h.Get("Cache-Control"), h.Get("Pragma"), tc.wantCache, tc.wantPragma)
			}
		})
	}
}

func TestNoStore(t *testing.T) {
	rec := httptest.NewRecorder()
	rec.Header().Set("Cache-Control", "public, max-age=60")
	NoStore(rec)
	if h := rec.Header(); h.Get("Cache-Control") != "no-store" || h.Get("Pragma") != "no-cache" {
		t.Errorf("Cache-Control %q Pragma %q", h.Get("Cache-Control"), h.Get("Pragma"))
	}
}
