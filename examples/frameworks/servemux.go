package main

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/portcullis-go/portcullis/middleware"
)

// newServeMuxApp is the application on net/http's ServeMux (Go 1.22
// patterns). Glue: auth.Handler() mounted at /auth/, auth.Require around
// each private handler.
func newServeMuxApp(auth *middleware.Auth, userinfoURL string) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "public page (servemux)\n")
	})
	mux.Handle("GET /private", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, greeting(r))
	})))
	mux.Handle("GET /api/profile", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, err := profile(r.Context(), auth.Client(r), userinfoURL)
		if err != nil {
			http.Error(w, "the provider did not answer", http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(claims)
	})))
	return mux
}
