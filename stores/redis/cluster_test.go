package redisstore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
	redisstore "github.com/clerkgate/clerkgate/stores/redis"
)

// The replicas of an app on a Redis Cluster, each with a client of its
// own, share through sharded pub/sub only: their channels are shard
// channels on the one master that owns the app's slot, and nothing is on
// the channels that a cluster broadcasts to every node. Both ways of
// configuring a cluster work: OpenCluster with a URL, and New with a
// client of the app's own.
func TestClusterUsesShardedPubSub(t *testing.T) {
	t.Parallel()
	be := sharedCluster(t)
	c := newApp(t, be, 0, relaxed, longLived)
	seeds := strings.Split(be.seeds, ",")
	url := "redis://" + seeds[0] + "?addr=" + strings.Join(seeds[1:], "&addr=")
	a := c.addReplicaOn("A", func(opts redisstore.Options) (*redisstore.Store, error) {
		return redisstore.OpenCluster(url, opts)
	})
	own := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: seeds, ContextTimeoutEnabled: true})
	t.Cleanup(func() { own.Close() })
	b := c.addReplicaOn("B", func(opts redisstore.Options) (*redisstore.Store, error) {
		return redisstore.New(own, opts)
	})
	c.waitSubscribed(10 * time.Second)

	ctx := context.Background()
	rdb := be.client(t).(*redis.ClusterClient)
	var holders []string
	require.NoError(t, rdb.ForEachShard(ctx, func(ctx context.Context, node *redis.Client) error {
		classic, err := node.PubSubChannels(ctx, c.prefix+":*").Result()
		if err != nil {
			return err
		}
		require.Empty(t, classic, "no channel that the cluster broadcasts to every node")
		sharded, err := node.PubSubShardChannels(ctx, c.prefix+":*").Result()
		if len(sharded) > 0 {
			holders = append(holders, node.Options().Addr)
		}
		return err
	}))
	require.Len(t, holders, 1, "the channels live on one node: %v", holders)
	master, err := rdb.MasterForKey(ctx, c.revokedKey())
	require.NoError(t, err)
	require.Equal(t, master.Options().Addr, holders[0], "the master that owns the revoked set")

	s := c.fake.CreateSession("user_1")
	c.refreshOnce("OpenCluster and New", []*replica{a, b}, 10, s, c.fake.Token(s.ID, clerktest.Expired()))
	began := time.Now()
	tok := c.revokeOn(b)
	c.waitRefused(tok, began, time.Second)
	t.Logf("logout through B enforced by A after %s", time.Since(began).Round(100*time.Microsecond))
}

// A session's keys live on one of the masters, by their hash tag. For a
// session on each master, 30 parallel requests with its expired token over
// three replicas make one refresh call and all pass, and a logout through
// one replica is enforced by the other two within a second.
func TestClusterSessionsOnEveryMaster(t *testing.T) {
	t.Parallel()
	be := sharedCluster(t)
	c := newApp(t, be, 3, relaxed)
	c.waitSubscribed(10 * time.Second)
	first, _, _ := strings.Cut(be.seeds, ",")
	masters := slotMap(t, first)
	require.Len(t, masters, 3, "three masters")
	i := -1
	for master, slots := range masters {
		i++
		s, expired := c.sessionOn(slots)
		c.refreshOnce("keys on "+master, c.replicas, 30, s, expired)
		n, err := admin(master, func(ctx context.Context, node *redis.Client) (int64, error) {
			return node.Exists(ctx, c.outcomeKey(expired, s.RefreshToken)).Result()
		})
		require.NoError(t, err)
		require.EqualValues(t, 1, n, "the outcome is on %s", master)

		from := c.replicas[i%3]
		tok := c.fake.Token(s.ID)
		for _, r := range c.replicas {
			require.Equal(t, http.StatusOK, c.get(r, bearer(tok)).status)
		}
		began := time.Now()
		_, err = from.gate.Sessions().Revoke(context.Background(), s.ID)
		require.NoError(t, err)
		c.waitRefused(tok, began, time.Second)
		t.Logf("session with its keys on %s: logout through %s enforced by every replica after %s (Clerk's call included)",
			master, from.name, time.Since(began).Round(100*time.Microsecond))
	}
}

// checkShared requires the replicas to share again: a refresh over all of
// them makes one call, and a logout through one is enforced by all within
// a second. The session's keys are in slots.
// settle waits, at most 10 s, until the replicas coordinate a refresh
// again after the cluster changed hands: a replica whose Redis calls
// failed skips Redis for a second, and a slot map is refreshed in the
// background, so the first refresh after a failover may still be made by
// two replicas (the README's "until then"). It reports how long it took.
func (c *app) settle(phase string, slots slotSet) time.Duration {
	c.t.Helper()
	began := time.Now()
	for {
		s, expired := c.sessionOn(slots)
		before := c.refreshCalls()
		replies := c.parallelRefresh(c.replicas, 6, expired, s)
		ok := c.refreshCalls()-before == 1
		for _, rep := range replies {
			ok = ok && rep.status == http.StatusOK
		}
		if ok {
			return time.Since(began)
		}
		require.Less(c.t, time.Since(began), 10*time.Second, "%s: the replicas do not coordinate refreshes again", phase)
		time.Sleep(200 * time.Millisecond)
	}
}

func (c *app) checkShared(phase string, slots slotSet) {
	c.t.Helper()
	s, expired := c.sessionOn(slots)
	c.refreshOnce(phase, c.replicas, 30, s, expired)
	began := time.Now()
	tok := c.revokeOn(c.replicas[0])
	c.waitRefused(tok, began, time.Second)
	c.t.Logf("%s: logout through %s enforced by every replica after %s", phase, c.replicas[0].name, time.Since(began).Round(100*time.Microsecond))
}

// Losing the master that holds the app's channels and revoked set, and
// the session's keys, first in a graceful failover (CLUSTER FAILOVER, as
// in maintenance), then in a crash, and finally every node restarting
// empty: no valid request is refused meanwhile, refreshes through one
// replica go on, and once the cluster serves again the replicas
// resubscribe on their own, share the revocations made meanwhile and
// coordinate again.
func TestClusterFailoverAndRestart(t *testing.T) {
	t.Parallel()
	rc := startCluster(t, failoverNodeTimeout)
	c := newApp(t, backend{seeds: rc.seeds()}, 3, outageTimeout, longLived)
	c.waitSubscribed(10 * time.Second)
	hub := c.revokedKey()
	master, standby := rc.shard(t, hub)
	require.NotNil(t, standby, "the master has a replica")
	// The session keys of every check are on the same slots as the hub.
	slots := rc.slotsOf(t, master)
	c.checkShared("before", slots)
	stop := c.steadyTraffic()

	// A graceful failover: the old master drops its subscribers.
	began := time.Now()
	_, err := admin(standby.addr(), func(ctx context.Context, rdb *redis.Client) (string, error) {
		return rdb.ClusterFailover(ctx).Result()
	})
	require.NoError(t, err)
	rc.waitMaster(t, hub, standby, 10*time.Second)
	t.Logf("graceful failover: %s promoted after %s", standby.addr(), time.Since(began).Round(time.Millisecond))
	c.waitSubscribedIn(5*time.Second, standby, master)
	t.Logf("graceful failover: every replica subscribed in the shard after %s", time.Since(began).Round(time.Millisecond))
	// A revocation made while the shard changes hands may miss the
	// subscriptions; the replicas read the set again a second after they
	// resubscribe. Once one made now is seen everywhere, sharing is back.
	c.waitRefused(c.revokeOn(c.replicas[0]), time.Now(), 5*time.Second)
	t.Logf("graceful failover: a revocation is seen by every replica again %s after it began", time.Since(began).Round(time.Millisecond))
	t.Logf("graceful failover: refreshes coordinated again after %s more", c.settle("after a graceful failover", slots).Round(time.Millisecond))
	c.checkShared("after a graceful failover", slots)
	t.Logf("graceful failover: the replicas share again %s after it began", time.Since(began).Round(time.Millisecond))

	// A crash of the new master.
	master, standby = standby, master
	began = time.Now()
	master.kill()
	promotion := make(chan time.Time, 1)
	go func() {
		for time.Since(began) < time.Minute && !rc.masterIs(hub, standby) {
			time.Sleep(20 * time.Millisecond)
		}
		promotion <- time.Now()
	}()
	// Meanwhile each replica refreshes on its own, and a revocation
	// waits to be shared.
	for _, r := range c.replicas {
		s, expired := c.sessionOn(slots)
		c.refreshOnce("master down, replica "+r.name+" alone", []*replica{r}, 5, s, expired)
	}
	during := c.revokeOn(c.replicas[0])
	lastCall := time.Now() // the replicas call Redis no more until checkShared
	promoted := <-promotion
	require.True(t, rc.masterIs(hub, standby), "%s did not take over within a minute", standby.addr())
	// What the README states: sharing resumes within a few seconds of the
	// promotion. A replica whose calls failed skips Redis for a second
	// after the last failure, which came before the promotion at the
	// latest.
	c.waitSubscribedIn(5*time.Second, standby, master)
	resubscribed := time.Since(promoted)
	c.waitRefused(during, promoted, 5*time.Second)
	lastFailure := lastCall
	if promoted.Before(lastFailure) {
		lastFailure = promoted
	}
	time.Sleep(time.Until(lastFailure.Add(time.Second)))
	t.Logf("crash: refreshes coordinated again after %s more", c.settle("after a crash", slots).Round(time.Millisecond))
	c.checkShared("after a crash", slots)
	t.Logf("crash: %s promoted %s after the master died (cluster-node-timeout %s); then every replica resubscribed within %s, the revocation made meanwhile was enforced everywhere, and the replicas shared again %s after the promotion, %s after the master died",
		standby.addr(), promoted.Sub(began).Round(time.Millisecond), failoverNodeTimeout, resubscribed.Round(time.Millisecond),
		time.Since(promoted).Round(time.Millisecond), time.Since(began).Round(time.Millisecond))

	// The crashed node comes back as a replica.
	require.NoError(t, master.start())
	require.NoError(t, rc.waitReady(time.Minute))

	// Every node restarts, empty.
	for _, n := range rc.nodes {
		n.kill()
	}
	for _, r := range c.replicas {
		s := c.fake.CreateSession("user_1")
		c.refreshOnce("cluster down, replica "+r.name+" alone", []*replica{r}, 5, s, c.fake.Token(s.ID, clerktest.Expired()))
	}
	during = c.revokeOn(c.replicas[0])
	require.Equal(t, http.StatusOK, c.get(c.replicas[1], bearer(during)).status, "B cannot know yet")
	began = time.Now()
	for _, n := range rc.nodes {
		require.NoError(t, n.start())
	}
	require.NoError(t, rc.waitReady(time.Minute))
	ready := time.Since(began)
	c.waitSubscribed(20 * time.Second)
	resubscribed = time.Since(began)
	c.waitRefused(during, time.Now(), 5*time.Second)
	t.Logf("restart: cluster ready after %s, every replica subscribed after %s, the revocation made while it was down enforced everywhere after %s",
		ready.Round(time.Millisecond), resubscribed.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	master, _ = rc.shard(t, hub)
	c.settle("after the restart", rc.slotsOf(t, master))
	c.checkShared("after the restart", rc.slotsOf(t, master))

	sent, failed := stop()
	require.Empty(t, failed, "valid requests refused during the failovers and the restart")
	t.Logf("%d valid requests during the failovers and the restart: none refused", sent)
	for _, r := range c.replicas {
		require.Contains(t, r.logs.String(), "Redis unavailable", "replica %s logs the outage", r.name)
		require.Contains(t, r.logs.String(), "reachable again", "replica %s logs the recovery", r.name)
	}
}

func TestOpenCluster(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "127.0.0.1", "127.0.0.1:7000,", "127.0.0.1:7000,nohost", "http://127.0.0.1:7000", "redis://127.0.0.1:7000?nonsense=1"} {
		_, err := redisstore.OpenCluster(bad, redisstore.Options{})
		require.Error(t, err, "%q", bad)
	}
	_, err := redisstore.OpenCluster("127.0.0.1:7000", redisstore.Options{Prefix: "{a}"})
	require.ErrorContains(t, err, "prefix")
	unbounded := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	defer unbounded.Close()
	_, err = redisstore.New(unbounded, redisstore.Options{})
	require.ErrorContains(t, err, "ContextTimeoutEnabled")

	// Like Open, OpenCluster does not wait for the cluster: a replica
	// starts, and serves valid tokens, while no node answers.
	fake := clerktest.New()
	defer fake.Close()
	for _, seeds := range []string{"127.0.0.1:1, 127.0.0.1:2", "redis://127.0.0.1:1?addr=127.0.0.1:2"} {
		store, err := redisstore.OpenCluster(seeds, redisstore.Options{Timeout: 100 * time.Millisecond})
		require.NoError(t, err)
		g, err := clerkgate.New(clerkgate.Config{SecretKey: fake.SecretKey(), PublishableKey: fake.PublishableKey(), APIURL: fake.URL(), Store: store})
		require.NoError(t, err)
		srv := httptest.NewServer(g.Accept(clerkgate.SessionToken).Require(whoami))
		req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+fake.Token(fake.CreateSession("user_1").ID))
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode)
		srv.Close()
		require.NoError(t, g.Close())
	}
}
