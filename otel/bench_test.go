package clerkotel_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
	clerkotel "github.com/clerkgate/clerkgate/otel"
)

// The benchmarks below are read as a pair, in the same run: a warm
// request (a token in the verified-token cache) through a Gate without
// telemetry, and through one instrumented with the OTel SDK (metrics to
// a ManualReader, spans to a recorder). The ratio is what clerkotel costs
// per request; the root module's BenchmarkMiddlewareWarmObserved shows
// what the bare hook costs.

func benchGate(b *testing.B, instrument bool) (http.Handler, *http.Request) {
	b.Helper()
	fake := clerktest.New()
	b.Cleanup(fake.Close)
	cfg := clerkgate.Config{SecretKey: fake.SecretKey(), PublishableKey: fake.PublishableKey(), APIURL: fake.URL(),
		MaxTokenLifetime: time.Hour, Logger: slog.New(slog.DiscardHandler)}
	if instrument {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		b.Cleanup(func() { mp.Shutdown(context.Background()) })
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()))
		tel, err := clerkotel.New(clerkotel.WithMeterProvider(mp), clerkotel.WithTracerProvider(tp))
		if err != nil {
			b.Fatal(err)
		}
		tel.Instrument(&cfg)
	}
	g, err := clerkgate.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		g.Close()
		if cfg.HTTPClient != nil {
			cfg.HTTPClient.CloseIdleConnections()
		}
	})
	req := httptest.NewRequest(http.MethodGet, "/me", nil)
	req.Header.Set("Authorization", "Bearer "+fake.Token(fake.CreateSession("user_bench").ID, clerktest.ExpiresIn(time.Hour)))
	return g.Accept(clerkgate.SessionToken).Require(whoami), req
}

func runWarm(b *testing.B, h http.Handler, req *http.Request) {
	b.Helper()
	serve := func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	serve()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		serve()
	}
}

// BenchmarkMiddlewareWarm is the baseline: no telemetry.
func BenchmarkMiddlewareWarm(b *testing.B) {
	h, req := benchGate(b, false)
	runWarm(b, h, req)
}

// BenchmarkMiddlewareWarmInstrumented is the same request with clerkotel.
func BenchmarkMiddlewareWarmInstrumented(b *testing.B) {
	h, req := benchGate(b, true)
	runWarm(b, h, req)
}
