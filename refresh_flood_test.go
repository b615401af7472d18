package clerkgate_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

// The refresh flood: what anyone with one free sign-up can send. Their own
// session's expired token is genuine, so it passes every check up to the
// refresh; a refresh cookie made up for each request makes each pair of
// (expired token, refresh cookie) new to the Gate. None of it may turn
// into more than one Backend API call per session and failure window.

// floodRefreshRequests is how many junk pairs each flood sends.
const floodRefreshRequests = 60

func (b *backend) junkRefreshCookie(i int) func(*http.Request) {
	return cookie("__refresh_"+b.fake.CookieSuffix(), fmt.Sprintf("junk-%d", i))
}

func requireRefreshRefused(t *testing.T, rep reply, what string) {
	t.Helper()
	require.Equal(t, http.StatusUnauthorized, rep.status, "%s: %s", what, rep.body)
	require.Equal(t, "refresh_failed", rep.reason, what)
	require.Empty(t, rep.header.Values("Set-Cookie"), what)
}

func TestRefreshFloodSequential(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	s := b.fake.CreateSession("user_attacker")
	expired := b.fake.Token(s.ID, clerktest.Expired())

	for i := range floodRefreshRequests {
		requireRefreshRefused(t, get(t, b.srv, both(b.sessionCookie(expired), b.junkRefreshCookie(i))), fmt.Sprint("junk pair ", i))
	}
	t.Logf("%d sequential requests with one genuine expired token and junk refresh cookies: %d refresh calls",
		floodRefreshRequests, b.refreshCalls())
	require.Equal(t, 1, b.refreshCalls(), "one call per session and failure window")
	require.Equal(t, clerkgate.RefreshStats{Calls: 1, Failed: 1, RecentFailure: floodRefreshRequests - 1}, b.gate.Stats().Refresh)
}

func TestRefreshFloodParallel(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	s := b.fake.CreateSession("user_attacker")
	expired := b.fake.Token(s.ID, clerktest.Expired())
	// Latency keeps the first call in flight while the others arrive.
	b.fake.SetFault(clerktest.RouteRefresh, clerktest.Fault{Latency: 300 * time.Millisecond})

	replies := make([]reply, floodRefreshRequests)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range floodRefreshRequests {
		wg.Go(func() {
			<-start
			replies[i] = get(t, b.srv, both(b.sessionCookie(expired), b.junkRefreshCookie(i)))
		})
	}
	// Watch the calls in flight while the flood lasts.
	done := make(chan struct{})
	var peak int
	var watch sync.WaitGroup
	watch.Go(func() {
		for {
			peak = max(peak, b.gate.Stats().Refresh.InFlight)
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	})
	close(start)
	wg.Wait()
	close(done)
	watch.Wait()
	require.LessOrEqual(t, peak, 1, "one call in flight per session")
	for i, rep := range replies {
		requireRefreshRefused(t, rep, fmt.Sprint("junk pair ", i))
	}
	t.Logf("%d parallel requests with one genuine expired token and junk refresh cookies: %d refresh calls",
		floodRefreshRequests, b.refreshCalls())
	require.Equal(t, 1, b.refreshCalls(), "one call per session and failure window")
	require.Equal(t, clerkgate.RefreshStats{Calls: 1, Failed: 1, RecentFailure: floodRefreshRequests - 1}, b.gate.Stats().Refresh)
}

// A flood on one session holds back no other session's refresh: it holds
// one call slot at most, so even with room for two calls in flight a
// genuine browser of another session is refreshed while the flood goes on.
func TestRefreshFloodSparesOtherSessions(t *testing.T) {
	skipSlowUnderShort(t)
	t.Parallel()
	b := newBackend(t, func(c *clerkgate.Config) { c.Refresh.MaxInFlight = 2 })
	attacker := b.fake.CreateSession("user_attacker")
	junkToken := b.fake.Token(attacker.ID, clerktest.Expired())
	victim := b.fake.CreateSession("user_1")
	genuine := both(b.sessionCookie(b.fake.Token(victim.ID, clerktest.Expired())), b.refreshCookie(victim))
	b.fake.SetFault(clerktest.RouteRefresh, clerktest.Fault{Latency: time.Second})

	const n = 200
	replies := make([]reply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { replies[i] = get(t, b.srv, both(b.sessionCookie(junkToken), b.junkRefreshCookie(i))) })
	}
	// The attacker's one call is in flight, the rest of the flood waits
	// for it; now the genuine browser comes.
	require.Eventually(t, func() bool { return b.refreshCalls() >= 1 }, 10*time.Second, time.Millisecond)
	rep := get(t, b.srv, genuine)
	require.Equal(t, http.StatusOK, rep.status, rep.body)
	require.Equal(t, "user_1", rep.body)
	require.NotEmpty(t, rep.header.Values("Set-Cookie"))
	wg.Wait()

	for i, rep := range replies {
		requireRefreshRefused(t, rep, fmt.Sprint("junk pair ", i))
	}
	require.Equal(t, 2, b.refreshCalls(), "the attacker's one call and the browser's")
	stats := b.gate.Stats().Refresh
	require.Equal(t, uint64(2), stats.Calls)
	require.Zero(t, stats.Busy, "the flood never filled the bound")
	t.Logf("%d parallel junk pairs for one session and a genuine refresh of another: %d refresh calls; %+v", n, b.refreshCalls(), stats)
}

// Past Refresh.MaxInFlight a refresh is refused at once, without a call
// and without a failure window: the same browser succeeds once there is
// room again.
func TestRefreshBoundOnCallsInFlight(t *testing.T) {
	skipSlowUnderShort(t)
	t.Parallel()
	b := newBackend(t, func(c *clerkgate.Config) {
		c.Refresh.MaxInFlight = 2
		c.Refresh.Timeout = 20 * time.Second
	})
	b.fake.SetFault(clerktest.RouteRefresh, clerktest.Fault{Latency: 3 * time.Second, Times: 2})
	pair := func() func(*http.Request) {
		s := b.fake.CreateSession("user_1")
		return both(b.sessionCookie(b.fake.Token(s.ID, clerktest.Expired())), b.refreshCookie(s))
	}
	first, second, third := pair(), pair(), pair()

	var wg sync.WaitGroup
	var r1, r2 reply
	wg.Go(func() { r1 = get(t, b.srv, first) })
	wg.Go(func() { r2 = get(t, b.srv, second) })
	require.Eventually(t, func() bool { return b.refreshCalls() == 2 }, 10*time.Second, time.Millisecond)

	requireRefreshRefused(t, get(t, b.srv, third), "third session while two calls are in flight")
	require.Equal(t, 2, b.refreshCalls())
	require.Equal(t, uint64(1), b.gate.Stats().Refresh.Busy)
	wg.Wait()
	require.Equal(t, http.StatusOK, r1.status, r1.body)
	require.Equal(t, http.StatusOK, r2.status, r2.body)

	rep := get(t, b.srv, third)
	require.Equal(t, http.StatusOK, rep.status, rep.body)
	require.Equal(t, 3, b.refreshCalls())
}

// A token that expired more than Refresh.MaxExpiredTokenAge ago is not sent to
// Clerk: it is answered token_expired, like one without a refresh cookie,
// and clerk-js renews the token itself. Clerk would refuse it as too old
// anyway; an attacker would use it to spend a call on a session nobody
// keeps alive.
func TestRefreshOfLongExpiredTokenMakesNoCall(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	s := b.fake.CreateSession("user_1")
	old := b.fake.Token(s.ID, clerktest.IssuedAt(time.Now().Add(-7*time.Minute))) // expired 6 min ago
	rep := get(t, b.srv, both(b.sessionCookie(old), b.refreshCookie(s)))
	require.Equal(t, http.StatusUnauthorized, rep.status, rep.body)
	require.Equal(t, "token_expired", rep.reason)
	require.Zero(t, b.refreshCalls())
	require.Equal(t, uint64(1), b.gate.Stats().Refresh.TooOld)

	recent := b.fake.Token(s.ID, clerktest.IssuedAt(time.Now().Add(-5*time.Minute))) // expired 4 min ago
	rep = get(t, b.srv, both(b.sessionCookie(recent), b.refreshCookie(s)))
	require.Equal(t, http.StatusOK, rep.status, rep.body)
	require.Equal(t, 1, b.refreshCalls())

	// The age is configurable.
	b = newBackend(t, func(c *clerkgate.Config) { c.Refresh.MaxExpiredTokenAge = 2 * time.Minute })
	s = b.fake.CreateSession("user_1")
	recent = b.fake.Token(s.ID, clerktest.IssuedAt(time.Now().Add(-4*time.Minute)))
	require.Equal(t, "token_expired", get(t, b.srv, both(b.sessionCookie(recent), b.refreshCookie(s))).reason)
	require.Zero(t, b.refreshCalls())
}

// Two genuine pairs of one session (a browser whose clerk-js renewed the
// token while a request with the older one was on its way) are refreshed
// one after the other, each with its own call and its own cookies: the
// second waits for the first instead of calling alongside it.
func TestRefreshOfAnotherPairWaitsThenCalls(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	s := b.fake.CreateSession("user_1")
	first := both(b.sessionCookie(b.fake.Token(s.ID, clerktest.Expired(), clerktest.V2())), b.refreshCookie(s))
	second := both(b.sessionCookie(b.fake.Token(s.ID, clerktest.Expired(), clerktest.V2())), b.refreshCookie(s))
	b.fake.SetFault(clerktest.RouteRefresh, clerktest.Fault{Latency: 300 * time.Millisecond})

	var wg sync.WaitGroup
	var r1, r2 reply
	wg.Go(func() { r1 = get(t, b.srv, first) })
	require.Eventually(t, func() bool { return b.refreshCalls() == 1 }, 10*time.Second, time.Millisecond)
	wg.Go(func() { r2 = get(t, b.srv, second) })
	wg.Wait()

	require.Equal(t, http.StatusOK, r1.status, r1.body)
	require.Equal(t, http.StatusOK, r2.status, r2.body)
	require.NotEqual(t, r1.header.Values("Set-Cookie"), r2.header.Values("Set-Cookie"), "each pair gets the cookies of its own call")
	require.Equal(t, 2, b.refreshCalls())
	require.Equal(t, clerkgate.RefreshStats{Calls: 2}, b.gate.Stats().Refresh)
}

func TestNewRefusesBadRefreshLimits(t *testing.T) {
	t.Parallel()
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	for name, mod := range map[string]func(*clerkgate.Config){
		"negative window":      func(c *clerkgate.Config) { c.Refresh.FailureWindow = -time.Second },
		"negative bound":       func(c *clerkgate.Config) { c.Refresh.MaxInFlight = -1 },
		"negative age":         func(c *clerkgate.Config) { c.Refresh.MaxExpiredTokenAge = -time.Second },
		"invalid proxy prefix": func(c *clerkgate.Config) { c.TrustedProxies = []netip.Prefix{{}} },
	} {
		cfg := clerkgate.Config{SecretKey: fake.SecretKey(), APIURL: fake.URL()}
		mod(&cfg)
		_, err := clerkgate.New(cfg)
		require.Error(t, err, name)
	}
}
