package redisstore_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

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
	// This cluster's nodes are needed by name, so it is one of the test's
	// own; nothing is killed.
	rc := startCluster(t)
	c := newApp(t, backend{seeds: rc.seeds()}, 3, relaxed)
	c.waitSubscribed(10 * time.Second)
	for i, master := range rc.masters(t) {
		s, expired := c.sessionOn(rc, master)
		c.refreshOnce("keys on "+master.addr(), c.replicas, 30, s, expired)
		n, err := admin(master.addr(), func(ctx context.Context, node *redis.Client) (int64, error) {
			return node.Exists(ctx, c.outcomeKey(expired, s.RefreshToken)).Result()
		})
		require.NoError(t, err)
		require.EqualValues(t, 1, n, "the outcome is on %s", master.addr())

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
			master.addr(), from.name, time.Since(began).Round(100*time.Microsecond))
	}
}
