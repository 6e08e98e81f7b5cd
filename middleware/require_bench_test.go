package middleware

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/sessions"
	"github.com/portcullis-go/portcullis/middleware/policy"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/providers/devoidc"
	"github.com/portcullis-go/portcullis/session"
)

// benchSession is a realistic signed-in session: a ~1 KB RS256 ID token
// (Google-like claims, 2048-bit key), a 200-character access token and a
// 103-character refresh token.
func benchSession(tb testing.TB) *session.Session {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now()
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "f5f4bf46e52b31d9b6249f7309ad0338400680cd", "typ": "JWT"})
	claims, _ := json.Marshal(map[string]any{
		"iss": "https://accounts.google.com", "azp": "1234567890-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com",
		"aud": "1234567890-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com", "sub": "110169484474386276334",
		"email": "ada.lovelace@example.com", "email_verified": true, "at_hash": "HK6E_P6Dh8Y93mRNtsDB1Q",
		"name": "Ada Lovelace", "picture": "https://lh3.googleusercontent.com/a/ACg8ocJ9s0mExAmPlEpIcTuReUrL=s96-c",
		"given_name": "Ada", "family_name": "Lovelace", "nonce": "n-0S6_WzA2Mj-0S6_WzA2Mj-0S6_WzA2Mj",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	signing := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(claims)
	h := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
	if err != nil {
		tb.Fatal(err)
	}
	idToken := signing + "." + base64.RawURLEncoding.EncodeToString(sig)
	s := session.New(session.User{
		Provider: "dev", Issuer: "https://accounts.google.com", Subject: "110169484474386276334",
		Email: "ada.lovelace@example.com", Name: "Ada Lovelace",
	}, session.Tokens{
		AccessToken:  "ya29." + strings.Repeat("a0B1c2D3e4", 19) + "xyzXY",
		TokenType:    "Bearer",
		RefreshToken: "1//" + strings.Repeat("0gAbCdEfGh", 10),
		Expiry:       now.Add(time.Hour),
		IDToken:      idToken,
	}, now, 12*time.Hour)
	return s
}

// benchAuth returns an Auth with one provider (served by devoidc). It
// calls New, not newAuth: the leak scan's taps would be part of what the
// benchmarks measure.
func benchAuth(tb testing.TB) *Auth {
	tb.Helper()
	ts := httptest.NewServer(nil)
	tb.Cleanup(ts.Close)
	op, err := devoidc.New(devoidc.Config{Issuer: ts.URL, Clients: []devoidc.Client{{ID: "app", Secret: "s", RedirectURIs: []string{"https://app.example/auth/callback/dev"}}}})
	if err != nil {
		tb.Fatal(err)
	}
	ts.Config.Handler = op
	p, err := providers.OIDC(context.Background(), providers.OIDCConfig{Name: "dev", Issuer: ts.URL, ClientID: "app", ClientSecret: "s"})
	if err != nil {
		tb.Fatal(err)
	}
	a, err := New(Config{
		BaseURL:   "https://app.example",
		Providers: []*providers.Provider{p},
		Keys:      [][]byte{[]byte("0123456789abcdef0123456789abcdef")},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// appHandler reads the user and writes the email, as the anchors' app
// handler does.
func appHandler(email func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, email(r))
	})
}

// BenchmarkRequire measures one authenticated request through Require,
// beside the same handler with no authentication and gorilla/sessions'
// CookieStore loading the same payload, in the same run. Every iteration
// shallow-copies a prepared request carrying the cookies.
func BenchmarkRequire(b *testing.B) {
	s := benchSession(b)
	user := func(r *http.Request) string {
		u, ok := UserFrom(r.Context())
		if !ok {
			panic("no user")
		}
		return u.Email
	}

	b.Run("bare", func(b *testing.B) {
		h := appHandler(func(*http.Request) string { return "ada.lovelace@example.com" })
		req := httptest.NewRequest(http.MethodGet, "https://app.example/private", nil)
		runRequests(b, h, req)
	})

	// signedInRequests runs requests carrying s's cookies through
	// a.Require.
	signedInRequests := func(b *testing.B, a *Auth) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "https://app.example/private", nil)
		s := *s
		s.User.Issuer = a.s.providers["dev"].Issuer() // sessions are bound to their issuer
		if err := a.s.Sessions.Save(rec, req, &s); err != nil {
			b.Fatal(err)
		}
		req = withCookies(req, rec)
		h := a.Require(appHandler(user))
		checkOK(b, h, req)
		runRequests(b, h, req)
	}

	b.Run("portcullis", func(b *testing.B) { signedInRequests(b, benchAuth(b)) })

	// A route with a policy (RequireWith): the email domain passes.
	b.Run("portcullis-policy", func(b *testing.B) {
		a := benchAuth(b)
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "https://app.example/private", nil)
		s := *s
		s.User.Issuer = a.s.providers["dev"].Issuer()
		if err := a.s.Sessions.Save(rec, req, &s); err != nil {
			b.Fatal(err)
		}
		req = withCookies(req, rec)
		h := a.RequireWith(policy.AnyOf(policy.EmailDomains("example.com"), policy.Groups("admins")))(appHandler(user))
		checkOK(b, h, req)
		runRequests(b, h, req)
	})

	// The revocation list on the per-request path: none at all, and one
	// holding 10,000 entries (of other sessions and users) of each shape.
	for _, entries := range []int{-1, 10000} {
		name := "portcullis-no-revocation-list"
		if entries > 0 {
			name = fmt.Sprintf("portcullis-revocations-%d", 3*entries)
		}
		b.Run(name, func(b *testing.B) {
			a := benchAuth(b)
			if entries < 0 {
				a.s.Revocations = noRevocations{}
			}
			now := time.Now()
			for i := 0; i < entries; i++ {
				n := strconv.Itoa(i)
				other := &session.Session{ID: "id-" + n, User: session.User{Provider: "dev", Subject: "user-" + n}, Created: now, Expires: now.Add(time.Hour)}
				for _, rev := range []session.Revocation{
					sessionRevocation(other),
					endedRevocation("dev", "", "sid-"+n, now, time.Hour),
					endedRevocation("dev", "sub-"+n, "", now, time.Hour),
				} {
					if err := a.s.Revocations.Add(context.Background(), rev); err != nil {
						b.Fatal(err)
					}
				}
			}
			signedInRequests(b, a)
		})
	}

	b.Run("gorilla-sessions", func(b *testing.B) {
		store := sessions.NewCookieStore([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), []byte("0123456789abcdef0123456789abcdef"))
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "https://app.example/private", nil)
		gs, _ := store.New(req, "session")
		gs.Values["sub"] = s.User.Subject
		gs.Values["email"] = s.User.Email
		gs.Values["name"] = s.User.Name
		gs.Values["access_token"] = s.Tokens.AccessToken
		gs.Values["refresh_token"] = s.Tokens.RefreshToken
		gs.Values["id_token"] = s.Tokens.IDToken
		gs.Values["expiry"] = s.Tokens.Expiry.Unix()
		if err := store.Save(req, rec, gs); err != nil {
			b.Fatal(err)
		}
		req = withCookies(req, rec)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			gs, err := store.New(r, "session")
			if err != nil || gs.IsNew || time.Now().Unix() > gs.Values["expiry"].(int64) {
				http.Error(w, "unauthenticated", http.StatusUnauthorized)
				return
			}
			io.WriteString(w, gs.Values["email"].(string))
		})
		checkOK(b, h, req)
		runRequests(b, h, req)
	})
}

func withCookies(req *http.Request, rec *httptest.ResponseRecorder) *http.Request {
	for _, c := range rec.Result().Cookies() {
		req.AddCookie(c)
	}
	return req
}

func checkOK(b *testing.B, h http.Handler, req *http.Request) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
}

func runRequests(b *testing.B, h http.Handler, req *http.Request) {
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := new(http.Request)
		*r = *req
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
}

// noRevocations is a RevocationStore that never revokes: the per-request
// path without a revocation list, for comparison.
type noRevocations struct{}

func (noRevocations) Add(context.Context, session.Revocation) error { return nil }
func (noRevocations) Revoked(context.Context, *session.Session) (bool, error) {
	return false, nil
}
