package main

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/portcullis-go/portcullis/middleware"
)

// newGorillaMuxApp is the application on gorilla/mux. Glue: auth.Handler()
// under the path prefix /auth/, auth.Require as the middleware of a
// subrouter (mux.MiddlewareFunc has net/http's shape).
func newGorillaMuxApp(auth *middleware.Auth, userinfoURL string) http.Handler {
	r := mux.NewRouter()
	r.PathPrefix("/auth/").Handler(auth.Handler())
	r.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "public page (gorilla/mux)\n")
	}).Methods(http.MethodGet)
	private := r.NewRoute().Subrouter()
	private.Use(auth.Require)
	private.HandleFunc("/private", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, greeting(r))
	}).Methods(http.MethodGet)
	private.HandleFunc("/api/profile", func(w http.ResponseWriter, r *http.Request) {
		claims, err := profile(r.Context(), auth.Client(r), userinfoURL)
		if err != nil {
			http.Error(w, "the provider did not answer", http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(claims)
	}).Methods(http.MethodGet)
	return r
}
