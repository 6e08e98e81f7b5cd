package middleware

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-go/portcullis/providers"
)

// realIdP describes the independent OpenID provider (node-oidc-provider,
// internal/realidp) that .ci/run starts. Tests that need it skip when
// PORTCULLIS_REALIDP_ISSUER is unset.
type realIdP struct {
	issuer, clientID, clientSecret, appAddr string
}

func needRealIdP(t *testing.T) realIdP {
	t.Helper()
	r := realIdP{
		issuer:       os.Getenv("PORTCULLIS_REALIDP_ISSUER"),
		clientID:     os.Getenv("PORTCULLIS_REALIDP_CLIENT_ID"),
		clientSecret: os.Getenv("PORTCULLIS_REALIDP_CLIENT_SECRET"),
		appAddr:      os.Getenv("PORTCULLIS_REALIDP_APP_ADDR"),
	}
	if r.issuer == "" {
		t.Skip("PORTCULLIS_REALIDP_ISSUER is not set: the node-oidc-provider integration test runs under .ci/run")
	}
	if r.clientID == "" || r.appAddr == "" {
		t.Fatal("PORTCULLIS_REALIDP_ISSUER is set but PORTCULLIS_REALIDP_CLIENT_ID or PORTCULLIS_REALIDP_APP_ADDR is not")
	}
	return r
}

// TestRealIdPEndToEnd signs in against node-oidc-provider, an independent,
// OpenID-certified provider: protected page → provider (its interaction is
// completed automatically by internal/realidp) → callback → protected page,
// then signs out.
func TestRealIdPEndToEnd(t *testing.T) {
	idp := needRealIdP(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := providers.OIDC(ctx, providers.OIDCConfig{
		Name:         "realidp",
		Issuer:       idp.issuer,
		ClientID:     idp.clientID,
		ClientSecret: idp.clientSecret,
		Scopes:       []string{"openid", "email", "profile", "offline_access"},
		UserInfo:     true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !p.RequiresIssuerParameter() {
		t.Error("node-oidc-provider advertises RFC 9207; the provider should require iss")
	}
	appURL := "http://" + idp.appAddr
	auth, err := New(Config{
		BaseURL:   appURL,
		Providers: []*providers.Provider{p},
		Keys:      [][]byte{[]byte("0123456789abcdef0123456789abcdef")},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("/private", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := SessionFrom(r.Context())
		io.WriteString(w, "hello "+s.User.Subject+" "+s.User.Email+" "+r.URL.RequestURI())
		if s.Tokens.RefreshToken == "" || s.Tokens.IDToken == "" || s.SID == "" {
			t.Errorf("session lacks tokens or sid: refresh %v id %v sid %v", s.Tokens.RefreshToken != "", s.Tokens.IDToken != "", s.SID != "")
		}
	})))
	ln, err := net.Listen("tcp", idp.appAddr)
	if err != nil {
		t.Fatalf("listen on %s (registered at the provider): %v", idp.appAddr, err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Accept", "text/html")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	next := appURL + "/private?from=real-idp"
	var sawCallback bool
	var resp *http.Response
	for i := 0; i < 20; i++ {
		if strings.HasPrefix(next, appURL+"/auth/callback/realidp?") {
			sawCallback = true
			cb, _ := url.Parse(next)
			if cb.Query().Get("iss") != idp.issuer {
				t.Errorf("callback iss = %q, want %q", cb.Query().Get("iss"), idp.issuer)
			}
		}
		resp = get(next)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 300 || resp.StatusCode > 399 {
			break
		}
		loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		next = loc.String()
	}
	if !sawCallback || resp.StatusCode != http.StatusOK || next != appURL+"/private?from=real-idp" {
		t.Fatalf("login did not complete: callback seen %v, last %s → %d", sawCallback, next, resp.StatusCode)
	}
	resp = get(appURL + "/private?from=real-idp")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "hello realidp-user-1 user1@realidp.test /private?from=real-idp") {
		t.Fatalf("protected page: %d %q", resp.StatusCode, body)
	}

	req, _ := http.NewRequest(http.MethodPost, appURL+"/auth/logout", nil)
	req.Header.Set("Origin", appURL)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if resp := get(appURL + "/private"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("protected page after logout: %d, want 303", resp.StatusCode)
	}
}
