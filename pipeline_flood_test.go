package clerkgate_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

// The junk-token flood: what anyone on the internet can send. Every token
// is distinct (so no cache can help), and the mix aims at each early exit
// of the verifier and at the one place junk can cost the app a network
// call: a kid the Gate has not seen triggers a key set refetch. The flood
// must get only refusals, must not turn into a flood of JWKS requests, and
// must leave the heap as it found it.

const (
	// floodMinRefetch is the Gate's Keys.MinRefetchInterval in the flood:
	// short, so that the limit visibly bounds the fetch count within the
	// test's few seconds (the default, 10 s, would allow about one).
	floodMinRefetch = 250 * time.Millisecond
	// floodListenerTokens go over a real listener after the in-process
	// flood.
	floodListenerTokens = 2_000
	// floodHeapBound is how much the in-use heap may grow over the flood,
	// after garbage collection. Nothing of a refused token should stay.
	floodHeapBound = 32 << 20
)

// floodKinds names the kinds of junk token, for the report.
var floodKinds = []string{
	"random kid", "random signature", "short signature", "oversized",
	"random bytes", "wrong segment count", "bad header", "random kid with refresh cookie",
}

// floodJunk builds junk token i: distinct for every i, of kind i%8.
type floodJunk struct {
	kid     string // the backend's real kid
	payload string // base64url of a plausible claims set
	big     string // 17 KiB of base64url, for oversized tokens
}

func newFloodJunk(fake *clerktest.Server) *floodJunk {
	claims, _ := json.Marshal(map[string]any{
		"iss": fake.Issuer(), "sub": "user_flood", "sid": "sess_flood", "azp": clerktest.DefaultAuthorizedParty,
		"iat": time.Now().Unix(), "nbf": time.Now().Unix() - 10, "exp": time.Now().Unix() + 60,
	})
	return &floodJunk{
		kid:     fake.KeyID(),
		payload: base64.RawURLEncoding.EncodeToString(claims),
		big:     strings.Repeat("QUFB", 17<<10/4),
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// token returns junk token i and how to send it.
func (j *floodJunk) token(rng *rand.Rand, i int) (kind int, mod func(*http.Request)) {
	kind = i % len(floodKinds)
	header := func(alg, kid string) string {
		return b64([]byte(`{"alg":"` + alg + `","kid":"` + kid + `","typ":"JWT"}`))
	}
	nonce := fmt.Sprintf("%x", rng.Uint64())
	var tok string
	switch kind {
	case 0, 7:
		tok = header("RS256", "ins_"+nonce) + "." + j.payload + "." + b64(randomBytes(rng, 256))
	case 1:
		tok = header("RS256", j.kid) + "." + j.payload + "." + b64(randomBytes(rng, 256))
	case 2:
		tok = header("RS256", j.kid) + "." + j.payload + "." + b64(randomBytes(rng, 1+rng.IntN(64)))
	case 3:
		tok = header("RS256", j.kid) + "." + j.big + nonce + "." + b64(randomBytes(rng, 256))
	case 4:
		tok = string(randomBytes(rng, 1+rng.IntN(512)))
		tok = strings.Map(func(r rune) rune { // keep it a legal header value
			if r < 0x21 || r > 0x7e || r == ';' || r == ',' {
				return 'x'
			}
			return r
		}, tok) + nonce
	case 5:
		parts := []string{header("RS256", j.kid), j.payload, b64(randomBytes(rng, 256)), nonce}
		if rng.IntN(2) == 0 {
			tok = strings.Join(parts[:2], ".") + nonce
		} else {
			tok = strings.Join(parts, ".")
		}
	case 6:
		headers := []string{
			b64([]byte(`{"alg":"none","kid":"` + nonce + `"}`)),
			header("HS256", j.kid),
			b64([]byte(`{"alg":` + nonce)),
			header("RS256", j.kid) + "!" + nonce,
		}
		tok = headers[i/len(floodKinds)%len(headers)] + "." + j.payload + "." + b64(randomBytes(rng, 32))
	}
	switch i / len(floodKinds) % 3 {
	case 0:
		mod = func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	case 1:
		mod = func(r *http.Request) { r.Header.Set("Cookie", "__session="+tok) }
	default:
		mod = func(r *http.Request) { r.Header.Set("Cookie", "__session_x=1; __session="+tok+"; __refresh_x=junk") }
	}
	if kind == 7 {
		mod = func(r *http.Request) { r.Header.Set("Cookie", "__session="+tok+"; __refresh="+nonce) }
	}
	return kind, mod
}

// floodTally counts answers by status and reason, and remembers the first
// answer outside the contract.
type floodTally struct {
	mu      sync.Mutex
	answers map[string]int
	bad     string
}

func (ft *floodTally) add(kind, status int, body []byte, header http.Header) {
	var doc struct{ Error string }
	_ = json.Unmarshal(body, &doc)
	ok := (status == http.StatusUnauthorized && doc.Error != "" && doc.Error != "jwks_unavailable") ||
		(status == http.StatusServiceUnavailable && doc.Error == "jwks_unavailable" && header.Get("Retry-After") != "")
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.answers[fmt.Sprintf("%d %s", status, doc.Error)]++
	if !ok && ft.bad == "" {
		ft.bad = fmt.Sprintf("%s token: %d %s", floodKinds[kind], status, body)
	}
}

// peakRSS reads the process's peak resident set size (VmHWM) on Linux.
func peakRSS() string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func TestJunkTokenFlood(t *testing.T) {
	skipSlowUnderShort(t)
	checkNoGoroutineGrowth(t)
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	gate, err := clerkgate.New(clerkgate.Config{
		SecretKey:      fake.SecretKey(),
		PublishableKey: fake.PublishableKey(),
		APIURL:         fake.URL(),
		Keys:           clerkgate.KeysConfig{MinRefetchInterval: floodMinRefetch},
	})
	require.NoError(t, err)
	t.Cleanup(func() { gate.Close() })
	handler := gate.Accept(clerkgate.SessionToken).Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("junk reached the handler: %q %q", r.Header.Get("Authorization"), r.Header.Get("Cookie"))
	}))

	// Warm up: the key set is in, as in a running app.
	sess := fake.CreateSession("user_flood")
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+fake.Token(sess.ID))
	gate.Accept(clerkgate.SessionToken).Require(whoami).ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	junk := newFloodJunk(fake)
	tally := &floodTally{answers: map[string]int{}}
	heapBefore := heapInUse()
	fetchesBefore := fake.Requests(clerktest.RouteJWKS)
	start := time.Now()

	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for {
				i := int(next.Add(1)) - 1
				if i >= floodTokens {
					return
				}
				kind, mod := junk.token(rng, i)
				req := httptest.NewRequest(http.MethodGet, "/me", nil)
				mod(req)
				rec := httptest.NewRecorder()
				handler.ServeHTTP(rec, req)
				tally.add(kind, rec.Code, rec.Body.Bytes(), rec.Header())
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	fetches := fake.Requests(clerktest.RouteJWKS) - fetchesBefore
	heapAfter := heapInUse()

	t.Logf("in-process: %d junk tokens in %v (%.0f/s); answers %v", floodTokens, elapsed.Round(time.Millisecond),
		float64(floodTokens)/elapsed.Seconds(), tally.answers)
	limit := int(elapsed/floodMinRefetch) + 2
	t.Logf("JWKS fetches during the flood: %d (rate limit allows at most %d: one per %v over %v)",
		fetches, limit, floodMinRefetch, elapsed.Round(time.Millisecond))
	t.Logf("heap in use after GC: %.1f MiB before, %.1f MiB after; peak RSS (VmHWM) %s",
		float64(heapBefore)/(1<<20), float64(heapAfter)/(1<<20), peakRSS())

	require.Empty(t, tally.bad, "an answer outside the contract")
	require.Positive(t, fetches, "random kids should have asked for refetches")
	require.LessOrEqual(t, fetches, limit, "JWKS fetches exceeded the rate limit")
	require.Less(t, int64(heapAfter)-int64(heapBefore), int64(floodHeapBound), "the heap grew over the flood")

	// A smaller batch over a real listener, with concurrent clients, so
	// the HTTP server's own parsing of hostile headers is in the loop too.
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}, Timeout: 30 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	listenerTally := &floodTally{answers: map[string]int{}}
	next.Store(0)
	start = time.Now()
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w)+100, uint64(time.Now().UnixNano())))
			for {
				i := int(next.Add(1)) - 1
				if i >= floodListenerTokens {
					return
				}
				kind, mod := junk.token(rng, i)
				req, _ := http.NewRequest(http.MethodGet, srv.URL+"/me", nil)
				mod(req)
				res, err := client.Do(req)
				if err != nil {
					errs <- fmt.Errorf("%s token: %w", floodKinds[kind], err)
					return
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				listenerTally.add(kind, res.StatusCode, body, res.Header)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	elapsed = time.Since(start)
	t.Logf("over a listener: %d junk tokens in %v (%.0f/s); answers %v", floodListenerTokens,
		elapsed.Round(time.Millisecond), float64(floodListenerTokens)/elapsed.Seconds(), listenerTally.answers)
	require.Empty(t, listenerTally.bad, "an answer outside the contract")
	t.Logf("total JWKS fetches: %d; peak RSS (VmHWM) %s", fake.Requests(clerktest.RouteJWKS), peakRSS())
}
