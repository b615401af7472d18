package clerkotel_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
	clerkotel "github.com/clerkgate/clerkgate/otel"
)

// Instrument a Gate, serve a request, and read the counter of decisions.
// In an app, the providers are the ones its OpenTelemetry setup installs
// (clerkotel.New() with no options takes the global ones).
func Example() {
	fake := clerktest.New() // stands in for Clerk
	defer fake.Close()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())

	tel, err := clerkotel.New(clerkotel.WithMeterProvider(mp))
	if err != nil {
		log.Fatal(err)
	}
	cfg := clerkgate.Config{SecretKey: fake.SecretKey(), PublishableKey: fake.PublishableKey(), APIURL: fake.URL()}
	tel.Instrument(&cfg)
	gate, err := clerkgate.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer cfg.HTTPClient.CloseIdleConnections()
	defer gate.Close()

	req := httptest.NewRequest(http.MethodGet, "/me", nil)
	req.Header.Set("Authorization", "Bearer "+fake.Token(fake.CreateSession("user_1").ID))
	gate.Accept(clerkgate.SessionToken).Require(http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), req)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if m.Name == "clerkgate.requests" {
			for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
				outcome, _ := p.Attributes.Value(clerkotel.OutcomeKey)
				typ, _ := p.Attributes.Value(clerkotel.TokenTypeKey)
				fmt.Println(m.Name, outcome.AsString(), typ.AsString(), p.Value)
			}
		}
	}
	// Output: clerkgate.requests accepted session_token 1
}
