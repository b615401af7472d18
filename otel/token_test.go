package clerkotel_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

// A bare token (what the gRPC interceptors pass on) is counted as the
// same token in a request's Authorization header on the same route: once
// every case has been sent both ways, every clerkgate.requests point has
// exactly doubled and no other appeared; and the span it runs under gets
// the clerkgate.* attributes the request's server span got.
func TestBareTokensCountAsRequests(t *testing.T) {
	t.Parallel()
	a := newApp(t, nil)
	s := a.fake.CreateSession("user_1")
	valid := a.fake.Token(s.ID)
	_, apiKey := a.fake.CreateAPIKey("user_1", "ci")
	// The routes of newApp's mux, taken bare.
	routes := map[string]func(context.Context, string) error{
		"/me": func(ctx context.Context, token string) error {
			_, err := a.gate.Accept(clerkgate.SessionToken).AuthenticateToken(ctx, token)
			return err
		},
		"/api": func(ctx context.Context, token string) error {
			_, err := a.gate.Accept(clerkgate.APIKey).AuthenticateToken(ctx, token)
			return err
		},
	}
	cases := []struct{ path, token string }{
		{"/me", valid},
		{"/me", valid[:len(valid)-4] + "AAAA"},
		{"/me", a.fake.Token(s.ID, clerktest.Expired())},
		{"/me", ""},
		{"/me", apiKey},
		{"/api", apiKey},
		{"/api", "ak_" + strings.Repeat("f", 32)},
		{"/api", valid},
		{"/api", ""},
	}

	spanAttrs := make([][]attribute.KeyValue, len(cases))
	for i, tc := range cases {
		var mod func(*http.Request)
		if tc.token != "" {
			mod = bearer(tc.token)
		}
		a.get(t, tc.path, mod)
		spanAttrs[i] = clerkgateAttrs(a.serverSpan(t))
		require.NotEmpty(t, spanAttrs[i], "%s %.12s", tc.path, tc.token)
	}
	overHTTP := requestPoints(t, a.collect(t))
	require.NotEmpty(t, overHTTP)

	for i, tc := range cases {
		ctx, span := a.tracer.Start(context.Background(), "bare")
		routes[tc.path](ctx, tc.token)
		span.End()
		require.Equal(t, spanAttrs[i], clerkgateAttrs(lastSpan(t, a, "bare")), "%s %.12s", tc.path, tc.token)
	}
	both := requestPoints(t, a.collect(t))
	require.Len(t, both, len(overHTTP))
	for attrs, n := range overHTTP {
		require.Equal(t, 2*n, both[attrs], attrs)
	}
}

// requestPoints are the clerkgate.requests points, by attributes.
func requestPoints(t *testing.T, rm metricdata.ResourceMetrics) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, p := range find(t, rm, "clerkgate.requests").(metricdata.Sum[int64]).DataPoints {
		out[p.Attributes.Encoded(attribute.DefaultEncoder())] = p.Value
	}
	return out
}

// clerkgateAttrs are a span's clerkgate.* attributes.
func clerkgateAttrs(s sdktrace.ReadOnlySpan) []attribute.KeyValue {
	var out []attribute.KeyValue
	for _, kv := range s.Attributes() {
		if strings.HasPrefix(string(kv.Key), "clerkgate.") {
			out = append(out, kv)
		}
	}
	return out
}

func lastSpan(t *testing.T, a *app, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	ended := a.spans.Ended()
	for i := len(ended) - 1; i >= 0; i-- {
		if ended[i].Name() == name && ended[i].SpanKind() == trace.SpanKindInternal {
			return ended[i]
		}
	}
	t.Fatalf("no span %s", name)
	return nil
}
