package redisstore_test

import (
	"context"
	"log"
	"net/http"
	"time"

	"github.com/portcullis-go/portcullis/middleware"
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

// ExampleNewShared lets several instances of an application act as one:
// sessions and the shared coordination on one Redis, whose
// maxmemory-policy must be noeviction (NewShared checks).
func ExampleNewShared() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	key := []byte("replace with 32 random bytes....")
	store, err := redisstore.New(redisstore.Config{Client: client, Keys: [][]byte{key}})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shared, err := redisstore.NewShared(ctx, redisstore.SharedConfig{Client: client})
	if err != nil {
		log.Fatal(err) // unreachable, or an evicting maxmemory-policy
	}
	cfg := middleware.Config{
		Sessions: store,
		Shared:   shared,
		// BaseURL, Providers, Keys: the same on every instance.
	}
	_ = cfg
}

// ExampleSharedConfig is a Redis Cluster on a managed service that does
// not allow CONFIG GET: its maxmemory-policy was set to noeviction in the
// service's settings, so the check is skipped.
func ExampleSharedConfig() {
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"clustercfg.example.cache.amazonaws.com:6379"}})
	shared, err := redisstore.NewShared(context.Background(), redisstore.SharedConfig{
		Client: client,
		Prefix: "billing:", // one application of several on this Redis
		// The parameter group sets maxmemory-policy noeviction.
		InsecureSkipEvictionCheck: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = middleware.Config{Shared: shared}
}
