// Command load compares, over loopback HTTP, clerkgate's net/http example
// (examples/nethttp) with the same routes protected by clerk-sdk-go's
// middleware (cmd/sdkserver), and measures the example's memory under a
// stream of distinct tokens.
//
// It runs a fake Clerk instance (clerktest) in-process, builds the
// servers (unless -nethttp, -sdkserver and -gateserver name prebuilt
// binaries) and starts each as its own process, configured with
// CLERK_SECRET_KEY, CLERK_PUBLISHABLE_KEY and CLERK_API_URL of the fake,
// so that the generator can mint as many valid tokens as it needs. Every
// request goes over one of a fixed number of keep-alive connections.
//
// Each round starts the servers afresh and measures, against each:
//
//	/healthz  repeated token  -duration in all
//	/me       repeated token  -duration in all (cached after its first use)
//	/me       each token 10×  -mix requests over -mix/10 tokens
//	/me       never-seen      -fresh requests, one token each
//
// A third server, cmd/gateserver, answers /me with no more work than
// /healthz, so that its /me ÷ /healthz is the middleware's cost alone; it
// runs only the two repeated-token streams.
//
// Closer to production, each round also runs:
//
//	/me with the token in the __session cookie, repeated and never-seen
//	    tokens, against the example (clerk-sdk-go reads no cookie);
//	page loads, repeated and never-seen tokens, against both: document
//	    requests (Sec-Fetch-Dest: document, Accept: text/html) of a
//	    signed-in browser, with __session, __client_uat and the
//	    development browser's cookie, on the example's /me, where
//	    clerkgate runs Clerk's page-load decision before the token check,
//	    and on sdkserver's /page, where clerk-sdk-go verifies the
//	    __session cookie (it has no page-load decision);
//	HTTP/2 over TLS, with a self-signed certificate made at start-up:
//	    gateserver's /claims (which answers as the example's /me) against
//	    sdkserver's /me, both served by bench/internal/serve, for /healthz,
//	    a repeated token and never-seen tokens;
//	a refresh phase: -refresh-browsers browsers whose tokens expire, each
//	    expired token sent on -refresh-burst concurrent requests, with
//	    -refresh-latency injected into the fake's refresh endpoint; it
//	    reports refresh calls per expired token (must be 1) and latency
//	    percentiles.
//
// and, against gateserver, machine credentials beside its /healthz and
// its session /me, in the same turns:
//
//	/apikey with one API key: the first request asks the fake's Backend
//	    API, the others hit the Gate's cache (until Machine.MaxAge, 60 s);
//	/m2m with one M2M JWT: verified locally, cached after its first use.
//
// clerk-sdk-go's middleware has no equivalent: it verifies session tokens
// only (its m2m_token.Verify is a Backend API call per request, and it
// has no API key verification).
//
// The machine may be shared and its load drift, so the streams that are
// compared are not run one after the other: each is cut into -slices
// slices, and the slices of the servers (or of /me and /healthz) take
// turns. Ratios are taken within a round, and the median over -rounds is
// reported, next to each process's CPU time per request. -server-cpus and
// -load-cpus pin the servers and the generator to separate CPUs (with
// taskset), so that the generator's own work is not charged to the
// servers. Then, with -distinct above 0, a fresh clerkgate server gets
// that many distinct valid tokens, minted while they are sent, and its
// resident memory is sampled along the way.
//
// Run it from the bench module (or anywhere in the clerkgate workspace):
//
//	go run ./cmd/load -distinct 0 -server-cpus 0 -load-cpus 1 # the comparison, about 5 minutes
//	go run ./cmd/load -rounds 0                               # the memory phase alone, 12–25 minutes
//	go run ./cmd/load -rounds 1 -distinct 50000               # a quick look at both
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/clerkgate/clerkgate/clerktest"
)

type options struct {
	conns       int
	duration    time.Duration
	mix         int64
	fresh       int64
	rounds      int
	slices      int
	distinct    int64
	users       int
	mintWorkers int
	nethttp     string
	sdkserver   string
	gateserver  string
	serverCPUs  string
	loadCPUs    string
	loadAtStart string

	refreshBrowsers  int
	refreshCycles    int
	refreshBurst     int
	refreshFollowUps int
	refreshLatency   time.Duration

	chart string // SVG file for the req/s chart; "" for none
}

func main() {
	var o options
	flag.IntVar(&o.conns, "conns", 16, "keep-alive connections, and so concurrent requests")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "time per server and round for each repeated-token stream")
	flag.Int64Var(&o.mix, "mix", 50_000, "requests per server and round where each token is used 10 times; a multiple of 10,000 × -slices, rounded up")
	flag.Int64Var(&o.fresh, "fresh", 20_000, "requests (and tokens) per server and round with never-seen tokens")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds, each with fresh server processes; 0 skips the comparison")
	flag.IntVar(&o.slices, "slices", 5, "slices each stream is cut into, taking turns with the streams it is compared with")
	flag.Int64Var(&o.distinct, "distinct", 1_000_000, "distinct tokens for the memory phase; 0 skips it")
	flag.IntVar(&o.users, "users", 100, "signed-in users the tokens are minted for")
	flag.IntVar(&o.mintWorkers, "mint-workers", runtime.NumCPU(), "goroutines minting tokens")
	flag.StringVar(&o.nethttp, "nethttp", "", "prebuilt examples/nethttp binary (default: go build it)")
	flag.StringVar(&o.sdkserver, "sdkserver", "", "prebuilt bench/cmd/sdkserver binary (default: go build it)")
	flag.StringVar(&o.gateserver, "gateserver", "", "prebuilt bench/cmd/gateserver binary (default: go build it)")
	flag.StringVar(&o.serverCPUs, "server-cpus", "", "run the servers on these CPUs (taskset -c syntax, e.g. 0)")
	flag.StringVar(&o.loadCPUs, "load-cpus", "", "run the load generator on these CPUs (e.g. 1)")
	flag.IntVar(&o.refreshBrowsers, "refresh-browsers", 16, "browsers in the refresh phase; 0 skips it")
	flag.IntVar(&o.refreshCycles, "refresh-cycles", 20, "times each browser's token expires, per round")
	flag.IntVar(&o.refreshBurst, "refresh-burst", 3, "concurrent requests a browser sends with each expired token")
	flag.IntVar(&o.refreshFollowUps, "refresh-follow-ups", 17, "requests a browser sends with each refreshed token before it expires again")
	flag.DurationVar(&o.refreshLatency, "refresh-latency", 50*time.Millisecond, "latency injected into the fake's refresh endpoint")
	flag.StringVar(&o.chart, "chart", "", "also write an SVG bar chart of req/s by phase to this file")
	flag.Parse()
	if o.loadCPUs != "" {
		if err := pinSelf(o.loadCPUs); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	o.loadAtStart = loadAverage()
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func (o *options) check() error {
	switch {
	case o.conns < 1 || o.slices < 1 || o.users < 1 || o.mintWorkers < 1:
		return fmt.Errorf("load: -conns, -slices, -users and -mint-workers must be positive")
	case o.rounds < 0 || o.distinct < 0 || o.refreshBrowsers < 0 || o.refreshFollowUps < 0 || o.refreshLatency < 0:
		return fmt.Errorf("load: -rounds, -distinct, -refresh-browsers, -refresh-follow-ups and -refresh-latency must not be negative")
	case o.refreshBrowsers > 0 && (o.refreshCycles < 1 || o.refreshBurst < 1):
		return fmt.Errorf("load: -refresh-cycles and -refresh-burst must be positive")
	case o.rounds > 0 && (o.duration < time.Duration(o.slices)*100*time.Millisecond || o.fresh < int64(o.slices)):
		return fmt.Errorf("load: -duration must allow 100ms per slice and -fresh one request per slice")
	}
	// Each slice of the 10× stream is whole passes over the token window.
	window := int64(mixWindow)
	unit := 10 * window * int64(o.slices)
	o.mix = max((o.mix+unit-1)/unit, 1) * unit
	return nil
}

// The servers, in the order of the table's columns.
const (
	clerkgateServer = "clerkgate"
	sdkServer       = "clerk-sdk-go"
	// leanServer is bench/cmd/gateserver: clerkgate with a /me that does
	// no more work than /healthz, to isolate the middleware's cost.
	leanServer = "clerkgate-lean"
	// The same two bench servers over HTTPS, where they speak HTTP/2:
	// examples/nethttp serves plain HTTP only. gateserver's /claims
	// answers as sdkserver's /me does.
	leanTLSServer = "clerkgate-lean-tls"
	sdkTLSServer  = "clerk-sdk-go-tls"
)

var servers = []string{clerkgateServer, sdkServer, leanServer, leanTLSServer, sdkTLSServer}

// The streams run against each server.
const (
	phaseHealthz  = "/healthz, repeated token"
	phaseRepeated = "/me, repeated token"
	phaseMix      = "/me, each token used 10×"
	phaseFresh    = "/me, never-seen tokens"

	// clerkgate alone: clerk-sdk-go's middleware reads no cookie.
	phaseCookieRepeated = "/me, repeated token, __session cookie"
	phaseCookieFresh    = "/me, never-seen tokens, __session cookie"

	// Page loads, against both: the example's /me and sdkserver's /page.
	phasePageRepeated = "page load, repeated token"
	phasePageFresh    = "page load, never-seen tokens"

	// Machine credentials against leanServer: clerkgate alone.
	phaseAPIKey = "/apikey, one API key (cached)"
	phaseM2M    = "/m2m, one M2M JWT (cached)"

	// HTTP/2 over TLS, between leanTLSServer and sdkTLSServer.
	phaseH2Healthz  = "/healthz, repeated token, HTTP/2 + TLS"
	phaseH2Repeated = "/me, repeated token, HTTP/2 + TLS"
	phaseH2Fresh    = "/me, never-seen tokens, HTTP/2 + TLS"
)

var (
	phases      = []string{phaseHealthz, phaseRepeated, phaseMix, phaseFresh}
	cookiePairs = [][2]string{{phaseCookieRepeated, phaseRepeated}, {phaseCookieFresh, phaseFresh}}
	h2Phases    = []string{phaseH2Healthz, phaseH2Repeated, phaseH2Fresh}
	// pagePhases run against clerkgateServer and sdkServer, each set beside
	// the same server's /me with the token in the header.
	pagePairs = [][2]string{{phasePageRepeated, phaseRepeated}, {phasePageFresh, phaseFresh}}
	// machinePhases run against leanServer beside its /healthz and /me.
	machinePhases = []string{phaseAPIKey, phaseM2M}
)

// mixWindow is how many tokens are in use at once in the 10× stream: each
// is sent once per pass over the window, so its 10 uses are spread out as
// a browser's requests are, not fired back to back. It is well under
// clerkgate's default cache size.
const mixWindow = 1000

// mixToken is the token of the g-th request of the 10× stream. Requests
// go pass after pass over a window of tokens: token w of block b is used
// at requests b·10W + w, + W, + 2W, …, + 9W.
func mixToken(g int64) int64 {
	return g/(10*mixWindow)*mixWindow + g%mixWindow
}

// stream is one server and route under one kind of load; slice returns
// the k-th of its slices.
type stream struct {
	server, phase string
	slice         func(k int) phase
}

// group is streams whose slices take turns: in turn k the streams run in
// an order rotated by k, so none is always first after a pause.
type group []stream

func run(o options) error {
	started := time.Now()
	tmp, err := os.MkdirTemp("", "clerkgate-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	status := newStatus(os.Stderr)

	bins := map[string]string{clerkgateServer: o.nethttp, sdkServer: o.sdkserver, leanServer: o.gateserver}
	dirs := map[string]string{
		clerkgateServer: "examples/nethttp",
		sdkServer:       "bench/cmd/sdkserver",
		leanServer:      "bench/cmd/gateserver",
	}
	root := ""
	for _, name := range []string{clerkgateServer, sdkServer, leanServer} {
		if bins[name] != "" || (o.rounds == 0 && name != clerkgateServer) {
			continue
		}
		if root == "" {
			if root, err = repoRoot(); err != nil {
				return err
			}
		}
		status.linef("building %s", dirs[name])
		bins[name] = filepath.Join(tmp, name)
		if err := build(root, dirs[name], bins[name]); err != nil {
			return err
		}
	}

	fake := clerktest.New()
	defer fake.Close()
	env := []string{
		"CLERK_SECRET_KEY=" + fake.SecretKey(),
		"CLERK_PUBLISHABLE_KEY=" + fake.PublishableKey(),
		"CLERK_API_URL=" + fake.URL(),
		// The minter's tokens outlive a run; the example refuses tokens
		// living longer than 60 s unless told otherwise.
		"CLERK_MAX_TOKEN_LIFETIME=3h",
	}
	m := newMinter(fake, o.users)

	bins[leanTLSServer], bins[sdkTLSServer] = bins[leanServer], bins[sdkServer]

	var res results
	var refreshed []refreshOutcome
	var keyCalls []int
	if o.rounds > 0 {
		if res, refreshed, keyCalls, err = compare(o, status, m, bins, tmp, env); err != nil {
			return err
		}
	}
	var mem *memoryResult
	if o.distinct > 0 {
		if mem, err = memoryPhase(o, status, m, bins[clerkgateServer], tmp, env); err != nil {
			return err
		}
	}

	report(os.Stdout, o, res, refreshed, keyCalls, mem, time.Since(started))
	if o.chart != "" && len(res) > 0 {
		if err := writeChartFile(o.chart, res); err != nil {
			return err
		}
	}
	if res.failed() || (mem != nil && mem.failed > 0) || refreshFailed(refreshed) {
		return fmt.Errorf("load: some requests failed; see the tables")
	}
	return nil
}

// compare runs the rounds of the throughput comparison. keyCalls is, per
// round, how many times the API key was verified through the Backend API.
func compare(o options, status *status, m *minter, bins map[string]string, tmp string, env []string) (res results, refreshed []refreshOutcome, keyCalls []int, err error) {
	tlsDir, err := os.MkdirTemp(tmp, "tls-")
	if err != nil {
		return nil, nil, nil, err
	}
	tlsSet, err := newTLSSetup(tlsDir)
	if err != nil {
		return nil, nil, nil, err
	}
	// Tokens for the timed streams, minted up front. They live two hours
	// instead of Clerk's 60 s so that none expires before its turn. The
	// never-seen streams get tokens of their own each: one for the
	// header, one for the cookie, one per HTTP/2 server, one for page
	// loads.
	mixTokens := o.mix / 10
	total := 1 + mixTokens + 5*o.fresh
	status.linef("minting %d tokens for the timed phases on %d goroutines", total, o.mintWorkers)
	pool := m.mintAll(total, o.mintWorkers, 2*time.Hour, func(done int64, el time.Duration) {
		status.progress("minting", done, total, el)
	})
	status.done()
	repeated, mixPool, freshPools := pool[0], pool[1:1+mixTokens], pool[1+mixTokens:]
	freshPool := func(i int) []string { return freshPools[int64(i)*o.fresh : int64(i+1)*o.fresh] }
	h2 := tlsSet.client()
	defer h2.CloseIdleConnections()
	// One API key and one M2M JWT, each sent on every request of its
	// stream, as a service calling an API sends its credential.
	_, apiKey := m.fake.CreateAPIKey("user_load_service", "load key")
	m2mJWT := m.fake.M2MJWT(m.fake.CreateMachine().ID, clerktest.CredentialLifetime(2*time.Hour))

	slices := int64(o.slices)
	perSlice := o.duration / time.Duration(o.slices)
	timedWith := func(server, ph, path, token string) stream {
		return stream{server, ph, func(int) phase {
			return phase{path: path, duration: perSlice, token: func(int64) string { return token }}
		}}
	}
	timed := func(server, ph, path string) stream { return timedWith(server, ph, path, repeated) }
	// with changes how a stream's requests travel.
	with := func(s stream, mod func(*phase)) stream {
		slice := s.slice
		s.slice = func(k int) phase { p := slice(k); mod(&p); return p }
		return s
	}
	asCookie := func(ph string) func(s stream) stream {
		return func(s stream) stream { s.phase = ph; return with(s, func(p *phase) { p.carry = cookie }) }
	}
	// asPageLoad turns a stream into page loads of path.
	asPageLoad := func(ph, path string) func(s stream) stream {
		return func(s stream) stream {
			s.phase = ph
			return with(s, func(p *phase) { p.carry, p.path = pageLoad, path })
		}
	}
	overH2 := func(server, ph, path string) func(s stream) stream {
		return func(s stream) stream {
			s.server, s.phase = server, ph
			return with(s, func(p *phase) { p.h2, p.path = h2, path })
		}
	}
	mixPerSlice := o.mix / slices
	mix := func(server string) stream {
		return stream{server, phaseMix, func(k int) phase {
			return phase{path: "/me", requests: mixPerSlice, token: func(i int64) string {
				return mixPool[mixToken(int64(k)*mixPerSlice+i)]
			}}
		}}
	}
	fresh := func(server string, tokens []string) stream {
		return stream{server, phaseFresh, func(k int) phase {
			lo, hi := int64(k)*o.fresh/slices, int64(k+1)*o.fresh/slices
			return phase{path: "/me", requests: hi - lo, token: func(i int64) string { return tokens[lo+i] }}
		}}
	}
	groups := []group{
		{
			timed(clerkgateServer, phaseHealthz, "/healthz"), timed(clerkgateServer, phaseRepeated, "/me"),
			timed(sdkServer, phaseHealthz, "/healthz"), timed(sdkServer, phaseRepeated, "/me"),
			timed(leanServer, phaseHealthz, "/healthz"), timed(leanServer, phaseRepeated, "/me"),
			timedWith(leanServer, phaseAPIKey, "/apikey", apiKey), timedWith(leanServer, phaseM2M, "/m2m", m2mJWT),
			asCookie(phaseCookieRepeated)(timed(clerkgateServer, phaseRepeated, "/me")),
			asPageLoad(phasePageRepeated, "/me")(timed(clerkgateServer, phaseRepeated, "")),
			asPageLoad(phasePageRepeated, "/page")(timed(sdkServer, phaseRepeated, "")),
		},
		{mix(clerkgateServer), mix(sdkServer)},
		{
			fresh(clerkgateServer, freshPool(0)), fresh(sdkServer, freshPool(0)), asCookie(phaseCookieFresh)(fresh(clerkgateServer, freshPool(1))),
			asPageLoad(phasePageFresh, "/me")(fresh(clerkgateServer, freshPool(4))), asPageLoad(phasePageFresh, "/page")(fresh(sdkServer, freshPool(4))),
		},
		{
			overH2(leanTLSServer, phaseH2Healthz, "/healthz")(timed(leanTLSServer, phaseH2Healthz, "")),
			overH2(leanTLSServer, phaseH2Repeated, "/claims")(timed(leanTLSServer, phaseH2Repeated, "")),
			overH2(sdkTLSServer, phaseH2Healthz, "/healthz")(timed(sdkTLSServer, phaseH2Healthz, "")),
			overH2(sdkTLSServer, phaseH2Repeated, "/me")(timed(sdkTLSServer, phaseH2Repeated, "")),
		},
		{
			overH2(leanTLSServer, phaseH2Fresh, "/claims")(fresh(leanTLSServer, freshPool(2))),
			overH2(sdkTLSServer, phaseH2Fresh, "/me")(fresh(sdkTLSServer, freshPool(3))),
		},
	}

	res = results{}
	var sessions []clerktest.Session
	if o.refreshBrowsers > 0 {
		sessions = refreshPopulation(m.fake, o.refreshBrowsers)
	}
	for round := 1; round <= o.rounds; round++ {
		calls0 := m.fake.Requests(clerktest.RouteVerifyAPIKey)
		r, err := runRound(o, status, res, round, groups, bins, tmp, env, repeated, tlsSet, m.fake, sessions)
		if err != nil {
			return nil, nil, nil, err
		}
		keyCalls = append(keyCalls, m.fake.Requests(clerktest.RouteVerifyAPIKey)-calls0)
		if r != nil {
			refreshed = append(refreshed, *r)
		}
	}
	return res, refreshed, keyCalls, nil
}

// runRound starts the servers, warms them up and runs every group, then
// the refresh phase when there are sessions for it.
func runRound(o options, status *status, res results, round int, groups []group, bins map[string]string, tmp string, env []string, repeated string,
	tlsSet *tlsSetup, fake *clerktest.Server, sessions []clerktest.Session) (*refreshOutcome, error) {
	running := map[string]*server{}
	for _, name := range servers {
		status.linef("round %d/%d: starting %s", round, o.rounds, name)
		var t *tlsSetup
		warmUp := phase{path: "/me", requests: int64(100 * o.conns), token: func(int64) string { return repeated }}
		if name == leanTLSServer || name == sdkTLSServer {
			t = tlsSet
			warmUp.h2 = tlsSet.client()
			defer warmUp.h2.CloseIdleConnections()
		}
		srv, err := startServer(name, bins[name], tmp, o.serverCPUs, env, t)
		if err != nil {
			return nil, err
		}
		defer srv.stop()
		// Warm-up: connections, the server's key fetch, and the repeated
		// token's first verification.
		warm := drive(srv.addr, o.conns, warmUp, nil)
		if warm.failed > 0 {
			return nil, fmt.Errorf("load: %s refuses the token during warm-up (%s); see %s", name, warm.firstFailure, srv.log)
		}
		running[name] = srv
	}
	for _, g := range groups {
		sums := make([]outcome, len(g))
		for k := range o.slices {
			for j := range g {
				i := (j + k) % len(g)
				s := g[i]
				label := fmt.Sprintf("round %d/%d, slice %d/%d: %s %s", round, o.rounds, k+1, o.slices, s.server, s.phase)
				p := s.slice(k)
				srv := running[s.server]
				server0, err1 := srv.cpuTime()
				load0, err2 := processCPU("self")
				out := drive(srv.addr, o.conns, p, func(done int64, el time.Duration) {
					status.progress(label, done, p.requests, el)
				})
				status.done()
				server1, err3 := srv.cpuTime()
				load1, err4 := processCPU("self")
				if err := errors.Join(err1, err2, err3, err4); err != nil {
					return nil, err
				}
				sums[i].ok += out.ok
				sums[i].failed += out.failed
				sums[i].elapsed += out.elapsed
				sums[i].serverCPU += server1 - server0
				sums[i].loadCPU += load1 - load0
				if out.failed > 0 && sums[i].firstFailure == "" {
					sums[i].firstFailure = out.firstFailure
					status.linef("%s: first failure: %s", label, out.firstFailure)
				}
			}
		}
		for i, s := range g {
			res.add(s.server, s.phase, sums[i])
			status.linef("round %d/%d: %s %s: %.0f req/s, %.1f µs server CPU per request (%d ok, %d failed)",
				round, o.rounds, s.server, s.phase, sums[i].rate(), sums[i].cpuPerRequest(), sums[i].ok, sums[i].failed)
		}
	}
	if len(sessions) == 0 {
		return nil, nil
	}
	status.linef("round %d/%d: refresh phase, %d browsers × %d expiries, %s injected latency", round, o.rounds, len(sessions), o.refreshCycles, o.refreshLatency)
	r := refreshPhase(o, fake, sessions, running[clerkgateServer].addr)
	status.linef("round %d/%d: refresh: %d expired tokens, %d refresh calls (%.2f per token), %d ok, %d failed; p50 %s, p99 %s for refreshing requests",
		round, o.rounds, r.expired, r.calls, r.callsPerToken(), r.ok, r.failed,
		percentile(r.refreshing, 50).Round(time.Microsecond), percentile(r.refreshing, 99).Round(time.Microsecond))
	if r.first != "" {
		status.linef("  first failure: %s", r.first)
	}
	return &r, nil
}

// memoryResult is the clerkgate server's resident memory over the
// distinct-token phase.
type memoryResult struct {
	samples []memorySample
	peak    int64 // VmHWM at the end
	ok      int64
	failed  int64
	first   string
	elapsed time.Duration
}

type memorySample struct {
	tokens int64 // distinct tokens answered so far
	rss    int64
}

// memoryPhase sends o.distinct distinct valid tokens to a fresh clerkgate
// server and samples its VmRSS every second. Tokens are minted while they
// are sent: holding a million of them at once would take about a
// gigabyte in the generator.
func memoryPhase(o options, status *status, m *minter, bin, tmp string, env []string) (*memoryResult, error) {
	status.linef("memory: starting %s for %d distinct tokens", clerkgateServer, o.distinct)
	srv, err := startServer(clerkgateServer, bin, tmp, o.serverCPUs, env, nil)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	warm := drive(srv.addr, o.conns, phase{path: "/healthz", requests: int64(50 * o.conns), token: func(int64) string { return "" }}, nil)
	if warm.failed > 0 {
		return nil, fmt.Errorf("load: %s warm-up failed: %s", clerkgateServer, warm.firstFailure)
	}
	time.Sleep(200 * time.Millisecond)
	rss, _, err := srv.memory()
	if err != nil {
		return nil, err
	}
	res := &memoryResult{samples: []memorySample{{0, rss}}}

	tokens, stop := m.stream(o.distinct, o.mintWorkers)
	defer stop()
	var sampleErr error
	out := drive(srv.addr, o.conns, phase{path: "/me", requests: o.distinct, token: func(int64) string { return <-tokens }},
		func(done int64, el time.Duration) {
			status.progress("memory", done, o.distinct, el)
			rss, _, err := srv.memory()
			if err != nil {
				sampleErr = err
				return
			}
			res.samples = append(res.samples, memorySample{done, rss})
		})
	status.done()
	if sampleErr != nil {
		return nil, sampleErr
	}
	rss, peak, err := srv.memory()
	if err != nil {
		return nil, err
	}
	res.samples = append(res.samples, memorySample{out.ok + out.failed, rss})
	res.peak, res.ok, res.failed, res.first, res.elapsed = peak, out.ok, out.failed, out.firstFailure, out.elapsed
	status.linef("memory: %d ok, %d failed in %.0fs; VmRSS %s, VmHWM %s", out.ok, out.failed, out.elapsed.Seconds(), mib(rss), mib(peak))
	if out.failed > 0 {
		status.linef("  first failure: %s (server log %s)", out.firstFailure, filepath.Base(srv.log))
	}
	return res, nil
}
