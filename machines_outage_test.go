package clerkgate_test

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/machine"
)

// While Clerk answers 429 with Retry-After, a known machine credential
// whose cache entry lapsed costs one Backend API call and one log line,
// not one per request; the 503s ask for Clerk's Retry-After. Once it
// passes, the next request calls again.
func TestMachineOutageWindow(t *testing.T) {
	logger, logs := captureLogs()
	rig := newMachineRig(t, func(c *clerkgate.Config) { c.Logger = logger })
	_, key := rig.fake.CreateAPIKey("user_2abcdefghijklmnopqrstuvwxyz", "ci key")
	rep, _ := rig.call(t, "/keys", key)
	require.Equal(t, http.StatusOK, rep.status)

	rig.advance(machine.DefaultMaxAge + time.Second) // the entry lapses
	rig.fake.SetFault(clerktest.RouteVerifyAPIKey, clerktest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second})
	before := rig.fake.Requests(clerktest.RouteVerifyAPIKey)
	for i := range 100 {
		rep, _ = rig.call(t, "/keys", key)
		require.Equal(t, http.StatusServiceUnavailable, rep.status, "request %d", i)
		require.Equal(t, "machine_auth_unavailable", rep.reason)
		require.Equal(t, "30", rep.header.Get("Retry-After"), "request %d", i)
	}
	calls := rig.fake.Requests(clerktest.RouteVerifyAPIKey) - before
	lines := strings.Count(logs.String(), "machine credential verification failed")
	t.Logf("100 requests during a 429 with Retry-After 30: %d Backend API calls, %d log lines", calls, lines)
	require.Equal(t, 1, calls)
	require.Equal(t, 1, lines)

	// A Retry-After of an hour is held for MaxOutageWindow at most.
	rig.advance(30 * time.Second)
	rig.fake.SetFault(clerktest.RouteVerifyAPIKey, clerktest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: time.Hour})
	rep, _ = rig.call(t, "/keys", key)
	require.Equal(t, http.StatusServiceUnavailable, rep.status)
	require.Equal(t, "60", rep.header.Get("Retry-After"))
	require.Equal(t, 2, rig.fake.Requests(clerktest.RouteVerifyAPIKey)-before)

	// Clerk is back once the window has passed.
	rig.fake.ClearFaults()
	rig.advance(machine.MaxOutageWindow)
	rep, _ = rig.call(t, "/keys", key)
	require.Equal(t, http.StatusOK, rep.status)
	require.Equal(t, 3, rig.fake.Requests(clerktest.RouteVerifyAPIKey)-before)

	// A 401 is no outage (a caller must not be able to stop verification
	// for everyone): nothing is held.
	rig.fake.SetFault(clerktest.RouteVerifyAPIKey, clerktest.Fault{Status: http.StatusUnauthorized})
	for range 2 {
		rep, _ = rig.call(t, "/keys", "ak_"+randomHex(16))
		require.Equal(t, http.StatusServiceUnavailable, rep.status)
	}
	require.Equal(t, 5, rig.fake.Requests(clerktest.RouteVerifyAPIKey)-before)
}

// outageProxy stands in front of a fake's Backend API: while fail is set,
// the machine verify routes answer with its status and its raw
// Retry-After (what clerktest's Fault cannot write: huge, negative, a
// date); everything else goes through to the fake.
type outageProxy struct {
	status     atomic.Int32
	retryAfter atomic.Pointer[string]
	calls      atomic.Int32 // verify calls answered with the failure
}

func newOutageProxy(t *testing.T, apiURL string) (*outageProxy, string) {
	p := &outageProxy{}
	target, err := url.Parse(apiURL)
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st := int(p.status.Load()); st != 0 && strings.HasSuffix(r.URL.Path, "/verify") {
			p.calls.Add(1)
			if ra := p.retryAfter.Load(); ra != nil {
				w.Header().Set("Retry-After", *ra)
			}
			http.Error(w, `{"errors":[{"code":"too_many_requests","message":"slow down"}]}`, st)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	return p, srv.URL
}

// While Clerk fails, a known API key whose entry lapsed costs one call
// and one log line per outage window, however many requests and
// credentials come, and however absurd the Retry-After: the window is
// Clerk's Retry-After up to 60 s, 5 s when there is none or it makes no
// sense, and ends when it says.
func TestReviewOutageWindowIsBounded(t *testing.T) {
	future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		name       string
		status     int
		retryAfter string // "-" for none
		window     int    // seconds the Gate holds calls and asks clients to wait
	}{
		{"429 Retry-After 1000000000", http.StatusTooManyRequests, "1000000000", 60},
		{"429 Retry-After 1e9", http.StatusTooManyRequests, "1e9", 5},
		{"429 Retry-After -5", http.StatusTooManyRequests, "-5", 5},
		{"429 Retry-After 2^64+", http.StatusTooManyRequests, "99999999999999999999999", 5},
		{"429 Retry-After a date an hour on", http.StatusTooManyRequests, future, 60},
		{"429 Retry-After a date an hour ago", http.StatusTooManyRequests, past, 5},
		{"429 Retry-After 17", http.StatusTooManyRequests, "17", 17},
		{"503 without Retry-After", http.StatusServiceUnavailable, "-", 5},
		{"500 Retry-After 0", http.StatusInternalServerError, "0", 5},
		{"502 Retry-After junk", http.StatusBadGateway, "soon", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logger, logs := captureLogs()
			var proxyURL string
			var p *outageProxy
			rig := newMachineRig(t, func(c *clerkgate.Config) {
				c.Logger = logger
				p, proxyURL = newOutageProxy(t, c.APIURL)
				c.APIURL = proxyURL
			})
			keys := make([]string, 20)
			for i := range keys {
				_, keys[i] = rig.fake.CreateAPIKey("user_2abcdefghijklmnopqrstuvwxyz", fmt.Sprint("key ", i))
				rep, _ := rig.call(t, "/keys", keys[i])
				require.Equal(t, http.StatusOK, rep.status)
			}
			rig.advance(machine.DefaultMaxAge + time.Second) // every entry lapses
			p.status.Store(int32(tc.status))
			if tc.retryAfter != "-" {
				p.retryAfter.Store(&tc.retryAfter)
			}
			for i := range 100 {
				rep, _ := rig.call(t, "/keys", keys[i%len(keys)])
				require.Equal(t, http.StatusServiceUnavailable, rep.status)
				require.Equal(t, fmt.Sprint(tc.window), rep.header.Get("Retry-After"), "request %d", i)
			}
			lines := strings.Count(logs.String(), "machine credential verification failed")
			t.Logf("100 requests with 20 known keys: %d calls, %d log lines, Retry-After %d", p.calls.Load(), lines, tc.window)
			require.EqualValues(t, 1, p.calls.Load())
			require.Equal(t, 1, lines)

			rig.advance(time.Duration(tc.window)*time.Second - time.Second)
			rep, _ := rig.call(t, "/keys", keys[0])
			require.Equal(t, http.StatusServiceUnavailable, rep.status, "still within the window")
			require.EqualValues(t, 1, p.calls.Load())
			rig.advance(time.Second)
			p.status.Store(0)
			rep, _ = rig.call(t, "/keys", keys[0])
			require.Equal(t, http.StatusOK, rep.status, "Clerk is back once the window ends")
		})
	}
}

// A verify call that never answers is given up after the timeout and
// holds the others for the default window: 50 requests, 1 call.
func TestReviewOutageTimeoutHoldsCalls(t *testing.T) {
	rig := newMachineRig(t, func(c *clerkgate.Config) { c.Refresh.Timeout = 300 * time.Millisecond })
	_, key := rig.fake.CreateAPIKey("user_2abcdefghijklmnopqrstuvwxyz", "ci key")
	rep, _ := rig.call(t, "/keys", key)
	require.Equal(t, http.StatusOK, rep.status)
	rig.advance(machine.DefaultMaxAge + time.Second)
	rig.fake.SetFault(clerktest.RouteVerifyAPIKey, clerktest.Fault{Hang: true})
	before := rig.fake.Requests(clerktest.RouteVerifyAPIKey)
	for range 50 {
		rep, _ = rig.call(t, "/keys", key)
		require.Equal(t, http.StatusServiceUnavailable, rep.status)
		require.Equal(t, "5", rep.header.Get("Retry-After"))
	}
	require.Equal(t, 1, rig.fake.Requests(clerktest.RouteVerifyAPIKey)-before)
}

// A 401 or 403 from the verify route (the app's secret key refused, or
// a credential Clerk will not verify for it) is no outage and holds no
// one else's calls; but a known credential must not turn it into one
// Backend API call and one log line per request: after the first, the
// credential is new again and spends its client's share.
func TestReviewRefusedSecretKeyMakesNoCallFlood(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			logger, logs := captureLogs()
			rig := newMachineRig(t, func(c *clerkgate.Config) { c.Logger = logger })
			_, key := rig.fake.CreateAPIKey("user_2abcdefghijklmnopqrstuvwxyz", "ci key")
			rep, _ := rig.call(t, "/keys", key)
			require.Equal(t, http.StatusOK, rep.status)
			rig.advance(machine.DefaultMaxAge + time.Second)
			rig.fake.SetFault(clerktest.RouteVerifyAPIKey, clerktest.Fault{Status: status})
			before := rig.fake.Requests(clerktest.RouteVerifyAPIKey)
			for range 100 {
				rep, _ = rig.call(t, "/keys", key)
				require.Equal(t, http.StatusServiceUnavailable, rep.status)
			}
			calls := rig.fake.Requests(clerktest.RouteVerifyAPIKey) - before
			lines := strings.Count(logs.String(), "machine credential verification failed")
			t.Logf("100 requests with a known key while Clerk answers %d: %d calls, %d log lines", status, calls, lines)
			require.LessOrEqual(t, calls, 1+machine.DefaultNewBurst)
			require.LessOrEqual(t, lines, 1+machine.DefaultNewBurst)

			// Clerk takes the key again: it is served, and known again.
			rig.fake.ClearFaults()
			rig.advance(time.Minute)
			rep, _ = rig.call(t, "/keys", key)
			require.Equal(t, http.StatusOK, rep.status)
		})
	}
}
