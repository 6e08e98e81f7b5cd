package authtest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/middleware/authtest"
	"github.com/portcullis-go/portcullis/middleware/policy"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/session"
)

// keys are the application's test keys (32 bytes).
var keys = [][]byte{[]byte("example-key-example-key-example!")}

// hello is the application's handler: it greets the signed-in user.
func hello(w http.ResponseWriter, r *http.Request) {
	u, _ := middleware.UserFrom(r.Context())
	fmt.Fprintf(w, "hello %s", u.Name)
}

// newAuth is the application's own setup, given the test's provider.
func newAuth(t testing.TB, baseURL string, idp *authtest.Provider) *middleware.Auth {
	t.Helper()
	auth, err := middleware.New(middleware.Config{
		BaseURL: baseURL, Providers: []*providers.Provider{idp.Provider()}, Keys: keys,
	})
	if err != nil {
		t.Fatal(err)
	}
	return auth
}

// A handler behind Require, tested with a signed-in request and an
// anonymous one.
func Example_protectedHandler() {
	run(func(t testing.TB) {
		idp := authtest.NewProvider(t, authtest.Config{BaseURL: "http://localhost:8080"})
		auth := newAuth(t, "http://localhost:8080", idp)
		h := auth.Require(http.HandlerFunc(hello))

		r := httptest.NewRequest("GET", "/dashboard", nil)
		authtest.SignIn(t, auth, r, session.User{Subject: "ada", Name: "Ada"}, session.Tokens{})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body)

		anon := httptest.NewRequest("GET", "/dashboard", nil)
		anon.Header.Set("Accept", "text/html") // a browser: redirected to sign in
		w = httptest.NewRecorder()
		h.ServeHTTP(w, anon)
		fmt.Println(w.Code, w.Header().Get("Location"))
	})
	// Output:
	// 200 hello Ada
	// 303 /auth/login?return_to=%2Fdashboard
}

// A route for one group: a member is admitted, anyone else gets 403.
func Example_policy() {
	run(func(t testing.TB) {
		idp := authtest.NewProvider(t, authtest.Config{BaseURL: "http://localhost:8080"})
		auth := newAuth(t, "http://localhost:8080", idp)
		h := auth.RequireWith(policy.Groups("admins"))(http.HandlerFunc(hello))

		for _, u := range []session.User{
			{Subject: "ada", Name: "Ada", Groups: []string{"admins"}},
			{Subject: "grace", Name: "Grace", Groups: []string{"staff"}},
		} {
			r := httptest.NewRequest("GET", "/admin", nil)
			authtest.SignIn(t, auth, r, u, session.Tokens{})
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			fmt.Println(u.Subject, w.Code)
		}
	})
	// Output:
	// ada 200
	// grace 403
}

// A handler that calls the provider's API with the user's access token
// (auth.Client), tested with a client that signed in through the real
// flow: its session holds real devoidc tokens.
func Example_apiCall() {
	run(func(t testing.TB) {
		app := httptest.NewServer(nil)
		t.Cleanup(app.Close)
		idp := authtest.NewProvider(t, authtest.Config{BaseURL: app.URL})
		auth := newAuth(t, app.URL, idp)
		mux := http.NewServeMux()
		mux.Handle("/auth/", auth.Handler())
		mux.Handle("/me", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			resp, err := auth.Client(r).Get(idp.Server().Issuer() + "/userinfo")
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			var claims struct{ Email string }
			if err := json.NewDecoder(resp.Body).Decode(&claims); err != nil || resp.StatusCode != http.StatusOK {
				http.Error(w, "userinfo refused", http.StatusBadGateway)
				return
			}
			fmt.Fprintf(w, "the provider says %s", claims.Email)
		})))
		app.Config.Handler = mux

		c := idp.Client(t, "ada")
		resp, err := c.Get(app.URL + "/me")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Println(resp.StatusCode, string(body))
	})
	// Output:
	// 200 the provider says ada@example.com
}

// run runs test as go test runs a Test function, with a real testing.TB
// whose Cleanup functions run when test returns: an Example has no t of
// its own. In an application's tests, write func TestX(t *testing.T).
func run(test func(t testing.TB)) {
	testing.Benchmark(func(b *testing.B) {
		defer func() {
			if b.Failed() {
				fmt.Println("FAIL")
			}
		}()
		test(b)
		b.SkipNow() // one run, not a benchmark's iterations
	})
}
