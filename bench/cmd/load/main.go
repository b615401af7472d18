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
	case o.rounds < 0 || o.distinct < 0:
		return fmt.Errorf("load: -rounds and -distinct must not be negative")
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
)

var servers = []string{clerkgateServer, sdkServer, leanServer}

// The streams run against each server.
const (
	phaseHealthz  = "/healthz, repeated token"
	phaseRepeated = "/me, repeated token"
	phaseMix      = "/me, each token used 10×"
	phaseFresh    = "/me, never-seen tokens"
)

var phases = []string{phaseHealthz, phaseRepeated, phaseMix, phaseFresh}

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
	for _, name := range servers {
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
	}
	m := newMinter(fake, o.users)

	var res results
	if o.rounds > 0 {
		if res, err = compare(o, status, m, bins, tmp, env); err != nil {
			return err
		}
	}
	var mem *memoryResult
	if o.distinct > 0 {
		if mem, err = memoryPhase(o, status, m, bins[clerkgateServer], tmp, env); err != nil {
			return err
		}
	}

	report(os.Stdout, o, res, mem, time.Since(started))
	if res.failed() || (mem != nil && mem.failed > 0) {
		return fmt.Errorf("load: some requests failed; see the tables")
	}
	return nil
}

// compare runs the rounds of the throughput comparison.
func compare(o options, status *status, m *minter, bins map[string]string, tmp string, env []string) (results, error) {
	// Tokens for the timed streams, minted up front. They live two hours
	// instead of Clerk's 60 s so that none expires before its turn.
	mixTokens := o.mix / 10
	total := 1 + mixTokens + o.fresh
	status.linef("minting %d tokens for the timed phases on %d goroutines", total, o.mintWorkers)
	pool := m.mintAll(total, o.mintWorkers, 2*time.Hour, func(done int64, el time.Duration) {
		status.progress("minting", done, total, el)
	})
	status.done()
	repeated, mixPool, freshPool := pool[0], pool[1:1+mixTokens], pool[1+mixTokens:]

	slices := int64(o.slices)
	perSlice := o.duration / time.Duration(o.slices)
	same := func(int64) string { return repeated }
	timed := func(server, ph, path string) stream {
		return stream{server, ph, func(int) phase { return phase{path: path, duration: perSlice, token: same} }}
	}
	mixPerSlice := o.mix / slices
	mix := func(server string) stream {
		return stream{server, phaseMix, func(k int) phase {
			return phase{path: "/me", requests: mixPerSlice, token: func(i int64) string {
				return mixPool[mixToken(int64(k)*mixPerSlice+i)]
			}}
		}}
	}
	fresh := func(server string) stream {
		return stream{server, phaseFresh, func(k int) phase {
			lo, hi := int64(k)*o.fresh/slices, int64(k+1)*o.fresh/slices
			return phase{path: "/me", requests: hi - lo, token: func(i int64) string { return freshPool[lo+i] }}
		}}
	}
	groups := []group{
		{
			timed(clerkgateServer, phaseHealthz, "/healthz"), timed(clerkgateServer, phaseRepeated, "/me"),
			timed(sdkServer, phaseHealthz, "/healthz"), timed(sdkServer, phaseRepeated, "/me"),
			timed(leanServer, phaseHealthz, "/healthz"), timed(leanServer, phaseRepeated, "/me"),
		},
		{mix(clerkgateServer), mix(sdkServer)},
		{fresh(clerkgateServer), fresh(sdkServer)},
	}

	res := results{}
	for round := 1; round <= o.rounds; round++ {
		if err := runRound(o, status, res, round, groups, bins, tmp, env, repeated); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// runRound starts the servers, warms them up and runs every group.
func runRound(o options, status *status, res results, round int, groups []group, bins map[string]string, tmp string, env []string, repeated string) error {
	running := map[string]*server{}
	for _, name := range servers {
		status.linef("round %d/%d: starting %s", round, o.rounds, name)
		srv, err := startServer(name, bins[name], tmp, o.serverCPUs, env)
		if err != nil {
			return err
		}
		defer srv.stop()
		// Warm-up: connections, the server's key fetch, and the repeated
		// token's first verification.
		warm := drive(srv.addr, o.conns, phase{path: "/me", requests: int64(100 * o.conns), token: func(int64) string { return repeated }}, nil)
		if warm.failed > 0 {
			return fmt.Errorf("load: %s refuses the token during warm-up (%s); see %s", name, warm.firstFailure, srv.log)
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
					return err
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
	return nil
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
	srv, err := startServer(clerkgateServer, bin, tmp, o.serverCPUs, env)
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
