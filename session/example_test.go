package session_test

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/portcullis-go/portcullis/session"
)

// A CookieStore keeps the whole session, encrypted, in the browser's
// cookies. Here a session is saved into a response and read back from the
// next request.
func ExampleNewCookieStore() {
	// A real key is 32 random bytes from a secret store, never a literal:
	// session.ParseKeys decodes the output of `openssl rand -base64 32`.
	key := []byte("example key: 32 bytes, not real!")
	store, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{key}})
	if err != nil {
		log.Fatal(err)
	}

	s := session.New(session.User{Provider: "google", Subject: "110169484474386276334", Name: "Jane Doe"},
		session.Tokens{AccessToken: "ya29.a0Af", TokenType: "Bearer"}, time.Now(), 8*time.Hour)
	w := httptest.NewRecorder()
	if err := store.Save(w, httptest.NewRequest(http.MethodGet, "https://app.example.com/auth/callback/google", nil), s); err != nil {
		log.Fatal(err)
	}
	cookies := w.Result().Cookies()

	next := httptest.NewRequest(http.MethodGet, "https://app.example.com/dashboard", nil)
	for _, c := range cookies {
		next.AddCookie(c)
	}
	loaded, err := store.Load(next)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(loaded.User.Name, loaded.User.ID())
	fmt.Println(len(cookies), "cookie named", cookies[0].Name, "secure:", cookies[0].Secure)

	// Output:
	// Jane Doe google|110169484474386276334
	// 1 cookie named __Host-portcullis secure: true
}

// Keys rotate without signing anyone out: put the new key first and keep
// the old one until the longest session made with it has ended.
func ExampleCookieConfig() {
	oldKey := []byte("the old key, 32 bytes, not real!")
	newKey := []byte("the new key, 32 bytes, not real!")
	stores := make([]*session.CookieStore, 3)
	for i, keys := range [][][]byte{{oldKey}, {newKey, oldKey}, {newKey}} {
		var err error
		if stores[i], err = session.NewCookieStore(session.CookieConfig{Keys: keys, Lifetime: 12 * time.Hour}); err != nil {
			log.Fatal(err)
		}
	}
	before, after, newOnly := stores[0], stores[1], stores[2]

	s := session.New(session.User{Provider: "corp", Subject: "42"}, session.Tokens{}, time.Now(), time.Hour)
	w := httptest.NewRecorder()
	if err := before.Save(w, httptest.NewRequest(http.MethodGet, "/", nil), s); err != nil {
		log.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, c := range w.Result().Cookies() {
		r.AddCookie(c)
	}
	_, err := after.Load(r)
	fmt.Println("new and old keys:", err)
	_, err = newOnly.Load(r)
	fmt.Println("new key only:", err)

	// Output:
	// new and old keys: <nil>
	// new key only: session: no session
}

// A session ends at the absolute time fixed when it was created.
func ExampleNew() {
	signIn := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	s := session.New(session.User{Provider: "github", Subject: "583231"}, session.Tokens{}, signIn, 8*time.Hour)
	fmt.Println(s.User.ID(), s.Expires.Format(time.Kitchen))
	fmt.Println(s.Valid(signIn.Add(7*time.Hour)), s.Valid(signIn.Add(8*time.Hour)))

	// Output:
	// github|583231 5:00PM
	// true false
}

// ParseKeys reads keys kept as text, such as an environment variable
// SESSION_KEYS set to the output of `openssl rand -base64 32`, comma
// separated and newest first. Its errors say which entry is wrong and
// never show a key.
func ExampleParseKeys() {
	// In a program: session.ParseKeys(os.Getenv("SESSION_KEYS")).
	keys, err := session.ParseKeys("q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k=, AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(keys), "keys of", len(keys[0]), "and", len(keys[1]), "bytes")

	_, err = session.ParseKeys("q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k=,q83vASNFZ4mrze8BI0VniQ==")
	fmt.Println(err)

	// Output:
	// 2 keys of 32 and 32 bytes
	// session: key 2 of 2 decodes to 16 bytes; want 32 to 64 random bytes: `openssl rand -base64 32` makes one
}

// A claim kept at sign-in (providers.OIDCConfig.KeepClaims, here
// "realm_access" and "tid") is read in a handler with User.Claim, into
// whatever type fits it. A claim the provider did not send is reported
// absent, not as an error.
func ExampleUser_Claim() {
	// In a handler behind Require: u, _ := middleware.UserFrom(r.Context())
	u := &session.User{
		Provider: "keycloak",
		Subject:  "f1b2",
		Claims: map[string]json.RawMessage{
			"realm_access": json.RawMessage(`{"roles":["admin","ops"]}`),
			"tid":          json.RawMessage(`"9188040d"`),
		},
	}
	var realm struct {
		Roles []string `json:"roles"`
	}
	if ok, err := u.Claim("realm_access", &realm); ok && err == nil {
		fmt.Println("roles:", realm.Roles)
	}
	var tid string
	ok, err := u.Claim("tid", &tid)
	fmt.Println("tid:", tid, ok, err)
	var dept string
	ok, err = u.Claim("department", &dept)
	fmt.Println("department:", ok, err)
	// Output:
	// roles: [admin ops]
	// tid: 9188040d true <nil>
	// department: false <nil>
}
