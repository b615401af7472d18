package clerkgate_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

// Check at start-up, to exit with the reason on a configuration error
// (ErrConfig) rather than serve 503s, and behind a readiness endpoint. Any
// other error is an outage: serve anyway, as the Gate recovers once Clerk
// is back, where exiting would crash-loop every replica. Here the secret
// key is wrong.
func ExampleGate_Check() {
	fake := clerktest.New()
	defer fake.Close()

	gate, err := clerkgate.New(clerkgate.Config{
		SecretKey:         "sk_test_not_this_instances",
		PublishableKey:    fake.PublishableKey(),
		APIURL:            fake.URL(),
		AuthorizedParties: []string{"https://app.example.com"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer gate.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = gate.Check(ctx)
	fmt.Println("configuration error:", errors.Is(err, clerkgate.ErrConfig))

	// A readiness probe: Check asks Clerk at most once per
	// Keys.MinRefetchInterval, so polling it costs nothing.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := gate.Check(r.Context()); err != nil {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	// Output:
	// configuration error: true
}
