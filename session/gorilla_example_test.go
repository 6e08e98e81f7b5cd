package session_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/gorilla/sessions"
	"github.com/portcullis-go/portcullis/session"
)

// A GorillaStore keeps sessions in a gorilla/sessions store the
// application already runs, here a FilesystemStore: the cookie carries
// only a signed record ID, the record holds the session.
func ExampleNewGorillaStore() {
	dir, err := os.MkdirTemp("", "sessions")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	// A real key is 32 random bytes from a secret store, never a literal.
	gorillaStore := sessions.NewFilesystemStore(dir, []byte("example key: 32 bytes, not real!"))
	store, err := session.NewGorillaStore(session.GorillaConfig{Store: gorillaStore})
	if err != nil {
		log.Fatal(err)
	}

	s := session.New(session.User{Provider: "corp", Subject: "ada", Name: "Ada Lovelace"},
		session.Tokens{AccessToken: "at", TokenType: "Bearer"}, time.Now(), 8*time.Hour)
	w := httptest.NewRecorder()
	if err := store.Save(w, httptest.NewRequest(http.MethodGet, "https://app.example.com/auth/callback/corp", nil), s); err != nil {
		log.Fatal(err)
	}
	c := w.Result().Cookies()[0]
	fmt.Println(c.Name, c.Secure, c.HttpOnly, c.SameSite == http.SameSiteLaxMode)

	next := httptest.NewRequest(http.MethodGet, "https://app.example.com/dashboard", nil)
	next.AddCookie(c)
	loaded, err := store.Load(next)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(loaded.User.Name)
	// Output:
	// portcullis true true true
	// Ada Lovelace
}
