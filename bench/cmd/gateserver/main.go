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
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/clerkgate/clerkgate"
)

func main() {
	gate, err := clerkgate.NewFromEnv()
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
	if err := serve(ln, routes(gate)); err != nil {
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

// serve serves h on ln until SIGINT or SIGTERM, as the example does.
func serve(ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
