package redisstore_test

import (
	"context"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
	redisstore "github.com/clerkgate/clerkgate/stores/redis"
)

const (
	// relaxed is the Redis timeout of tests that do not make Redis fail:
	// generous, so that a loaded CI machine does not look like an outage.
	relaxed = 2 * time.Second
	// outageTimeout is the Redis timeout of the test that does.
	outageTimeout = 300 * time.Millisecond
)

// parallelRefresh sends n requests carrying one expired token at once,
// spread round-robin over the replicas, and returns their replies.
func (c *app) parallelRefresh(replicas []*replica, n int, expired string, s clerktest.Session) []reply {
	replies := make([]reply, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			replies[i] = c.get(replicas[i%len(replicas)], c.sessionCookie(expired), c.refreshCookie(s))
		})
	}
	close(start)
	wg.Wait()
	return replies
}

func (c *app) requireAllRefreshed(replies []reply) {
	c.t.Helper()
	var tokens []string
	for i, rep := range replies {
		require.Equal(c.t, http.StatusOK, rep.status, "request %d: %s", i, rep.body)
		require.Equal(c.t, "user_1", rep.body)
		tok := c.newSessionToken(rep.cookies)
		require.NotEmpty(c.t, tok, "request %d carries the new session cookie", i)
		tokens = append(tokens, tok)
	}
	slices.Sort(tokens)
	require.Len(c.t, slices.Compact(tokens), 1, "every request got the cookies of the one refresh")
}

// Parallel requests with one expired token, spread over three replicas,
// make one refresh call between them, and every one succeeds.
func TestReplicasShareOneRefresh(t *testing.T) {
	t.Parallel()
	onEveryBackend(t, func(t *testing.T, be backend) {
		c := newApp(t, be, 3, relaxed)
		c.waitSubscribed(5 * time.Second)
		s := c.fake.CreateSession("user_1")
		expired := c.fake.Token(s.ID, clerktest.Expired())
		// Latency keeps the one call in flight while every request arrives.
		c.fake.SetFault(clerktest.RouteRefresh, clerktest.Fault{Latency: 300 * time.Millisecond})

		const n = 30
		began := time.Now()
		replies := c.parallelRefresh(c.replicas, n, expired, s)
		took := time.Since(began)
		c.requireAllRefreshed(replies)
		require.Equal(t, 1, c.refreshCalls(), "one refresh call across the replicas")
		t.Logf("%d parallel requests with one expired token over %d replicas: %d refresh call, %d/%d succeeded, in %s",
			n, len(c.replicas), c.refreshCalls(), n, n, took.Round(time.Millisecond))

		// Stragglers on every replica, and on a replica that joined later
		// (nothing of it in memory), reuse the outcome.
		late := c.addReplica("D")
		for _, r := range c.replicas {
			rep := c.get(r, c.sessionCookie(expired), c.refreshCookie(s))
			require.Equal(t, http.StatusOK, rep.status, "%s: %s", r.name, rep.body)
			require.NotEmpty(t, c.newSessionToken(rep.cookies))
		}
		require.Equal(t, 1, c.refreshCalls())
		require.Equal(t, http.StatusOK, c.get(late, c.sessionCookie(expired), c.refreshCookie(s)).status)
	})
}

// A refresh that fails is published too: the replicas waiting for it
// answer at once with Clerk's reason instead of waiting out their bound.
func TestReplicasShareAFailedRefresh(t *testing.T) {
	t.Parallel()
	onEveryBackend(t, func(t *testing.T, be backend) {
		c := newApp(t, be, 3, relaxed)
		c.waitSubscribed(5 * time.Second)
		s := c.fake.CreateSession("user_1")
		expired := c.fake.Token(s.ID, clerktest.Expired())
		c.fake.SetFault(clerktest.RouteRefresh, clerktest.Fault{Latency: 300 * time.Millisecond, Status: http.StatusUnauthorized, Code: "session_refresh_inactive_session"})

		began := time.Now()
		replies := c.parallelRefresh(c.replicas, 12, expired, s)
		took := time.Since(began)
		for i, rep := range replies {
			require.Equal(t, http.StatusUnauthorized, rep.status, "request %d", i)
			require.Equal(t, "refresh_failed", rep.reason)
			require.Contains(t, rep.body, "session_refresh_inactive_session")
			require.Empty(t, rep.cookies)
		}
		require.Equal(t, 1, c.refreshCalls())
		require.Less(t, took, 3*time.Second, "waiters learn of the failure, they do not wait for the 5 s bound")
	})
}

// A logout on one replica is enforced by the others within a second, with
// no Redis call on their request path; a replica started afterwards loads
// it.
func TestRevocationReachesEveryReplica(t *testing.T) {
	t.Parallel()
	onEveryBackend(t, func(t *testing.T, be backend) {
		c := newApp(t, be, 3, relaxed)
		c.waitSubscribed(5 * time.Second)

		const rounds = 10
		var worst time.Duration
		var lat []time.Duration
		var revoked []string
		for i := range rounds {
			a := c.replicas[i%3]
			others := []*replica{c.replicas[(i+1)%3], c.replicas[(i+2)%3]}
			s := c.fake.CreateSession("user_1")
			tok := c.fake.Token(s.ID)
			for _, r := range c.replicas {
				require.Equal(t, http.StatusOK, c.get(r, bearer(tok)).status)
			}
			began := time.Now()
			_, err := a.gate.Sessions().Revoke(context.Background(), s.ID)
			require.NoError(t, err)
			require.Equal(t, "session_revoked", c.get(a, bearer(tok)).reason, "at once on the replica that revoked")
			for _, b := range others {
				for {
					rep := c.get(b, bearer(tok))
					if rep.reason == "session_revoked" {
						break
					}
					require.Equal(t, http.StatusOK, rep.status)
					// A guard against waiting forever, not a latency bound:
					// lat, below, is what the test reports.
					require.Less(t, time.Since(began), 15*time.Second, "replica %s still accepts a session revoked on %s", b.name, a.name)
					time.Sleep(time.Millisecond)
				}
				d := time.Since(began)
				lat = append(lat, d)
				worst = max(worst, d)
			}
			revoked = append(revoked, tok)
		}
		slices.Sort(lat)
		t.Logf("logout on one replica enforced by the other two: median %s, worst %s over %d measurements (from the start of Sessions().Revoke, Clerk's call included)",
			lat[len(lat)/2].Round(100*time.Microsecond), worst.Round(100*time.Microsecond), len(lat))
		require.Less(t, worst, time.Second)

		// Other sessions are unaffected.
		other := c.fake.Token(c.fake.CreateSession("user_1").ID)
		for _, r := range c.replicas {
			require.Equal(t, http.StatusOK, c.get(r, bearer(other)).status)
		}

		// A replica that starts now loads the revocations in force.
		late := c.addReplica("D")
		require.Eventually(t, func() bool {
			for _, tok := range revoked {
				if c.get(late, bearer(tok)).reason != "session_revoked" {
					return false
				}
			}
			return true
		}, 3*time.Second, 10*time.Millisecond)
	})
}

// What a Redis reader sees: digests, sealed bytes and revoked session ids,
// never a token or a cookie; and what a Redis writer can do with an
// outcome: break it, not forge it.
func TestWhatRedisHolds(t *testing.T) {
	t.Parallel()
	onEveryBackend(t, func(t *testing.T, be backend) {
		c := newApp(t, be, 2, relaxed)
		c.waitSubscribed(5 * time.Second)
		a, b := c.replicas[0], c.replicas[1]
		s := c.fake.CreateSession("user_1")
		expired := c.fake.Token(s.ID, clerktest.Expired())
		rep := c.get(a, c.sessionCookie(expired), c.refreshCookie(s))
		require.Equal(t, http.StatusOK, rep.status, rep.body)
		newToken := c.newSessionToken(rep.cookies)
		gone := c.fake.CreateSession("user_1")
		_, err := a.gate.Sessions().Revoke(context.Background(), gone.ID)
		require.NoError(t, err)

		rdb := be.client(t)
		ctx := context.Background()
		keys, err := keysMatching(ctx, rdb, c.prefix+":*")
		require.NoError(t, err)
		require.Len(t, keys, 2, "one outcome (its claim is gone) and the revoked set: %v", keys)
		secrets := append([]string{expired, newToken, s.RefreshToken, "__session", "__client_uat"},
			append(strings.Split(expired, "."), strings.Split(newToken, ".")...)...)
		for _, k := range keys {
			for _, secret := range secrets {
				require.NotContains(t, k, secret)
			}
			switch typ := rdb.Type(ctx, k).Val(); typ {
			case "string":
				require.Regexp(t, `^clerkgate-test-[0-9a-z]+:[0-9a-f]{16}:refresh:\{[0-9a-f]{64}\}$`, k)
				v := rdb.Get(ctx, k).Val()
				for _, secret := range secrets {
					require.NotContains(t, v, secret)
				}
				ttl := rdb.PTTL(ctx, k).Val()
				require.Greater(t, ttl, 50*time.Second, "kept for the new token's lifetime (60 s)")
				require.LessOrEqual(t, ttl, 60*time.Second)
				t.Logf("%s  string, %d bytes, ttl %s", k, len(v), ttl.Round(time.Second))
			case "zset":
				require.Regexp(t, `^clerkgate-test-[0-9a-z]+:\{[0-9a-f]{16}\}:revoked$`, k)
				members := rdb.ZRange(ctx, k, 0, -1).Val()
				require.Equal(t, []string{gone.ID}, members)
				ttl := rdb.PTTL(ctx, k).Val()
				require.Greater(t, ttl, 65*time.Second, "kept for the token lifetime plus twice the skew (70 s)")
				require.LessOrEqual(t, ttl, 70*time.Second)
				t.Logf("%s  zset %v, ttl %s", k, members, ttl.Round(time.Second))
			default:
				t.Fatalf("unexpected %s key %s", typ, k)
			}
		}

		// A writer who alters the outcome breaks the refresh for a replica that
		// reads it from Redis; it cannot make it accept anything.
		for _, k := range keys {
			if strings.Contains(k, ":refresh:") {
				v := []byte(rdb.Get(ctx, k).Val())
				v[len(v)-1] ^= 1
				require.NoError(t, rdb.Set(ctx, k, v, time.Minute).Err())
			}
		}
		rep = c.get(b, c.sessionCookie(expired), c.refreshCookie(s))
		require.Equal(t, http.StatusUnauthorized, rep.status)
		require.Equal(t, "refresh_failed", rep.reason)
		require.Empty(t, rep.cookies)
		require.Equal(t, 1, c.refreshCalls())
	})
}

// Redis freezing, then dying, never fails a valid request: each replica
// goes on alone. When Redis is back, the replicas share again, including
// the revocations made meanwhile.
func TestRedisOutageAndRecovery(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	// Valid tokens live ten minutes, so that none expires during the test.
	c := newApp(t, backend{url: srv.url()}, 2, outageTimeout, func(cfg *clerkgate.Config, _ *redisstore.Options) { cfg.MaxTokenLifetime = 10 * time.Minute })
	c.waitSubscribed(5 * time.Second)
	a, b := c.replicas[0], c.replicas[1]

	valid := make([]string, 6)
	for i := range valid {
		valid[i] = c.fake.Token(c.fake.CreateSession("user_1").ID, clerktest.ExpiresIn(10*time.Minute))
	}
	// checkValid sends valid tokens to both replicas: all must pass, and
	// without waiting on Redis (a frozen Redis would cost each request
	// the store's timeout).
	checkValid := func(phase string) {
		t.Helper()
		var took []time.Duration
		for round := range 5 {
			for i, tok := range valid {
				r := c.replicas[(round+i)%2]
				began := time.Now()
				rep := c.get(r, bearer(tok))
				took = append(took, time.Since(began))
				require.Equal(t, http.StatusOK, rep.status, "%s: replica %s: %s", phase, r.name, rep.body)
			}
		}
		slices.Sort(took)
		median := took[len(took)/2]
		t.Logf("%s: %d valid requests all passed, median %s, slowest %s", phase, len(took),
			median.Round(10*time.Microsecond), took[len(took)-1].Round(10*time.Microsecond))
		require.Less(t, median, 100*time.Millisecond, "%s: valid requests waited on Redis", phase)
	}
	// Ordinary requests make no Redis call: count what Redis processed,
	// on one connection so that its handshake is counted once, before.
	counter := redis.NewClient(&redis.Options{Addr: srv.addr(), PoolSize: 1})
	defer counter.Close()
	processed := func() int64 {
		info, err := counter.Info(context.Background(), "stats").Result()
		if err != nil {
			return -1
		}
		_, after, _ := strings.Cut(info, "total_commands_processed:")
		field, _, _ := strings.Cut(after, "\r\n")
		n, err := strconv.ParseInt(strings.TrimSpace(field), 10, 64)
		if err != nil {
			return -1
		}
		return n
	}
	checkValid("warm-up")
	// Let the replicas finish what they do on subscribing.
	before := processed()
	require.Eventually(t, func() bool {
		n := processed()
		quiet := n >= 0 && n-before <= 1 // the INFO itself
		before = n
		return quiet
	}, 5*time.Second, 100*time.Millisecond)
	before = processed()
	require.GreaterOrEqual(t, before, int64(0))
	checkValid("redis up")
	// The INFO call itself counts once; health-check pings may add one
	// per replica.
	delta := processed() - before - 1
	t.Logf("redis up: Redis processed %d commands during %d valid requests", delta, 5*len(valid))
	require.LessOrEqual(t, delta, int64(len(c.replicas)), "ordinary requests must not call Redis")
	refreshOn := func(phase string, rs []*replica, n int) {
		t.Helper()
		s := c.fake.CreateSession("user_1")
		expired := c.fake.Token(s.ID, clerktest.Expired())
		before := c.refreshCalls()
		c.fake.SetFault(clerktest.RouteRefresh, clerktest.Fault{Latency: 200 * time.Millisecond})
		began := time.Now()
		replies := c.parallelRefresh(rs, n, expired, s)
		c.fake.ClearFaults()
		c.requireAllRefreshed(replies)
		require.Equal(t, 1, c.refreshCalls()-before, "%s: one refresh call", phase)
		t.Logf("%s: %d parallel requests with one expired token over %d replica(s): 1 refresh call, all passed in %s",
			phase, n, len(rs), time.Since(began).Round(time.Millisecond))
	}
	revokeOn := func(r *replica) string {
		t.Helper()
		s := c.fake.CreateSession("user_1")
		tok := c.fake.Token(s.ID, clerktest.ExpiresIn(10*time.Minute))
		_, err := r.gate.Sessions().Revoke(context.Background(), s.ID)
		require.NoError(t, err, "revoking never fails because Redis does")
		require.Equal(t, "session_revoked", c.get(r, bearer(tok)).reason, "the replica that revoked refuses at once")
		return tok
	}
	refusedBy := func(r *replica, tok string, within time.Duration) time.Duration {
		t.Helper()
		began := time.Now()
		require.Eventually(t, func() bool { return c.get(r, bearer(tok)).reason == "session_revoked" }, within, 5*time.Millisecond,
			"replica %s still accepts the revoked session", r.name)
		return time.Since(began)
	}

	refreshOn("redis up", c.replicas, 10)
	refusedBy(b, revokeOn(a), time.Second)

	// Frozen: connections hang, every call runs into its timeout.
	require.NoError(t, srv.pause())
	checkValid("redis frozen")
	refreshOn("redis frozen", []*replica{a}, 10)
	revokeOn(a)

	// Dead: connections are refused.
	srv.kill()
	checkValid("redis killed")
	refreshOn("redis killed", []*replica{b}, 10)
	refreshOn("redis killed", []*replica{a}, 10)
	duringOutage := revokeOn(a)
	require.Equal(t, http.StatusOK, c.get(b, bearer(duringOutage)).status, "B cannot know yet")
	for _, r := range c.replicas {
		require.Contains(t, r.logs.String(), "Redis unavailable", "replica %s logs the outage", r.name)
	}

	// Back: the replicas resubscribe, share what they missed, and share
	// again.
	restarted := time.Now()
	require.NoError(t, srv.start())
	c.waitSubscribed(10 * time.Second)
	t.Logf("redis restarted: both replicas resubscribed after %s", time.Since(restarted).Round(time.Millisecond))
	d := refusedBy(b, duringOutage, 5*time.Second)
	t.Logf("revocation made during the outage reached the other replica %s after its resubscription", d.Round(time.Millisecond))
	began := time.Now()
	tok := revokeOn(a)
	refusedBy(b, tok, time.Second)
	t.Logf("redis back: a new revocation reached the other replica in %s", time.Since(began).Round(time.Millisecond))
	refreshOn("redis back", c.replicas, 10)
	checkValid("redis back")
	require.Eventually(t, func() bool {
		return strings.Contains(a.logs.String(), "reachable again") && strings.Contains(b.logs.String(), "reachable again")
	}, 3*time.Second, 10*time.Millisecond)
}

func TestOpenAndNew(t *testing.T) {
	t.Parallel()
	_, err := redisstore.Open("http://nope", redisstore.Options{})
	require.Error(t, err)
	_, err = redisstore.Open("redis://127.0.0.1:1/0", redisstore.Options{Prefix: "a b"})
	require.ErrorContains(t, err, "prefix")

	unbounded := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer unbounded.Close()
	_, err = redisstore.New(unbounded, redisstore.Options{})
	require.ErrorContains(t, err, "ContextTimeoutEnabled")

	// A ring's shards share neither keys nor pub/sub: refused, however
	// well its calls are bounded, and left open for its owner.
	ringOpts, err := redis.ParseURL(sharedRedis(t).url)
	require.NoError(t, err)
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": ringOpts.Addr}, ContextTimeoutEnabled: true})
	defer ring.Close()
	_, err = redisstore.New(ring, redisstore.Options{})
	require.ErrorContains(t, err, "*redis.Ring is not supported")
	require.NoError(t, ring.Ping(t.Context()).Err(), "New closed a client it does not own")

	// Start does not wait for Redis: a replica starts, and serves, while
	// Redis is down.
	fake := clerktest.New()
	defer fake.Close()
	// A Redis that accepts connections and never answers, with a one-minute
	// timeout per call: a New that waited for it would wait the minute.
	silent, hangUp := silentServer(t)
	store, err := redisstore.Open("redis://"+silent+"/0", redisstore.Options{Timeout: time.Minute})
	require.NoError(t, err)
	began := time.Now()
	g, err := clerkgate.New(clerkgate.Config{SecretKey: fake.SecretKey(), PublishableKey: fake.PublishableKey(), APIURL: fake.URL(), Store: store})
	require.NoError(t, err)
	require.Less(t, time.Since(began), 10*time.Second, "New must not wait out the one-minute Redis timeout")
	hangUp() // now as if Redis were down: calls fail at once
	_, err = clerkgate.New(clerkgate.Config{SecretKey: fake.SecretKey(), APIURL: fake.URL(), Store: store})
	require.ErrorContains(t, err, "already serves a Gate")
	require.NoError(t, g.Close())
	require.NoError(t, g.Close())
	require.NoError(t, store.Close())
}

// silentServer accepts TCP connections and never answers on them, until
// hangUp closes them all and stops listening.
func silentServer(t *testing.T) (addr string, hangUp func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		mu    sync.Mutex
		conns []net.Conn
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
	}()
	var once sync.Once
	hangUp = func() {
		once.Do(func() {
			ln.Close()
			<-done
			mu.Lock()
			defer mu.Unlock()
			for _, c := range conns {
				c.Close()
			}
		})
	}
	t.Cleanup(hangUp)
	return ln.Addr().String(), hangUp
}

// A revocation that Redis missed while it took no writes, though it kept
// the subscriptions, is shared once it takes them again: no resubscription
// comes to do it. (On a cluster, this is a subscription on a replica while
// its master fails.)
func TestRevocationSharedOnceRedisTakesWritesAgain(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	// A second bounds each call: A's revocation fails within the pause,
	// and no subscription mistakes a loaded machine for an outage.
	c := newApp(t, backend{url: srv.url()}, 2, time.Second, longLived)
	c.waitSubscribed(5 * time.Second)
	a, b := c.replicas[0], c.replicas[1]
	loadedOnce := func() bool {
		return a.store.RevocationStats().Reloads == 1 && b.store.RevocationStats().Reloads == 1
	}
	require.Eventually(t, loadedOnce, 5*time.Second, 5*time.Millisecond, "each replica loaded the revoked set once, when it subscribed")

	_, err := admin(srv.addr(), func(ctx context.Context, rdb *redis.Client) (string, error) {
		return rdb.Do(ctx, "CLIENT", "PAUSE", "3000", "WRITE").Text()
	})
	require.NoError(t, err)
	tok := c.revokeOn(a)
	require.Equal(t, http.StatusOK, c.get(b, bearer(tok)).status, "B cannot know yet")
	require.Contains(t, a.logs.String(), "share a revocation", "A's call failed")

	began := time.Now()
	c.waitRefused(tok, began, 10*time.Second)
	t.Logf("the revocation reached B %s after A made it, Redis taking no writes for 3 s", time.Since(began).Round(time.Millisecond))
	require.True(t, loadedOnce(), "shared by a message, with no resubscription")
}
