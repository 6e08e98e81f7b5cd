package middleware

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/session"
)

// exportedKinds are the errors every error given to the ErrorHandler wraps
// exactly one of.
var exportedKinds = []error{
	ErrUnauthenticated, ErrForbidden, ErrInvalidRequest, ErrLoginFailed,
	ErrProviderUnavailable, ErrStoreUnavailable, ErrNotFound, ErrInternal, ErrRateLimited,
}

// checkErrorContract fails t unless each err wraps exactly one exported
// kind, and Status agrees with it.
func checkErrorContract(t *testing.T, errs ...error) {
	t.Helper()
	for _, err := range errs {
		var kinds []error
		for _, k := range exportedKinds {
			if errors.Is(err, k) {
				kinds = append(kinds, k)
			}
		}
		if len(kinds) != 1 {
			t.Errorf("error %q wraps %d exported errors %v, want exactly one", err, len(kinds), kinds)
			continue
		}
		if Status(err) == http.StatusInternalServerError && kinds[0] != ErrInternal {
			t.Errorf("error %q: Status 500 for %v", err, kinds[0])
		}
	}
}

// failingStore is a session store whose every call fails.
type failingStore struct{}

func (failingStore) Load(*http.Request) (*session.Session, error) {
	return nil, errors.New("store down")
}
func (failingStore) Save(http.ResponseWriter, *http.Request, *session.Session) error {
	return errors.New("store down")
}
func (failingStore) Clear(http.ResponseWriter, *http.Request) error { return errors.New("store down") }

// TestEveryHandlerErrorWrapsAnExportedError drives every endpoint and
// Require into its failures and checks the error contract of each error the
// ErrorHandler received. (TestCallback checks it for every callback case.)
func TestEveryHandlerErrorWrapsAnExportedError(t *testing.T) {
	var got []error
	record := func(w http.ResponseWriter, r *http.Request, err error) {
		got = append(got, err)
		w.WriteHeader(Status(err))
	}
	p := devProvider(t, "dev", "https://app.example")
	p2 := devProvider(t, "other", "https://app.example")
	downTS := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer downTS.Close()
	p3, err := providers.OIDC(context.Background(), providers.OIDCConfig{Name: "down", Issuer: downTS.URL, ClientID: "app"})
	if err != nil {
		t.Fatal(err)
	}
	broken := template.Must(template.New("c").Parse(`{{if ne .ReturnTo "/"}}{{.Nope.Field}}{{end}}`))
	mk := func(edit func(*Config)) *Auth {
		cfg := Config{BaseURL: "https://app.example", Providers: []*providers.Provider{p, p2, p3}, Keys: [][]byte{testKey}, ErrorHandler: record}
		if edit != nil {
			edit(&cfg)
		}
		a, err := newAuth(t, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	plain := mk(nil)
	store := mk(func(c *Config) { c.Sessions = failingStore{} })
	chooser := mk(func(c *Config) { c.ChooserTemplate = broken })
	protected := func(a *Auth) http.Handler {
		return a.Require(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	}
	api := map[string]string{"Accept": "application/json"}
	for _, tc := range []struct {
		name   string
		h      http.Handler
		method string
		target string
		hdr    map[string]string
		want   int
	}{
		{"require without a session", protected(plain), "GET", "/app", api, 401},
		{"require with the store down", protected(store), "GET", "/app", api, 503},
		{"userinfo without a session", plain.Handler(), "GET", "/auth/userinfo", api, 401},
		{"login with an unknown provider", plain.Handler(), "GET", "/auth/login/nope", api, 400},
		{"chooser template fails", chooser.Handler(), "GET", "/auth/login?return_to=/x", api, 500},
		{"login with a provider that is down", plain.Handler(), "GET", "/auth/login/down", api, 503},
		{"callback without state", plain.Handler(), "GET", "/auth/callback/dev?code=x", api, 400},
		{"callback of an unknown provider", plain.Handler(), "GET", "/auth/callback/nope?state=x", api, 400},
		{"cross-site logout", plain.Handler(), "POST", "/auth/logout", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"unknown endpoint", plain.Handler(), "GET", "/auth/nope", api, 404},
	} {
		got = got[:0]
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(tc.method, "https://app.example"+tc.target, nil)
		for k, v := range tc.hdr {
			req.Header.Set(k, v)
		}
		tc.h.ServeHTTP(rec, req)
		if rec.Code != tc.want || len(got) != 1 {
			t.Errorf("%s: status %d with %d errors, want %d through the ErrorHandler", tc.name, rec.Code, len(got), tc.want)
			continue
		}
		checkErrorContract(t, got...)
		if strings.Contains(got[0].Error(), "%!") {
			t.Errorf("%s: malformed error text %q", tc.name, got[0])
		}
	}
}
