package clerkgate_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/clerkgate/clerkgate"
)

// BenchmarkPageLoadVsAPI reports the target's ratio, a warm signed-in
// page load to a warm API request with the same token in its
// Authorization header, as x_api, from runs that take turns: each
// iteration serves a batch of API requests, then a batch of page loads,
// each batch timed as a whole. On a shared machine the load drifts
// between two benchmarks run one after the other (BenchmarkPageLoadWarm,
// BenchmarkMiddlewareWarm); here it falls on both alike. The batches keep
// the clock reads (two a batch) to a few percent of the time measured.
func BenchmarkPageLoadVsAPI(b *testing.B) {
	gate, api := benchRequest(b)
	page := api.Clone(api.Context())
	signedInPageLoad(page)
	h := gate.Accept(clerkgate.SessionToken).Require(benchHandler)
	for _, r := range []*http.Request{api, page} {
		rec := httptest.NewRecorder()
		if h.ServeHTTP(rec, r); rec.Code != http.StatusNoContent {
			b.Fatalf("status %d", rec.Code)
		}
	}
	const batch = 16
	var spent [2]time.Duration
	reqs := [...]*http.Request{api, page}
	b.ReportAllocs()
	for b.Loop() {
		for i, r := range reqs {
			start := time.Now()
			for range batch {
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
			spent[i] += time.Since(start)
		}
	}
	b.ReportMetric(float64(spent[1])/float64(spent[0]), "x_api")
	b.ReportMetric(float64(spent[1])/float64(b.N*batch), "page_ns/op")
	b.ReportMetric(float64(spent[0])/float64(b.N*batch), "api_ns/op")
}
