// Command gateserver isolates what clerkgate's middleware costs over HTTP.
// Its GET /me is the session policy's Require over a handler that does
// the same work as its GET /healthz (encode a one-entry JSON object), so
// the ratio of the two routes' requests per second is the middleware's share alone.
// examples/nethttp's /me, by contrast, decodes and re-encodes every claim
// of the token, which costs more than the authentication does.
//
// Its GET /apikey and GET /m2m are the same route for machine credentials
// (Gate.Accept(APIKey) and Gate.Accept(M2MToken)), answering the caller's
// subject, so that a machine credential can be set beside a session token
// and /healthz.
//
// It is configured like the example, from CLERK_SECRET_KEY,
// CLERK_PUBLISHABLE_KEY, CLERK_API_URL and ADDR (default 127.0.0.1:8082;
// port 0 picks a free one), and prints "… listening on http://host:port"
// once it accepts connections.
package main

import (
	"encoding/json"
	"log"
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
	ln, err := serve.Listen("clerkgate bench server", addr)
	if err != nil {
		log.Fatal(err)
	}
	if err := serve.UntilSignal(ln, routes(gate)); err != nil {
		log.Fatal(err)
	}
}

func routes(gate *clerkgate.Gate) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		write(w, map[string]string{"status": "ok"})
	})
	mux.Handle("GET /me", gate.Accept(clerkgate.SessionToken).Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, _ := clerkgate.CallerFromContext(r.Context())
		write(w, map[string]string{"user_id": caller.Subject()})
	})))
	subject := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := clerkgate.CallerFromContext(r.Context())
		write(w, map[string]string{"subject": c.Subject()})
	})
	mux.Handle("GET /apikey", gate.Accept(clerkgate.APIKey).Require(subject))
	mux.Handle("GET /m2m", gate.Accept(clerkgate.M2MToken).Require(subject))
	// /claims answers as examples/nethttp's /me and cmd/sdkserver's /me
	// do: the ids and every claim of the token. It is what cmd/load
	// compares with clerk-sdk-go over HTTP/2 and TLS, which the example
	// does not serve.
	mux.Handle("GET /claims", gate.Accept(clerkgate.SessionToken).Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := clerkgate.ClaimsFromContext(r.Context())
		write(w, claimsBody{UserID: c.Subject, SessionID: c.SessionID, Claims: c.RawJSON()})
	})))
	return mux
}

type claimsBody struct {
	UserID    string          `json:"user_id"`
	SessionID string          `json:"session_id"`
	Claims    json.RawMessage `json:"claims"`
}

func write(w http.ResponseWriter, body any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}
