package clerkgate_test

import (
	"net/http"
	"strings"
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
