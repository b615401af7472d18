package clerkgate_test

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/handshake"
)

// What a page load costs an attacker and what it costs the Gate. The
// hostile one carries about 32 KiB of hostile cookies (two session
// cookies whose JSON no Clerk token has, a sub that is an array of
// thousands of numbers and a cat that is an object, and a junk
// __clerk_handshake, about 10 KiB each) and an 800 KB query; the signed-in one is
// a browser's ordinary page load with a verified (cached) token.

// pageLoads returns a Gate's page-load handler and the two requests.
func pageLoads(tb testing.TB) (h http.Handler, signedIn, hostile *http.Request) {
	tb.Helper()
	fake := clerktest.New()
	tb.Cleanup(fake.Close)
	gate, err := clerkgate.New(clerkgate.Config{
		SecretKey: fake.SecretKey(), PublishableKey: fake.PublishableKey(), APIURL: fake.URL(),
		MaxTokenLifetime: time.Hour, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { gate.Close() })
	h = gate.Accept(clerkgate.SessionToken).Optional(benchHandler)

	page := func(target string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.Header.Set("Accept", "text/html")
		r.Header.Set("Sec-Fetch-Dest", "document")
		r.AddCookie(&http.Cookie{Name: "__clerk_db_jwt", Value: "dvb_bench"})
		return r
	}
	signedIn = page("/dashboard?tab=1")
	token := fake.Token(fake.CreateSession("user_bench").ID, clerktest.ExpiresIn(time.Hour))
	signedIn.AddCookie(&http.Cookie{Name: "__session", Value: token})
	signedIn.AddCookie(&http.Cookie{Name: "__client_uat", Value: "1"})

	seg := func(json string) string { return base64.RawURLEncoding.EncodeToString([]byte(json)) }
	// Each hostile value is as long as a cookie can be (4 KiB), so that
	// every one of them is read.
	numbers := "[" + strings.Repeat("0,", 1300) + "0]"
	junk := seg(`{"alg":"RS256","kid":"x","cat":{"a":`+numbers[:200]+`}}`) + "." + seg(`{"sub":`+numbers+`,"iat":1}`) + ".c2ln"
	if len(junk) > 4000 {
		tb.Fatalf("junk of %d bytes", len(junk))
	}
	hostile = page("/dashboard?" + strings.Repeat("a=b&", 200_000))
	sfx := fake.CookieSuffix()
	hostile.AddCookie(&http.Cookie{Name: "__session", Value: junk})
	hostile.AddCookie(&http.Cookie{Name: "__session_" + sfx, Value: junk + "A"})
	hostile.AddCookie(&http.Cookie{Name: "__client_uat", Value: "1"})
	hostile.AddCookie(&http.Cookie{Name: "__clerk_handshake", Value: junk})
	for i := range 5 { // 32 KiB of cookies in all
		hostile.AddCookie(&http.Cookie{Name: fmt.Sprint("__session_", i), Value: junk})
	}
	// Longer values are not read at all.
	hostile.AddCookie(&http.Cookie{Name: "__clerk_handshake_nonce", Value: strings.Repeat("n", 8<<10)})
	return h, signedIn, hostile
}

// serveOnce serves r and checks the answer is no server error and that
// no Location header is longer than a browser would follow.
func serveOnce(tb testing.TB, h http.Handler, r *http.Request) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code >= 500 {
		tb.Fatalf("status %d", rec.Code)
	}
	if n := len(rec.Header().Get("Location")); n > 16<<10 {
		tb.Fatalf("a Location header of %d bytes", n)
	}
}

// TestHostilePageLoadCost: the hostile page load costs at most 5× the
// CPU time, bytes allocated and allocations of a signed-in one, measured
// in the same test by testing.Benchmark. Before the caps it cost about
// 400× the CPU time and 800× the bytes (4 ms and 1.6 MB against 10 µs
// and 2 KB); see SECURITY.md for the figures.
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
	// The best of three interleaved runs of each: a shared machine's
	// noise only ever adds time.
	ok, bad := bench(signedIn), bench(hostile)
	for range 2 {
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
		if ratio := float64(m.hostile) / float64(max(m.base, 1)); ratio > 5 {
			t.Errorf("%s: a hostile page load costs %.1f× a signed-in one (%d against %d), want at most 5×", m.name, ratio, m.hostile, m.base)
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
