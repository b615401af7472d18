package main

import (
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/bench/internal/svgchart"
	"github.com/clerkgate/clerkgate/clerktest"
)

// gateOver is clerkgate's session policy (Require), refresh included, over a
// handler that answers with the user id, on a loopback server whose
// address the generator drives. With tls, it serves HTTPS and HTTP/2.
func gateOver(t *testing.T, fake *clerktest.Server, tls *tlsSetup) string {
	t.Helper()
	gate, err := clerkgate.New(clerkgate.Config{SecretKey: fake.SecretKey(), PublishableKey: fake.PublishableKey(), APIURL: fake.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gate.Close() })
	h := gate.Accept(clerkgate.SessionToken).Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, _ := clerkgate.CallerFromContext(r.Context())
		w.Write([]byte(caller.Subject()))
	}))
	srv := httptest.NewUnstartedServer(h)
	if tls != nil {
		srv.EnableHTTP2 = true
		srv.StartTLS()
		// httptest serves its own certificate; trust it instead.
		tls.pool.AddCert(srv.Certificate())
		t.Cleanup(srv.Close)
		return strings.TrimPrefix(srv.URL, "https://")
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestCookieStream: tokens travel in the __session cookie, and a bad one
// there is refused as it would be in the header.
func TestCookieStream(t *testing.T) {
	fake := clerktest.New()
	defer fake.Close()
	addr := gateOver(t, fake, nil)
	s := fake.CreateSession("user_c")
	good, expired := fake.Token(s.ID), fake.Token(s.ID, clerktest.Expired())
	out := drive(addr, 2, phase{path: "/", requests: 20, carry: cookie, token: func(i int64) string {
		if i%4 == 0 {
			return expired
		}
		return good
	}}, nil)
	if out.ok != 15 || out.failed != 5 || out.firstFailure != "status 401" {
		t.Fatalf("%+v", out)
	}
	if got := string(appendRequest(nil, "h", "/me", "tok", cookie)); !strings.Contains(got, "\r\nCookie: __session=tok\r\n") || strings.Contains(got, "Authorization") {
		t.Fatalf("cookie request: %q", got)
	}
}

// TestH2Stream: the HTTP/2 client trusts only the certificate it was
// given, and really speaks HTTP/2.
func TestH2Stream(t *testing.T) {
	fake := clerktest.New()
	defer fake.Close()
	tlsSet, err := newTLSSetup(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tlsSet.env {
		_, file, _ := strings.Cut(f, "=")
		if _, err := os.Stat(file); err != nil {
			t.Fatal(err)
		}
	}
	stranger, err := newTLSSetup(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	addr := gateOver(t, fake, tlsSet)
	s := fake.CreateSession("user_h2")
	c := tlsSet.client()
	defer c.CloseIdleConnections()
	out := drive(addr, 4, phase{path: "/", requests: 40, h2: c, token: func(int64) string { return fake.Token(s.ID) }}, nil)
	if out.ok != 40 || out.failed != 0 {
		t.Fatalf("%+v", out)
	}
	sc := stranger.client()
	defer sc.CloseIdleConnections()
	if out := drive(addr, 1, phase{path: "/", requests: 1, h2: sc, token: func(int64) string { return "" }}, nil); out.failed != 1 ||
		!strings.Contains(out.firstFailure, "certificate") {
		t.Fatalf("a client trusting another certificate: %+v", out)
	}
}

// TestRefreshPhase: every burst of requests with one expired token is
// answered, costs one refresh call, and the browser goes on with the new
// token from the cookie.
func TestRefreshPhase(t *testing.T) {
	fake := clerktest.New()
	defer fake.Close()
	addr := gateOver(t, fake, nil)
	o := options{refreshCycles: 3, refreshBurst: 4, refreshFollowUps: 5, refreshLatency: 20 * time.Millisecond}
	r := refreshPhase(o, fake, refreshPopulation(fake, 4), addr)
	if r.failed != 0 || r.expired != 12 || r.ok != 12*(4+5) {
		t.Fatalf("%+v", r)
	}
	if r.calls != r.expired || r.callsPerToken() != 1 {
		t.Fatalf("%d refresh calls for %d expired tokens", r.calls, r.expired)
	}
	if len(r.refreshing) != 12*4 || len(r.fresh) != 12*5 {
		t.Fatalf("latencies: %d refreshing, %d others", len(r.refreshing), len(r.fresh))
	}
	// The injected latency is a floor every refreshing request waits out
	// (a lower bound, not a timing assertion).
	if percentile(r.refreshing, 1) < o.refreshLatency {
		t.Fatalf("a refreshing request finished before the refresh could have: %v", percentile(r.refreshing, 1))
	}
	if refreshFailed([]refreshOutcome{r}) {
		t.Fatal("reported as failed")
	}
}

// TestMachineStreams: one API key sent on every request of a stream costs
// one Backend API call, an M2M JWT none, and a credential of the other
// type, or a key Clerk does not know, is refused on every request.
func TestMachineStreams(t *testing.T) {
	fake := clerktest.New()
	defer fake.Close()
	gate, err := clerkgate.New(clerkgate.Config{SecretKey: fake.SecretKey(), PublishableKey: fake.PublishableKey(), APIURL: fake.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gate.Close() })
	subject := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := clerkgate.CallerFromContext(r.Context())
		w.Write([]byte(c.Subject()))
	})
	mux := http.NewServeMux()
	mux.Handle("/apikey", gate.Accept(clerkgate.APIKey).Require(subject))
	mux.Handle("/m2m", gate.Accept(clerkgate.M2MToken).Require(subject))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	addr := strings.TrimPrefix(srv.URL, "http://")

	_, key := fake.CreateAPIKey("user_load_service", "load key")
	m2m := fake.M2MJWT(fake.CreateMachine().ID)
	stream := func(path, token string) outcome {
		return drive(addr, 4, phase{path: path, requests: 400, token: func(int64) string { return token }}, nil)
	}
	if out := stream("/apikey", key); out.ok != 400 || out.failed != 0 {
		t.Fatalf("api key: %+v", out)
	}
	if n := fake.Requests(clerktest.RouteVerifyAPIKey); n != 1 {
		t.Fatalf("400 requests with one API key: %d Backend API calls", n)
	}
	if out := stream("/m2m", m2m); out.ok != 400 || out.failed != 0 {
		t.Fatalf("m2m jwt: %+v", out)
	}
	if n := fake.Requests(clerktest.RouteVerifyM2MToken); n != 0 {
		t.Fatalf("an M2M JWT went to the Backend API %d times", n)
	}
	for _, tc := range []struct{ name, path, token string }{
		{"api key on /m2m", "/m2m", key},
		{"m2m jwt on /apikey", "/apikey", m2m},
		{"unknown api key", "/apikey", "ak_" + strings.Repeat("7", 32)},
		{"expired m2m jwt", "/m2m", fake.M2MJWT(fake.CreateMachine().ID, clerktest.CredentialLifetime(-time.Minute))},
	} {
		if out := stream(tc.path, tc.token); out.ok != 0 || out.failed != 400 || out.firstFailure != "status 401" {
			t.Errorf("%s: %+v", tc.name, out)
		}
	}
}

// TestReportMachines: the machine rows are divided by gateserver's own
// /healthz and session /me of the same rounds, and the key's Backend API
// calls are shown per round.
func TestReportMachines(t *testing.T) {
	r := results{}
	for _, rate := range []float64{100, 200, 400} {
		r.add(leanServer, phaseHealthz, outcome{ok: int64(rate), elapsed: time.Second})
		r.add(leanServer, phaseRepeated, outcome{ok: int64(rate * 0.8), elapsed: time.Second})
		r.add(leanServer, phaseAPIKey, outcome{ok: int64(rate * 0.4), elapsed: time.Second})
		r.add(leanServer, phaseM2M, outcome{ok: int64(rate * 0.8), failed: 1, elapsed: time.Second})
	}
	var b strings.Builder
	reportMachines(&b, r, []int{1, 2, 1})
	out := b.String()
	for _, want := range []string{
		"| " + phaseAPIKey + " | 80 | 0.40 | 0.50 |",
		"| " + phaseM2M + " | 160 | 0.80 | 1.00 |",
		"| 3 |\n",
		"per round: 1, 2, 1.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}

func TestPercentile(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	for p, want := range map[float64]time.Duration{50: 5, 90: 9, 99: 10, 100: 10, 1: 1} {
		if got := percentile(ds, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("empty")
	}
}

// TestChart: the req/s chart carries the tables' medians, clerk-sdk-go
// left out where it has no stream (cookies).
func TestChart(t *testing.T) {
	r := results{}
	for i, rate := range []float64{100, 300, 200} {
		r.add(clerkgateServer, phaseFresh, outcome{ok: int64(rate), elapsed: time.Second})
		r.add(sdkServer, phaseFresh, outcome{ok: int64(rate / 2), elapsed: time.Second})
		r.add(clerkgateServer, phaseCookieFresh, outcome{ok: int64(i + 1), elapsed: time.Second})
	}
	c := chart(r)
	var fresh, cookie *svgchart.Group
	for i := range c.Groups {
		switch c.Groups[i].Label {
		case phaseFresh:
			fresh = &c.Groups[i]
		case phaseCookieFresh:
			cookie = &c.Groups[i]
		}
	}
	if fresh == nil || fresh.Values[0] != 200 || fresh.Values[1] != 100 {
		t.Fatalf("never-seen: %+v", fresh)
	}
	if cookie == nil || cookie.Values[0] != 2 || !math.IsNaN(cookie.Values[1]) {
		t.Fatalf("cookie: %+v", cookie)
	}
}

// TestPageLoadStream: a signed-in browser's page loads pass clerkgate's
// page-load decision without a handshake (200, never 307), and the same
// page load with an expired token goes to the handshake, so the decision
// really runs on them.
func TestPageLoadStream(t *testing.T) {
	fake := clerktest.New()
	defer fake.Close()
	addr := gateOver(t, fake, nil)
	s := fake.CreateSession("user_p")
	good := fake.Token(s.ID)
	out := drive(addr, 2, phase{path: "/", requests: 40, carry: pageLoad, token: func(int64) string { return good }}, nil)
	if out.ok != 40 || out.failed != 0 {
		t.Fatalf("signed-in page loads: %+v", out)
	}
	expired := fake.Token(s.ID, clerktest.Expired())
	out = drive(addr, 1, phase{path: "/", requests: 1, carry: pageLoad, token: func(int64) string { return expired }}, nil)
	if out.firstFailure != "status 307" {
		t.Fatalf("expired page load: %+v, want the handshake's 307", out)
	}
	got := string(appendRequest(nil, "h", "/me", "tok", pageLoad))
	for _, want := range []string{"\r\nSec-Fetch-Dest: document\r\n", "\r\nAccept: text/html,", "__client_uat=" + pageLoadUAT + ";", "__session=tok\r\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("page load request lacks %q: %q", want, got)
		}
	}
	if strings.Contains(got, "Authorization") {
		t.Errorf("page load request carries a bearer token: %q", got)
	}
}

// TestReportPageLoads: page loads are compared between the servers and
// with each server's own header stream of the same rounds, and drawn in
// the chart for both.
func TestReportPageLoads(t *testing.T) {
	r := results{}
	for _, rate := range []float64{100, 200, 400} {
		r.add(clerkgateServer, phaseRepeated, outcome{ok: int64(rate), elapsed: time.Second})
		r.add(clerkgateServer, phasePageRepeated, outcome{ok: int64(rate * 0.9), elapsed: time.Second})
		r.add(sdkServer, phaseRepeated, outcome{ok: int64(rate / 4), elapsed: time.Second})
		r.add(sdkServer, phasePageRepeated, outcome{ok: int64(rate / 4), failed: 2, elapsed: time.Second})
	}
	var b strings.Builder
	reportPageLoads(&b, r)
	if want := "| " + phasePageRepeated + " | 180 | 50 | 3.60× |"; !strings.Contains(b.String(), want) {
		t.Errorf("missing %q in\n%s", want, b.String())
	}
	if want := "| 0.90 | 1.00 | 6 |"; !strings.Contains(b.String(), want) {
		t.Errorf("missing %q in\n%s", want, b.String())
	}
	for _, g := range chart(r).Groups {
		if g.Label == phasePageRepeated {
			if g.Values[0] != 180 || g.Values[1] != 50 {
				t.Fatalf("chart: %+v", g)
			}
			return
		}
	}
	t.Fatal("no page-load group in the chart")
}
