package clerkgate_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

// BenchmarkCallerKinds is the per-request cost of each credential type
// behind Gate.Accept(AnyToken), side by side: a session token and an M2M
// JWT (each verified once, then served from the verified-token cache,
// which also tells their type apart) and an API key (cached Backend API
// answer).
func BenchmarkCallerKinds(b *testing.B) {
	fake := clerktest.New()
	b.Cleanup(fake.Close)
	gate, err := clerkgate.New(clerkgate.Config{
		SecretKey:        fake.SecretKey(),
		PublishableKey:   fake.PublishableKey(),
		APIURL:           fake.URL(),
		HTTPClient:       fake.Client(),
		MaxTokenLifetime: time.Hour,
		Machine:          clerkgate.MachineConfig{MaxAge: time.Hour},
		Logger:           slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { gate.Close() })
	h := gate.Accept(clerkgate.AnyToken).Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := clerkgate.CallerFromContext(r.Context()); !ok {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	sess := fake.CreateSession("user_bench")
	m := fake.CreateMachine()
	_, key := fake.CreateAPIKey("user_2abcdefghijklmnopqrstuvwxyz", "bench key")
	for _, tc := range []struct{ name, token string }{
		{"session", fake.Token(sess.ID, clerktest.ExpiresIn(time.Hour))},
		{"api_key_cached", key},
		{"m2m_jwt", fake.M2MJWT(m.ID)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Authorization", "Bearer "+tc.token)
			serveBench(b, h, req, http.StatusOK)
		})
	}
}
