package clerkgate_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/handshake"
)

// What a page load costs an attacker and what it costs the Gate. The
// hostile one carries about 32 KiB of hostile cookies (two session
// cookies whose JSON no Clerk token has, a sub that is an array of
// thousands of numbers and a cat that is an object, and a junk
// __clerk_handshake, about 10 KiB each) and an 800 KB query; the signed-in one is
// a browser's ordinary page load with a verified (cached) token.

// TestHostilePageLoadCost: the hostile page load costs at most 6× the
// CPU time, and 5× the bytes allocated and allocations, of a signed-in
// one, measured in the same test by testing.Benchmark. Before the caps it
// cost about 400× the CPU time and 800× the bytes (4 ms and 1.6 MB
// against 10 µs and 2 KB); see SECURITY.md for the figures. The CPU bound
// was 5× until the signed-in page load lost a quarter of its cost
// (2026-12-07: 1.7 → 1.3 µs in this test) while the hostile one, which
// fell too (8.5 → 6.4 µs), is mostly the scan of 45 KiB of cookie
// header that no remembering can spare.
func TestHostilePageLoadCost(t *testing.T) {
	if testing.Short() {
		t.Skip("measures two benchmarks")
	}
	h, signedIn, hostile := pageLoads(t)
	serveOnce(t, h, signedIn)
	serveOnce(t, h, hostile)
	bench := func(r *http.Request) testing.BenchmarkResult {
		return testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
	// The best of up to four interleaved runs of each, stopping once the
	// CPU ratio is within its bound: a shared machine's noise only ever
	// adds time, and a real regression stays out of bounds in all four.
	ok, bad := bench(signedIn), bench(hostile)
	for round := 1; round < 4 && float64(bad.NsPerOp()) > 6*hostileCPUSlack*float64(max(ok.NsPerOp(), 1)); round++ {
		if r := bench(signedIn); r.NsPerOp() < ok.NsPerOp() {
			ok = r
		}
		if r := bench(hostile); r.NsPerOp() < bad.NsPerOp() {
			bad = r
		}
	}
	t.Logf("signed in: %d ns, %d B, %d allocs per page load", ok.NsPerOp(), ok.AllocedBytesPerOp(), ok.AllocsPerOp())
	t.Logf("hostile:   %d ns, %d B, %d allocs per page load", bad.NsPerOp(), bad.AllocedBytesPerOp(), bad.AllocsPerOp())
	for _, m := range []struct {
		name          string
		hostile, base int64
	}{
		{"CPU time", bad.NsPerOp(), ok.NsPerOp()},
		{"bytes allocated", bad.AllocedBytesPerOp(), ok.AllocedBytesPerOp()},
		{"allocations", bad.AllocsPerOp(), ok.AllocsPerOp()},
	} {
		bound := 5.0
		if m.name == "CPU time" {
			bound = 6 * hostileCPUSlack
		}
		if ratio := float64(m.hostile) / float64(max(m.base, 1)); ratio > bound {
			t.Errorf("%s: a hostile page load costs %.1f× a signed-in one (%d against %d), want at most %.0f×", m.name, ratio, m.hostile, m.base, bound)
		}
	}
}

// BenchmarkPageLoadHostile is the hostile page load; read it against
// BenchmarkPageLoadSignedIn.
func BenchmarkPageLoadHostile(b *testing.B) {
	h, _, hostile := pageLoads(b)
	b.ReportAllocs()
	for b.Loop() {
		serveOnce(b, h, hostile)
	}
}

// BenchmarkPageLoadSignedIn is a signed-in browser's page load.
func BenchmarkPageLoadSignedIn(b *testing.B) {
	h, signedIn, _ := pageLoads(b)
	b.ReportAllocs()
	for b.Loop() {
		serveOnce(b, h, signedIn)
	}
}

// Over real HTTP: a page load with an 800 KB query is answered without a
// redirect (its URL would not survive one) and without reading the query,
// and no answer carries a Location longer than handshake.MaxLocation; the
// same page with an ordinary query goes through the handshake as usual.
func TestOversizedPageLoadIsNotRedirected(t *testing.T) {
	s := newSite(t, nil)
	huge := strings.Repeat("a=b&", 200_000) + "__clerk_handshake_nonce=n0nce1"
	for _, path := range []string{"/", "/dashboard"} {
		resp := rawGet(t, s.url+path+"?"+huge, nil)
		require.Less(t, resp.StatusCode, 500)
		require.NotEqual(t, http.StatusTemporaryRedirect, resp.StatusCode, path)
		require.LessOrEqual(t, len(resp.Header.Get("Location")), handshake.MaxLocation, path)
	}
	require.Zero(t, s.fake.Requests(clerktest.RouteHandshakePayload), "the query's nonce was not read")
	resp := rawGet(t, s.url+"/?tab=1", nil)
	require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Location"), "/v1/client/handshake?")
}
