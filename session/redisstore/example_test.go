package redisstore_test

import (
	"log"
	"net/http"
	"time"

	"github.com/portcullis-go/portcullis/session/redisstore"
	"github.com/redis/go-redis/v9"
)

// ExampleNew keeps sessions in a local Redis. The keys come from the
// environment or a secret manager in a real application, and are the same
// on every instance.
func ExampleNew() {
	key := []byte("replace with 32 random bytes....")
	store, err := redisstore.New(redisstore.Config{
		Client: redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"}),
		Keys:   [][]byte{key},
		// Sessions not used for 30 minutes end; set the middleware's
		// IdleTimeout to the same value.
		IdleTimeout: 30 * time.Minute,
	})
	if err != nil {
		log.Fatal(err)
	}
	// middleware.Config{Sessions: store, …}
	_ = store
}

// ExampleStore_EndSessions signs a user out of every browser.
func ExampleStore_EndSessions() {
	var store *redisstore.Store // from redisstore.New
	var r *http.Request         // an administrator's request
	if store == nil || r == nil {
		return
	}
	n, err := store.EndSessions(r.Context(), "google", "1234567890")
	if err != nil {
		log.Print(err)
		return
	}
	log.Printf("ended %d sessions", n)
}
