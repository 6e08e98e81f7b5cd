package main

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/portcullis-go/portcullis/middleware"
)

// newChiApp is the application on chi. Glue: auth.Handler() mounted at
// /auth/*, auth.Require as the middleware of a group (chi middleware has
// net/http's shape).
func newChiApp(auth *middleware.Auth, userinfoURL string) http.Handler {
	r := chi.NewRouter()
	r.Handle("/auth/*", auth.Handler())
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "public page (chi)\n")
	})
	r.Group(func(r chi.Router) {
		r.Use(auth.Require)
		r.Get("/private", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, greeting(r))
		})
		r.Get("/api/profile", func(w http.ResponseWriter, r *http.Request) {
			claims, err := profile(r.Context(), auth.Client(r), userinfoURL)
			if err != nil {
				http.Error(w, "the provider did not answer", http.StatusBadGateway)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(claims)
		})
	})
	return r
}
