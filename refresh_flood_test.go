package clerkgate_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
	close(start)
	wg.Wait()
	for i, rep := range replies {
		requireRefreshRefused(t, rep, fmt.Sprint("junk pair ", i))
	}
	t.Logf("%d parallel requests with one genuine expired token and junk refresh cookies: %d refresh calls",
		floodRefreshRequests, b.refreshCalls())
	require.Equal(t, 1, b.refreshCalls(), "one call per session and failure window")
}
