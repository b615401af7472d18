package redisstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/clerktest"
)

func (c *app) junkRefreshCookie(i int) func(*http.Request) {
	return func(r *http.Request) {
		r.AddCookie(&http.Cookie{Name: "__refresh_" + c.fake.CookieSuffix(), Value: fmt.Sprintf("junk-%d", i)})
	}
}

func (c *app) requireRefused(rep reply, what string) {
	c.t.Helper()
	require.Equal(c.t, http.StatusUnauthorized, rep.status, "%s: %s", what, rep.body)
	require.Equal(c.t, "refresh_failed", rep.reason, what)
	require.Empty(c.t, rep.cookies, what)
}

// failedKey is where a Gate records a session's failed refresh: a digest
// of the session id, never the id.
func (c *app) failedKey(sessionID string) string {
	sum := sha256.Sum256([]byte("clerkgate refresh session\x00" + sessionID))
	return c.prefix + ":" + c.instance() + ":refresh-failed:{" + hex.EncodeToString(sum[:]) + "}"
}

// instance is the instance part of the app's keys, read from the name
// of its revocation channel.
func (c *app) instance() string {
	if c.inst != "" {
		return c.inst
	}
	c.waitSubscribed(5 * time.Second)
	chans, err := subscribers(context.Background(), c.redis.client(c.t), c.prefix+":*:revoked")
	require.NoError(c.t, err)
	for ch := range chans {
		if _, tagged, ok := strings.Cut(ch, ":{"); ok {
			c.inst, _, _ = strings.Cut(tagged, "}")
			return c.inst
		}
	}
	c.t.Fatalf("the app has no revocation channel: %v", chans)
	return ""
}

// A session's failed refresh is shared: once a junk pair failed on one
// replica, the session's other junk pairs are refused by every replica
// without a call, and Redis holds the failure under a digest, for the
// failure window.
func TestReplicasShareAFailureWindow(t *testing.T) {
	t.Parallel()
	onEveryBackend(t, func(t *testing.T, be backend) {
		c := newApp(t, be, 2, relaxed)
		c.waitSubscribed(5 * time.Second)
		a, b := c.replicas[0], c.replicas[1]
		s := c.fake.CreateSession("user_attacker")
		expired := c.fake.Token(s.ID, clerktest.Expired())

		c.requireRefused(c.get(a, c.sessionCookie(expired), c.junkRefreshCookie(0)), "first junk pair")
		require.Equal(t, 1, c.refreshCalls())
		for i := 1; i <= 30; i++ {
			c.requireRefused(c.get(c.replicas[i%2], c.sessionCookie(expired), c.junkRefreshCookie(i)), fmt.Sprint("junk pair ", i))
		}
		require.Equal(t, 1, c.refreshCalls(), "the other replica learned of the failure")
		require.Equal(t, uint64(1), a.gate.Stats().Refresh.Calls+b.gate.Stats().Refresh.Calls)

		rdb := c.redis.client(c.t)
		key := c.failedKey(s.ID)
		ttl := rdb.PTTL(context.Background(), key).Val()
		require.Positive(t, ttl, "the failure is in Redis under a digest of the session id")
		require.LessOrEqual(t, ttl, 10*time.Second, "for the failure window")
		require.NotContains(t, rdb.Get(context.Background(), key).Val(), s.ID)
	})
}

// Parallel junk pairs spread over the replicas: at most one call per
// replica, since each replica's first call is in flight before any
// failure is known.
func TestReplicasRefreshFloodParallel(t *testing.T) {
	t.Parallel()
	onEveryBackend(t, func(t *testing.T, be backend) {
		c := newApp(t, be, 2, relaxed)
		c.waitSubscribed(5 * time.Second)
		s := c.fake.CreateSession("user_attacker")
		expired := c.fake.Token(s.ID, clerktest.Expired())
		c.fake.SetFault(clerktest.RouteRefresh, clerktest.Fault{Latency: 300 * time.Millisecond})

		const n = 60
		replies := make([]reply, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				replies[i] = c.get(c.replicas[i%2], c.sessionCookie(expired), c.junkRefreshCookie(i))
			})
		}
		close(start)
		wg.Wait()
		for i, rep := range replies {
			c.requireRefused(rep, fmt.Sprint("junk pair ", i))
		}
		t.Logf("%d parallel junk pairs for one session over %d replicas: %d refresh calls", n, len(c.replicas), c.refreshCalls())
		require.LessOrEqual(t, c.refreshCalls(), len(c.replicas))
	})
}

// A Redis writer can hold back a session's server-side refreshes (the
// browser's clerk-js renews its token itself), and nothing more: the
// replicas answer refresh_failed without calling Clerk.
func TestRedisWriterCanOnlyHoldBackRefreshes(t *testing.T) {
	t.Parallel()
	onEveryBackend(t, func(t *testing.T, be backend) {
		c := newApp(t, be, 1, relaxed)
		c.waitSubscribed(5 * time.Second)
		a := c.replicas[0]
		// Something of the app must be in Redis to learn the instance name.
		_, err := a.gate.Sessions().Revoke(context.Background(), c.fake.CreateSession("user_2").ID)
		require.NoError(t, err)

		s := c.fake.CreateSession("user_1")
		require.NoError(t, c.redis.client(c.t).Set(context.Background(), c.failedKey(s.ID), "1", time.Hour).Err())
		c.requireRefused(c.get(a, c.sessionCookie(c.fake.Token(s.ID, clerktest.Expired())), c.refreshCookie(s)), "genuine pair of a held-back session")
		require.Zero(t, c.refreshCalls())

		other := c.fake.CreateSession("user_1")
		rep := c.get(a, c.sessionCookie(c.fake.Token(other.ID, clerktest.Expired())), c.refreshCookie(other))
		require.Equal(t, http.StatusOK, rep.status, rep.body)
	})
}
