package middleware_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/portcullis-go/portcullis/middleware"
)

// A "Refresh now" button posts to a route behind Require, whose handler
// refreshes the session's tokens at once, whatever their expiry: after
// the user's groups changed at the provider, say. The refreshed session's
// cookie goes out with the response; an application would usually
// redirect back to the page that shows the tokens.
func ExampleAuth_Refresh() {
	var auth *middleware.Auth
	env := startExample("ada", middleware.Config{}, func(mux *http.ServeMux, a *middleware.Auth) {
		auth = a
		mux.Handle("GET /account", a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, _ := middleware.UserFrom(r.Context())
			fmt.Fprintf(w, "%s's account", u.Name)
		})))
		mux.Handle("POST /account/refresh", a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			before, _ := middleware.SessionFrom(r.Context())
			s, err := auth.Refresh(r)
			if err != nil {
				// ErrProviderUnavailable: the session is as it was, try
				// again later; ErrUnauthenticated: the provider refused,
				// the session has ended; ErrInvalidRequest: the session
				// has no refresh token.
				http.Error(w, http.StatusText(middleware.Status(err)), middleware.Status(err))
				return
			}
			fmt.Fprintf(w, "%s's groups %v, new access token: %v, same session: %v",
				s.User.Name, s.User.Groups, s.Tokens.AccessToken != before.Tokens.AccessToken, s.ID == before.ID)
		})))
	})
	defer env.stop()

	_, status, body := env.visit("GET", "/account", nil) // signs in on the way
	fmt.Println(status, body)
	_, status, body = env.visit("POST", "/account/refresh", nil)
	fmt.Println(status, body)

	// Outside Require there is no session to refresh.
	_, err := auth.Refresh(httptest.NewRequest("POST", "/account/refresh", nil))
	fmt.Println(errors.Is(err, middleware.ErrUnauthenticated))
	// Output:
	// 200 Ada Lovelace's account
	// 200 Ada Lovelace's groups [admins engineers], new access token: true, same session: true
	// true
}
