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
	kinds := []struct{ name, token string }{
		{"session", fake.Token(sess.ID, clerktest.ExpiresIn(time.Hour))},
		{"api_key_cached", key},
		{"m2m_jwt", fake.M2MJWT(m.ID)},
	}
	reqs := make([]*http.Request, len(kinds))
	for i, tc := range kinds {
		reqs[i] = httptest.NewRequest(http.MethodGet, "/", nil)
		reqs[i].Header.Set("Authorization", "Bearer "+tc.token)
		b.Run(tc.name, func(b *testing.B) { serveBench(b, h, reqs[i], http.StatusOK) })
	}
	// interleaved serves the three in turn in every iteration and reports
	// each machine credential's requests per second as a ratio to the
	// session token's (the targets: both ≥ 0.95). On a shared machine the
	// load drifts between the runs of the sub-benchmarks above; here it
	// falls on all three alike.
	b.Run("interleaved", func(b *testing.B) {
		var spent [3]time.Duration
		for b.Loop() {
			for i, req := range reqs {
				start := time.Now()
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				spent[i] += time.Since(start)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: status %d", kinds[i].name, rec.Code)
				}
			}
		}
		b.ReportMetric(float64(spent[0])/float64(spent[1]), "api_key_vs_session")
		b.ReportMetric(float64(spent[0])/float64(spent[2]), "m2m_jwt_vs_session")
	})
}
