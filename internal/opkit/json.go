package opkit

import (
	"encoding/json"
	"net/http"
)

// WriteJSON writes v as an application/json response with the given status
// and a final newline. v is marshalled before anything is written, so a
// value that does not marshal becomes a bare 500 whose body is only the
// status text, never the error.
//
// Unless the handler has already set a Cache-Control header (a JWKS or a
// discovery document may set "no-cache"), the response is marked with
// [NoStore]: what a provider answers in JSON usually carries tokens or
// claims. WriteJSON sets no other header; the charset parameter is left
// out, as RFC 8259 §11 defines none.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	if h.Get("Cache-Control") == "" {
		NoStore(w)
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// NoStore marks a response as one that no cache may keep: Cache-Control
// "no-store" and, for HTTP/1.0 caches, Pragma "no-cache" (RFC 6749 §5.1).
// It must be called before the header is written.
func NoStore(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}
