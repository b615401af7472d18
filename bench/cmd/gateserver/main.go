// Command gateserver isolates what clerkgate's middleware costs over HTTP.
// Its GET /me is RequireSession over a handler that does the same work as
// its GET /healthz (encode a one-entry JSON object), so the ratio of the
// two routes' requests per second is the middleware's share alone.
// examples/nethttp's /me, by contrast, decodes and re-encodes every claim
// of the token, which costs more than the authentication does.
//
// It is configured like the example, from CLERK_SECRET_KEY,
// CLERK_PUBLISHABLE_KEY, CLERK_API_URL and ADDR (default 127.0.0.1:8082;
// port 0 picks a free one), and prints "… listening on http://host:port"
// once it accepts connections.
package main

import (
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/clerkgate/clerkgate/bench/internal/serve"

	"github.com/clerkgate/clerkgate"
)

func main() {
	cfg := clerkgate.ConfigFromEnv()
	// The load tool mints the tokens of its timed phases up front, to live
	// two hours instead of Clerk's 60 s.
	cfg.MaxTokenLifetime = 3 * time.Hour
	gate, err := clerkgate.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer gate.Close()
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = "127.0.0.1:8082"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("clerkgate bench server listening on http://%s\n", ln.Addr())
	if err := serve.UntilSignal(ln, routes(gate)); err != nil {
		log.Fatal(err)
	}
}

func routes(gate *clerkgate.Gate) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		write(w, map[string]string{"status": "ok"})
	})
	mux.Handle("GET /me", gate.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		write(w, map[string]string{"user_id": clerkgate.UserID(r.Context())})
	})))
	return mux
}

func write(w http.ResponseWriter, body map[string]string) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}
