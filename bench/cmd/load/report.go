package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/clerkgate/clerkgate/bench/internal/svgchart"
	"github.com/clerkgate/clerkgate/verifier"
)

// results holds each server's outcome per phase, one per round.
type results map[string]map[string][]outcome

func (r results) add(server, phase string, o outcome) {
	if r[server] == nil {
		r[server] = map[string][]outcome{}
	}
	r[server][phase] = append(r[server][phase], o)
}

func (r results) rates(server, phase string) []float64 {
	var out []float64
	for _, o := range r[server][phase] {
		out = append(out, o.rate())
	}
	return out
}

// cpu is per round, per request CPU time as of returns.
func (r results) cpu(server, phase string, of func(outcome) float64) []float64 {
	var out []float64
	for _, o := range r[server][phase] {
		out = append(out, of(o))
	}
	return out
}

func (r results) failures(server, phase string) int64 {
	var n int64
	for _, o := range r[server][phase] {
		n += o.failed
	}
	return n
}

func (r results) failed() bool {
	for server := range r {
		for phase := range r[server] {
			if r.failures(server, phase) > 0 {
				return true
			}
		}
	}
	return false
}

// ratios divides a by b round by round.
func ratios(a, b []float64) []float64 {
	out := make([]float64, min(len(a), len(b)))
	for i := range out {
		if b[i] > 0 {
			out[i] = a[i] / b[i]
		}
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// target is one of issue 5's goals for the load comparison: a ratio of
// requests per second, judged on its median over rounds. capacity is the
// same comparison made with server CPU per request, shown beside it.
type target struct {
	name     string
	ratios   []float64
	capacity []float64
	atLeast  float64
}

// report prints the tables, in Markdown so that they can go straight
// into docs/BENCHMARKS.md.
func report(w io.Writer, o options, r results, refreshed []refreshOutcome, keyCalls []int, mem *memoryResult, took time.Duration) {
	fmt.Fprintf(w, "\n%s, %s, %d CPUs; %d keep-alive connections; %s in all; load average %s at the start, %s at the end.\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.Version(), machineCPUs(), o.conns, took.Round(time.Second), o.loadAtStart, loadAverage())
	if len(r) > 0 {
		reportComparison(w, o, r)
		reportCookies(w, r)
		reportPageLoads(w, r)
		reportMachines(w, r, keyCalls)
		reportH2(w, r)
	}
	if len(refreshed) > 0 {
		reportRefresh(w, o, refreshed)
	}
	if mem != nil {
		reportMemory(w, mem)
	}
}

func reportComparison(w io.Writer, o options, r results) {
	fmt.Fprintf(w, "\n## Load comparison\n\n")
	pinning := "not pinned to CPUs"
	if o.serverCPUs != "" || o.loadCPUs != "" {
		pinning = fmt.Sprintf("servers pinned to CPUs %q, load generator to %q", o.serverCPUs, o.loadCPUs)
	}
	fmt.Fprintf(w, "%d rounds; per server and round: %s of each repeated-token stream, %d requests over %d tokens used 10× each, %d never-seen tokens; each stream in %d slices taking turns; %s.\n\n",
		o.rounds, o.duration, o.mix, o.mix/10, o.fresh, o.slices, pinning)

	fmt.Fprintln(w, "| phase | clerkgate req/s | clerk-sdk-go req/s | clerkgate ÷ clerk-sdk-go | failed requests |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	for _, ph := range phases {
		cg, sdk := r.rates(clerkgateServer, ph), r.rates(sdkServer, ph)
		fmt.Fprintf(w, "| %s | %.0f | %.0f | %.2f× | %d |\n", ph, median(cg), median(sdk), median(ratios(cg, sdk)),
			r.failures(clerkgateServer, ph)+r.failures(sdkServer, ph))
	}
	for _, ph := range []string{phaseHealthz, phaseRepeated} {
		fmt.Fprintf(w, "| %s, bench/cmd/gateserver | %.0f | | | %d |\n", ph, median(r.rates(leanServer, ph)), r.failures(leanServer, ph))
	}
	fmt.Fprintln(w, "\nCPU time per request, user + system, of each process over the requests it served or sent:")
	fmt.Fprintln(w, "\n| phase | clerkgate server | clerk-sdk-go server | clerk-sdk-go ÷ clerkgate | load generator, to clerkgate | load generator, to clerk-sdk-go |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	for _, ph := range phases {
		cg, sdk := r.cpu(clerkgateServer, ph, outcome.cpuPerRequest), r.cpu(sdkServer, ph, outcome.cpuPerRequest)
		fmt.Fprintf(w, "| %s | %.1f µs | %.1f µs | %.2f× | %.1f µs | %.1f µs |\n", ph, median(cg), median(sdk), median(ratios(sdk, cg)),
			median(r.cpu(clerkgateServer, ph, outcome.loadCPUPerRequest)), median(r.cpu(sdkServer, ph, outcome.loadCPUPerRequest)))
	}
	for _, ph := range []string{phaseHealthz, phaseRepeated} {
		fmt.Fprintf(w, "| %s, bench/cmd/gateserver | %.1f µs | | | %.1f µs | |\n", ph,
			median(r.cpu(leanServer, ph, outcome.cpuPerRequest)), median(r.cpu(leanServer, ph, outcome.loadCPUPerRequest)))
	}
	fmt.Fprintln(w, "\nclerkgate is examples/nethttp; bench/cmd/gateserver is clerkgate with a /me that does no more work than /healthz.")
	fmt.Fprintln(w, "All figures are medians over rounds; each ratio is the median of the rounds' ratios. CPU per request depends")
	fmt.Fprintln(w, "far less than req/s on what else the machine runs; without pinning, the load generator's CPU competes with the server's.")

	// versus compares server a with server b in one phase (or a's phase
	// pa with its phase pb): a's rate over b's, b's CPU over a's.
	versus := func(name, a, pa, b, pb string, goal float64) target {
		return target{name,
			ratios(r.rates(a, pa), r.rates(b, pb)),
			ratios(r.cpu(b, pb, outcome.cpuPerRequest), r.cpu(a, pa, outcome.cpuPerRequest)), goal}
	}
	targets := []target{
		versus("auth overhead: clerkgate /me ÷ its /healthz, repeated token", clerkgateServer, phaseRepeated, clerkgateServer, phaseHealthz, 0.95),
		versus("(supplementary) middleware alone: gateserver /me ÷ its /healthz, repeated token", leanServer, phaseRepeated, leanServer, phaseHealthz, 0.95),
		versus("clerkgate ÷ clerk-sdk-go, repeated token", clerkgateServer, phaseRepeated, sdkServer, phaseRepeated, 3),
		versus("clerkgate ÷ clerk-sdk-go, each token used 10×", clerkgateServer, phaseMix, sdkServer, phaseMix, 2.5),
		versus("clerkgate ÷ clerk-sdk-go, never-seen tokens", clerkgateServer, phaseFresh, sdkServer, phaseFresh, 1.3),
		versus("(issue 14) clerkgate ÷ clerk-sdk-go, never-seen tokens", clerkgateServer, phaseFresh, sdkServer, phaseFresh, 2),
	}
	writeTargets(w, targets)
}

func writeTargets(w io.Writer, targets []target) {
	fmt.Fprintln(w, "\n| target | req/s ratio per round | median | goal | result | same ratio by server CPU/request |")
	fmt.Fprintln(w, "|---|---|---:|---:|---|---:|")
	for _, t := range targets {
		per := make([]string, len(t.ratios))
		for i, x := range t.ratios {
			per[i] = fmt.Sprintf("%.2f", x)
		}
		m := median(t.ratios)
		verdict := "met"
		if m < t.atLeast {
			verdict = "**missed**"
		}
		fmt.Fprintf(w, "| %s | %s | %.2f | ≥ %g | %s | %.2f |\n", t.name, strings.Join(per, " "), m, t.atLeast, verdict, median(t.capacity))
	}
}

// reportCookies compares clerkgate's own header and cookie streams: the
// same tokens, carried in the __session cookie instead of the header.
// clerk-sdk-go's middleware reads only the header, so it has no column.
func reportCookies(w io.Writer, r results) {
	fmt.Fprintf(w, "\n## Tokens in the __session cookie (clerkgate only)\n\n")
	fmt.Fprintln(w, "| phase | req/s, cookie | req/s, header | cookie ÷ header | server CPU/request, cookie | server CPU/request, header | failed requests |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	for _, p := range cookiePairs {
		c, h := r.rates(clerkgateServer, p[0]), r.rates(clerkgateServer, p[1])
		fmt.Fprintf(w, "| %s | %.0f | %.0f | %.2f× | %.1f µs | %.1f µs | %d |\n", p[0], median(c), median(h), median(ratios(c, h)),
			median(r.cpu(clerkgateServer, p[0], outcome.cpuPerRequest)), median(r.cpu(clerkgateServer, p[1], outcome.cpuPerRequest)),
			r.failures(clerkgateServer, p[0]))
	}
	fmt.Fprintln(w, "\nclerk-sdk-go's RequireHeaderAuthorization reads the Authorization header only, so it has no cookie stream.")
}

// reportPageLoads compares the two servers on a signed-in browser's page
// loads, and sets each server's page loads beside its own /me with the
// token in the header.
func reportPageLoads(w io.Writer, r results) {
	fmt.Fprintf(w, "\n## Page loads: document requests with cookies, signed in\n\n")
	fmt.Fprintln(w, "| phase | clerkgate req/s | clerk-sdk-go req/s | clerkgate ÷ clerk-sdk-go | clerkgate server CPU/request | clerk-sdk-go server CPU/request | clerkgate page ÷ header | clerk-sdk-go page ÷ header | failed requests |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, p := range pagePairs {
		cg, sdk := r.rates(clerkgateServer, p[0]), r.rates(sdkServer, p[0])
		fmt.Fprintf(w, "| %s | %.0f | %.0f | %.2f× | %.1f µs | %.1f µs | %.2f | %.2f | %d |\n", p[0], median(cg), median(sdk), median(ratios(cg, sdk)),
			median(r.cpu(clerkgateServer, p[0], outcome.cpuPerRequest)), median(r.cpu(sdkServer, p[0], outcome.cpuPerRequest)),
			median(ratios(cg, r.rates(clerkgateServer, p[1]))), median(ratios(sdk, r.rates(sdkServer, p[1]))),
			r.failures(clerkgateServer, p[0])+r.failures(sdkServer, p[0]))
	}
	fmt.Fprintln(w, "\nEach request is a signed-in browser's page load: Sec-Fetch-Dest: document, Accept: text/html, and the cookies")
	fmt.Fprintln(w, "__session, __client_uat and __clerk_db_jwt. clerkgate (examples/nethttp /me) runs Clerk's page-load decision")
	fmt.Fprintln(w, "before the token check; clerk-sdk-go (bench/cmd/sdkserver /page) has none and verifies the __session cookie")
	fmt.Fprintln(w, "through its middleware's AuthorizationJWTExtractor. \"page ÷ header\" is each server's page load over its own")
	fmt.Fprintln(w, "/me with the same kind of token in the Authorization header, in the same round.")
}

// reportMachines sets gateserver's machine credential routes beside its
// /healthz and its session /me, measured in the same turns.
func reportMachines(w io.Writer, r results, keyCalls []int) {
	fmt.Fprintf(w, "\n## Machine credentials: bench/cmd/gateserver (clerkgate only)\n\n")
	fmt.Fprintln(w, "| phase | req/s | ÷ /healthz | ÷ session token /me | server CPU/request | failed requests |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	healthz, session := r.rates(leanServer, phaseHealthz), r.rates(leanServer, phaseRepeated)
	for _, ph := range append([]string{phaseHealthz, phaseRepeated}, machinePhases...) {
		rates := r.rates(leanServer, ph)
		fmt.Fprintf(w, "| %s | %.0f | %.2f | %.2f | %.1f µs | %d |\n", ph, median(rates), median(ratios(rates, healthz)),
			median(ratios(rates, session)), median(r.cpu(leanServer, ph, outcome.cpuPerRequest)), r.failures(leanServer, ph))
	}
	calls := make([]string, len(keyCalls))
	for i, n := range keyCalls {
		calls[i] = fmt.Sprint(n)
	}
	fmt.Fprintf(w, "\nBackend API calls to verify the API key, per round: %s. Each round's server starts with an empty cache and\n", strings.Join(calls, ", "))
	fmt.Fprintln(w, "trusts a verified key for Machine.MaxAge (60 s by default), then asks again; the M2M JWT is verified locally.")
	fmt.Fprintln(w, "clerk-sdk-go's middleware has no equivalent: it verifies session tokens only (v2.4.2's m2m_token.Verify is a")
	fmt.Fprintln(w, "Backend API call per request, and it has no API key verification), so the comparison is with clerkgate's own session token.")
}

// reportH2 compares the two bench servers over HTTPS and HTTP/2.
func reportH2(w io.Writer, r results) {
	fmt.Fprintf(w, "\n## HTTP/2 over TLS: bench/cmd/gateserver /claims against bench/cmd/sdkserver /me\n\n")
	fmt.Fprintln(w, "| phase | clerkgate req/s | clerk-sdk-go req/s | clerkgate ÷ clerk-sdk-go | clerkgate server CPU/request | clerk-sdk-go server CPU/request | failed requests |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	for _, ph := range h2Phases {
		cg, sdk := r.rates(leanTLSServer, ph), r.rates(sdkTLSServer, ph)
		fmt.Fprintf(w, "| %s | %.0f | %.0f | %.2f× | %.1f µs | %.1f µs | %d |\n", ph, median(cg), median(sdk), median(ratios(cg, sdk)),
			median(r.cpu(leanTLSServer, ph, outcome.cpuPerRequest)), median(r.cpu(sdkTLSServer, ph, outcome.cpuPerRequest)),
			r.failures(leanTLSServer, ph)+r.failures(sdkTLSServer, ph))
	}
	fmt.Fprintln(w, "\nBoth servers serve the same self-signed certificate, made at start-up, through the same code (bench/internal/serve);")
	fmt.Fprintln(w, "the generator sends every request of a stream over one HTTP/2 connection with net/http's client. examples/nethttp")
	fmt.Fprintln(w, "serves plain HTTP only, so gateserver's /claims, which answers as the example's /me does, stands in for it.")
}

// reportRefresh shows the refresh phase, round by round.
func reportRefresh(w io.Writer, o options, rs []refreshOutcome) {
	fmt.Fprintf(w, "\n## Refresh of expired sessions (clerkgate only)\n\n")
	fmt.Fprintf(w, "%d browsers; per round each wakes up %d times with an expired token and sends it on %d concurrent requests, then %d requests with the refreshed token; %s latency injected into clerktest's refresh endpoint.\n\n",
		o.refreshBrowsers, o.refreshCycles, o.refreshBurst, o.refreshFollowUps, o.refreshLatency)
	fmt.Fprintln(w, "| round | expired tokens | refresh calls | calls per expired token | refreshing requests p50 / p90 / p99 | other requests p50 / p99 | share of requests refreshing | failed requests |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---|---|---:|---:|")
	for i, r := range rs {
		all := len(r.refreshing) + len(r.fresh)
		fmt.Fprintf(w, "| %d | %d | %d | %.2f | %s / %s / %s | %s / %s | %.0f%% | %d |\n", i+1, r.expired, r.calls, r.callsPerToken(),
			ms(percentile(r.refreshing, 50)), ms(percentile(r.refreshing, 90)), ms(percentile(r.refreshing, 99)),
			ms(percentile(r.fresh, 50)), ms(percentile(r.fresh, 99)),
			100*float64(len(r.refreshing))/float64(max(all, 1)), r.failed)
	}
	fmt.Fprintln(w, "\nTarget: one refresh call per expired token, however many requests carry it at once.")
}

func refreshFailed(rs []refreshOutcome) bool {
	for _, r := range rs {
		if r.failed > 0 || r.calls != r.expired {
			return true
		}
	}
	return false
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// chart is req/s by phase, clerkgate beside clerk-sdk-go, medians over
// rounds: the same numbers as the tables.
func chart(r results) svgchart.Chart {
	c := svgchart.Chart{
		Title:  "Requests per second by phase, median over rounds (longer is better)",
		Unit:   "req/s",
		Series: []string{"clerkgate", "clerk-sdk-go"},
	}
	add := func(label, cg, sdk, ph string) {
		v := []float64{median(r.rates(cg, ph)), math.NaN()}
		if sdk != "" {
			v[1] = median(r.rates(sdk, ph))
		}
		c.Groups = append(c.Groups, svgchart.Group{Label: label, Values: v})
	}
	for _, ph := range phases {
		add(ph, clerkgateServer, sdkServer, ph)
	}
	for _, p := range cookiePairs {
		add(p[0], clerkgateServer, "", p[0])
	}
	for _, p := range pagePairs {
		add(p[0], clerkgateServer, sdkServer, p[0])
	}
	for _, ph := range h2Phases {
		add(ph, leanTLSServer, sdkTLSServer, ph)
	}
	for _, ph := range machinePhases {
		add(ph, leanServer, "", ph)
	}
	return c
}

func writeChartFile(path string, r results) error {
	var b bytes.Buffer
	if err := chart(r).Write(&b); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// reportMemory prints the RSS samples at round numbers of tokens, and
// compares the growth after the cache filled up with the cache's bound.
func reportMemory(w io.Writer, mem *memoryResult) {
	fmt.Fprintf(w, "\n## Memory: clerkgate server under %d distinct tokens\n\n", mem.ok+mem.failed)
	fmt.Fprintf(w, "%d answered 200, %d failed, in %s (%.0f req/s, paced by minting).\n\n",
		mem.ok, mem.failed, mem.elapsed.Round(time.Second), float64(mem.ok+mem.failed)/mem.elapsed.Seconds())
	fmt.Fprintln(w, "| distinct tokens sent | VmRSS |")
	fmt.Fprintln(w, "|---:|---:|")
	marks := []int64{0, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, 2_000_000, 5_000_000}
	last := mem.samples[len(mem.samples)-1]
	var filled memorySample // the first sample after the cache can be full
	for _, mark := range marks {
		if mark > last.tokens {
			break
		}
		for _, s := range mem.samples {
			if s.tokens >= mark {
				fmt.Fprintf(w, "| %d | %s |\n", s.tokens, mib(s.rss))
				break
			}
		}
	}
	if last.tokens != 0 && !slices.Contains(marks, last.tokens) {
		fmt.Fprintf(w, "| %d (end) | %s |\n", last.tokens, mib(last.rss))
	}
	for _, s := range mem.samples {
		if s.tokens >= 2*verifier.DefaultCacheSize {
			filled = s
			break
		}
	}
	idle := mem.samples[0].rss
	fmt.Fprintf(w, "\nIdle %s; peak (VmHWM) %s, %s above idle. ", mib(idle), mib(mem.peak), mib(mem.peak-idle))
	if filled.tokens > 0 {
		var top int64
		for _, s := range mem.samples {
			if s.tokens >= filled.tokens {
				top = max(top, s.rss)
			}
		}
		fmt.Fprintf(w, "From %d tokens (the %d-entry cache full twice over) to the end, VmRSS moved from %s to at most %s.\n",
			filled.tokens, verifier.DefaultCacheSize, mib(filled.rss), mib(top))
	} else {
		fmt.Fprintln(w)
	}
}

// machineCPUs counts the machine's CPUs, which runtime.NumCPU does not
// when the generator runs pinned to some of them.
func machineCPUs() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.NumCPU()
	}
	n := 0
	for line := range strings.Lines(string(b)) {
		if strings.HasPrefix(line, "processor") {
			n++
		}
	}
	return max(n, 1)
}

// loadAverage is the 1-minute load average, which tells how much the
// machine's other tenants disturbed the run.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	one, _, _ := strings.Cut(string(b), " ")
	return one
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// status writes progress to a terminal (overwriting one line) or, when
// stderr is a file or pipe, a line every few seconds.
type status struct {
	w        io.Writer
	terminal bool
	inline   bool
	lastLine time.Time
}

func newStatus(f *os.File) *status {
	st, err := f.Stat()
	return &status{w: f, terminal: err == nil && st.Mode()&os.ModeCharDevice != 0}
}

func (s *status) linef(format string, args ...any) {
	s.done()
	fmt.Fprintf(s.w, format+"\n", args...)
}

// progress shows how far a phase is; total ≤ 0 means it runs for a time.
func (s *status) progress(label string, done, total int64, elapsed time.Duration) {
	line := fmt.Sprintf("%s: %d", label, done)
	if total > 0 {
		line += fmt.Sprintf("/%d (%.0f%%)", total, 100*float64(done)/float64(total))
	}
	line += fmt.Sprintf(", %.0fs, %.0f/s", elapsed.Seconds(), float64(done)/elapsed.Seconds())
	if s.terminal {
		fmt.Fprintf(s.w, "\r\033[K%s", line)
		s.inline = true
		return
	}
	if time.Since(s.lastLine) >= 5*time.Second {
		fmt.Fprintln(s.w, line)
		s.lastLine = time.Now()
	}
}

// done ends an overwritten progress line.
func (s *status) done() {
	if s.inline {
		fmt.Fprint(s.w, "\r\033[K")
		s.inline = false
	}
}
