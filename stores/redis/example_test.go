package redisstore_test

import (
	"log"
	"net/http"
	"os"

	"github.com/clerkgate/clerkgate"
	redisstore "github.com/clerkgate/clerkgate/stores/redis"
)

// Every replica of the app runs this with the same CLERK_* keys and the
// same REDIS_URL. A refresh is then made once across the replicas, and a
// logout on one replica is enforced by all within a second.
func ExampleOpen() {
	store, err := redisstore.Open(os.Getenv("REDIS_URL"), redisstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	cfg := clerkgate.ConfigFromEnv()
	cfg.Store = store
	gate, err := clerkgate.New(cfg)
	if err != nil {
		store.Close() // the Gate did not take it
		log.Fatal(err)
	}
	defer gate.Close() // closes the store too

	mux := http.NewServeMux()
	mux.Handle("GET /me", gate.Accept(clerkgate.SessionToken).Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, _ := clerkgate.CallerFromContext(r.Context())
		w.Write([]byte(caller.Subject()))
	})))
	log.Fatal(http.ListenAndServe(":8080", mux))
}

// On a Redis Cluster, every replica of the app opens the store through
// some of the cluster's nodes; the client learns the others. REDIS_CLUSTER
// holds a cluster URL, such as
// rediss://:password@10.0.0.1:6379?addr=10.0.0.2:6379&addr=10.0.0.3:6379,
// or addresses separated by commas.
func ExampleOpenCluster() {
	store, err := redisstore.OpenCluster(os.Getenv("REDIS_CLUSTER"), redisstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	cfg := clerkgate.ConfigFromEnv()
	cfg.Store = store
	gate, err := clerkgate.New(cfg)
	if err != nil {
		store.Close()
		log.Fatal(err)
	}
	defer gate.Close()
	log.Fatal(http.ListenAndServe(":8080", gate.Accept(clerkgate.SessionToken).Require(http.NotFoundHandler())))
}
