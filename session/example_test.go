package session_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/clerkgate/clerkgate/session"
)

// exampleBackend stands in for api.clerk.com so the examples run offline.
func exampleBackend() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/sessions/sess_123":
			_, _ = io.WriteString(w, `{"object":"session","id":"sess_123","user_id":"user_1","client_id":"client_1",
				"status":"active","last_active_at":1778590800000,"expire_at":1779192000000,
				"abandon_at":1781179200000,"updated_at":1778590800000,"created_at":1778587200000}`)
		case "/v1/sessions/sess_123/revoke":
			_, _ = io.WriteString(w, `{"object":"session","id":"sess_123","user_id":"user_1","client_id":"client_1",
				"status":"revoked","last_active_at":1778590800000,"expire_at":1779192000000,
				"abandon_at":1781179200000,"updated_at":1778590900000,"created_at":1778587200000}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"errors":[{"code":"resource_not_found","message":"not found","long_message":"Resource not found"}],"clerk_trace_id":"abc"}`)
		}
	}))
}

func ExampleClient_Get() {
	srv := exampleBackend()
	defer srv.Close()

	c, err := session.NewClient(session.Config{
		SecretKey: "sk_test_example", // in production: os.Getenv("CLERK_SECRET_KEY")
		APIURL:    srv.URL,           // leave empty for https://api.clerk.com
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()

	s, err := c.Get(ctx, "sess_123")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.ID, s.Status, s.ExpireTime().UTC().Format(time.RFC3339))

	_, err = c.Get(ctx, "sess_gone")
	fmt.Println(session.IsNotFound(err))
	// Output:
	// sess_123 active 2026-05-19T12:00:00Z
	// true
}

func ExampleClient_Revoke() {
	srv := exampleBackend()
	defer srv.Close()

	c, err := session.NewClient(session.Config{
		SecretKey: "sk_test_example",
		APIURL:    srv.URL,
		// Tokens already issued stay valid until they expire; the hook lets
		// this process reject them at once.
		OnRevoked: func(id string) { fmt.Println("reject tokens of", id) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := c.Revoke(context.Background(), "sess_123")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Status)
	// Output:
	// reject tokens of sess_123
	// revoked
}
