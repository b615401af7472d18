package redisstore_test

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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

// EnvRedisClusterAddrs names a running Redis Cluster for the tests, by the
// addresses of its nodes (host:port, comma-separated); .ci/run sets it.
// Without it, the tests start a cluster of their own from redis-server and
// redis-cli on PATH. The tests never skip: no cluster is a failure.
const EnvRedisClusterAddrs = "CLERKGATE_TEST_REDIS_CLUSTER_ADDRS"

// failoverNodeTimeout is how long a master of the failover test's cluster
// may be unreachable before its replica takes over: low, so that the test
// is quick, yet not so low that a loaded machine looks like a failure.
// Production clusters commonly use 5 to 15 s; the shared cluster, where
// nothing fails on purpose, uses 5 s.
const failoverNodeTimeout = 2 * time.Second

// redisCluster is a Redis Cluster this test binary started on loopback:
// three masters, each with one replica, made by redis-cli --cluster
// create, as an operator would.
type redisCluster struct {
	nodes []*redisServer
}

// launchCluster starts a cluster whose nodes keep their files under dir.
func launchCluster(dir string, nodeTimeout time.Duration) (*redisCluster, error) {
	if _, err := exec.LookPath("redis-cli"); err != nil {
		return nil, fmt.Errorf("redis-cli is not on PATH (Debian: apt-get install redis-server): %w", err)
	}
	rc := &redisCluster{}
	for i := range 6 {
		d := filepath.Join(dir, "node"+strconv.Itoa(i))
		if err := os.MkdirAll(d, 0o700); err != nil {
			rc.stop()
			return nil, err
		}
		node, err := launchRedis(d, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", strconv.FormatInt(nodeTimeout.Milliseconds(), 10))
		if err != nil {
			rc.stop()
			return nil, err
		}
		rc.nodes = append(rc.nodes, node)
	}
	args := append([]string{"--cluster", "create"}, strings.Split(rc.seeds(), ",")...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput(); err != nil {
		rc.stop()
		return nil, fmt.Errorf("redis-cli --cluster create: %w\n%s", err, out)
	}
	if err := rc.waitReady(time.Minute); err != nil {
		rc.stop()
		return nil, err
	}
	return rc, nil
}

// startCluster starts a cluster for one test, stopped when it ends.
func startCluster(t *testing.T, nodeTimeout time.Duration) *redisCluster {
	t.Helper()
	rc, err := launchCluster(t.TempDir(), nodeTimeout)
	require.NoErrorf(t, err, "this test kills and restarts nodes of a Redis Cluster of its own, made from redis-server and redis-cli on PATH whatever %s says", EnvRedisClusterAddrs)
	t.Cleanup(rc.stop)
	return rc
}

func (rc *redisCluster) stop() {
	for _, n := range rc.nodes {
		n.stop()
	}
}

func (rc *redisCluster) seeds() string {
	addrs := make([]string, len(rc.nodes))
	for i, n := range rc.nodes {
		addrs[i] = n.addr()
	}
	return strings.Join(addrs, ",")
}

func (r *redisServer) running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cmd != nil
}

// admin runs f on a client of node addr alone.
func admin[T any](addr string, f func(context.Context, *redis.Client) (T, error)) (T, error) {
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 500 * time.Millisecond})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return f(ctx, rdb)
}

// clusterOK tells whether the node at addr sees a healthy cluster whose
// slots are all served by masters in up (when up is not nil), each with a
// replica when replicated.
func clusterOK(addr string, up func(addr string) bool, replicated bool) error {
	info, err := admin(addr, func(ctx context.Context, rdb *redis.Client) (string, error) {
		return rdb.ClusterInfo(ctx).Result()
	})
	if err != nil {
		return err
	}
	if !strings.Contains(info, "cluster_state:ok") {
		return fmt.Errorf("%s: cluster state is not ok", addr)
	}
	slots, err := admin(addr, func(ctx context.Context, rdb *redis.Client) ([]redis.ClusterSlot, error) {
		return rdb.ClusterSlots(ctx).Result()
	})
	if err != nil {
		return err
	}
	covered := 0
	for _, s := range slots {
		if len(s.Nodes) == 0 || up != nil && !up(s.Nodes[0].Addr) {
			return fmt.Errorf("%s: slots %d-%d have no live master", addr, s.Start, s.End)
		}
		if replicated && len(s.Nodes) < 2 {
			return fmt.Errorf("%s: slots %d-%d have no replica", addr, s.Start, s.End)
		}
		covered += s.End - s.Start + 1
	}
	if covered != 16384 {
		return fmt.Errorf("%s: %d slots of 16384 are served", addr, covered)
	}
	return nil
}

// waitReady waits until every running node sees a healthy cluster served
// by running masters, with a replica each when every node runs.
func (rc *redisCluster) waitReady(within time.Duration) error {
	up := func(addr string) bool {
		for _, n := range rc.nodes {
			if n.addr() == addr {
				return n.running()
			}
		}
		return false
	}
	deadline := time.Now().Add(within)
	for {
		var err error
		all := !slices.ContainsFunc(rc.nodes, func(n *redisServer) bool { return !n.running() })
		for _, n := range rc.nodes {
			if n.running() {
				if err = clusterOK(n.addr(), up, all); err != nil {
					break
				}
			}
		}
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the cluster did not become ready: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// shard returns the master and the replica that serve key, as the
// running node asked first sees them.
func (rc *redisCluster) shard(t *testing.T, key string) (master, replica *redisServer) {
	t.Helper()
	for _, n := range rc.nodes {
		if !n.running() {
			continue
		}
		slot, err := admin(n.addr(), func(ctx context.Context, rdb *redis.Client) (int64, error) {
			return rdb.ClusterKeySlot(ctx, key).Result()
		})
		require.NoError(t, err)
		slots, err := admin(n.addr(), func(ctx context.Context, rdb *redis.Client) ([]redis.ClusterSlot, error) {
			return rdb.ClusterSlots(ctx).Result()
		})
		require.NoError(t, err)
		for _, s := range slots {
			if int64(s.Start) <= slot && slot <= int64(s.End) {
				master = rc.node(t, s.Nodes[0].Addr)
				if len(s.Nodes) > 1 {
					replica = rc.node(t, s.Nodes[1].Addr)
				}
				return master, replica
			}
		}
		t.Fatalf("no node serves slot %d", slot)
	}
	t.Fatal("no node of the cluster is running")
	return nil, nil
}

func (rc *redisCluster) node(t *testing.T, addr string) *redisServer {
	t.Helper()
	for _, n := range rc.nodes {
		if n.addr() == addr {
			return n
		}
	}
	t.Fatalf("%s is not a node of the cluster", addr)
	return nil
}

// waitMaster waits until every running node sees want serve key.
func (rc *redisCluster) waitMaster(t *testing.T, key string, want *redisServer, within time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool { return rc.masterIs(key, want) }, within, 20*time.Millisecond,
		"%s did not take over %s", want.addr(), key)
}

// masterIs tells whether every running node sees a healthy cluster in
// which want serves key.
func (rc *redisCluster) masterIs(key string, want *redisServer) bool {
	slot := keySlot(key)
	for _, n := range rc.nodes {
		if !n.running() {
			continue
		}
		if err := clusterOK(n.addr(), nil, false); err != nil {
			return false
		}
		slots, err := admin(n.addr(), func(ctx context.Context, rdb *redis.Client) ([]redis.ClusterSlot, error) {
			return rdb.ClusterSlots(ctx).Result()
		})
		if err != nil {
			return false
		}
		for _, s := range slots {
			if s.Start <= slot && slot <= s.End && s.Nodes[0].Addr != want.addr() {
				return false
			}
		}
	}
	return true
}

// sharedClust is the cluster the tests share when EnvRedisClusterAddrs is
// unset.
var sharedClust struct {
	once sync.Once
	rc   *redisCluster
	dir  string
	err  error
}

func stopSharedCluster() {
	if sharedClust.rc != nil {
		sharedClust.rc.stop()
	}
	if sharedClust.dir != "" {
		os.RemoveAll(sharedClust.dir)
	}
}

// sharedCluster is the Redis Cluster most cluster tests use: the one
// EnvRedisClusterAddrs names, which must be healthy, or else one started
// for this test binary (TestMain stops it).
func sharedCluster(t *testing.T) backend {
	t.Helper()
	if addrs := os.Getenv(EnvRedisClusterAddrs); addrs != "" {
		first, _, _ := strings.Cut(addrs, ",")
		require.NoErrorf(t, clusterOK(first, nil, false), "%s=%s does not answer as a healthy Redis Cluster", EnvRedisClusterAddrs, addrs)
		return backend{seeds: addrs}
	}
	sharedClust.once.Do(func() {
		sharedClust.dir, sharedClust.err = os.MkdirTemp("", "clerkgate-redis-cluster-")
		if sharedClust.err == nil {
			sharedClust.rc, sharedClust.err = launchCluster(sharedClust.dir, 5*time.Second)
		}
	})
	require.NoErrorf(t, sharedClust.err, "these tests need a real Redis Cluster: set %s=host:port,... to a running one, or put redis-server and redis-cli on PATH", EnvRedisClusterAddrs)
	return backend{seeds: sharedClust.rc.seeds()}
}

// revokedKey is the name of the app's revoked set and revocation channel,
// read from Redis.
func (c *app) revokedKey() string {
	c.t.Helper()
	c.waitSubscribed(10 * time.Second)
	chans, err := subscribers(context.Background(), c.redis.client(c.t), c.prefix+":*:revoked")
	require.NoError(c.t, err)
	require.Len(c.t, chans, 1)
	for ch := range chans {
		return ch
	}
	return ""
}

// outcomeKey is where the replicas share the outcome of refreshing
// expired with refreshToken: named by the digest the Gate derives from the
// pair (internal/refresh/seal.go), which no Redis reader can reverse.
func (c *app) outcomeKey(expired, refreshToken string) string {
	ikm := binary.BigEndian.AppendUint32(nil, uint32(len(expired)))
	ikm = append(append(ikm, expired...), refreshToken...)
	prk, err := hkdf.Extract(sha256.New, ikm, nil)
	require.NoError(c.t, err)
	name, err := hkdf.Expand(sha256.New, prk, "clerkgate refresh outcome name v2", 32)
	require.NoError(c.t, err)
	return c.prefix + ":" + c.instance() + ":refresh:{" + hex.EncodeToString(name) + "}"
}

// sessionOn creates sessions until one has its keys (the outcome of
// refreshing its expired token, and its failed refreshes) in slots.
func (c *app) sessionOn(slots slotSet) (clerktest.Session, string) {
	c.t.Helper()
	for range 1000 {
		s := c.fake.CreateSession("user_1")
		expired := c.fake.Token(s.ID, clerktest.Expired())
		if slots.has(c.outcomeKey(expired, s.RefreshToken)) && slots.has(c.failedKey(s.ID)) {
			return s, expired
		}
	}
	c.t.Fatal("no session with its keys in the slots")
	return clerktest.Session{}, ""
}

// slotSet is the slots a master serves.
type slotSet []redis.ClusterSlot

func (s slotSet) has(key string) bool {
	slot := keySlot(key)
	for _, r := range s {
		if r.Start <= slot && slot <= r.End {
			return true
		}
	}
	return false
}

// slotsOf returns the slots that master serves, as the first running node
// sees them.
func (rc *redisCluster) slotsOf(t *testing.T, master *redisServer) slotSet {
	t.Helper()
	for _, n := range rc.nodes {
		if n.running() {
			mine := slotMap(t, n.addr())[master.addr()]
			require.NotEmpty(t, mine, "%s serves no slot", master.addr())
			return mine
		}
	}
	t.Fatal("no node of the cluster is running")
	return nil
}

// slotMap returns the slots that each master serves, by its address, as
// the node at addr sees them.
func slotMap(t *testing.T, addr string) map[string]slotSet {
	t.Helper()
	slots, err := admin(addr, func(ctx context.Context, rdb *redis.Client) ([]redis.ClusterSlot, error) {
		return rdb.ClusterSlots(ctx).Result()
	})
	require.NoError(t, err)
	m := make(map[string]slotSet)
	for _, s := range slots {
		m[s.Nodes[0].Addr] = append(m[s.Nodes[0].Addr], s)
	}
	return m
}

// keySlot is the cluster slot of key: CRC16 (XMODEM) of its hash tag, or
// of the whole key when it has none, modulo 16384.
func keySlot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}

// refreshOnce sends n parallel requests with the session's expired token
// over replicas and requires one refresh call between them, and every
// request to pass.
func (c *app) refreshOnce(phase string, replicas []*replica, n int, s clerktest.Session, expired string) {
	c.t.Helper()
	before := c.refreshCalls()
	c.fake.SetFault(clerktest.RouteRefresh, clerktest.Fault{Latency: 200 * time.Millisecond})
	defer c.fake.ClearFaults()
	began := time.Now()
	replies := c.parallelRefresh(replicas, n, expired, s)
	c.requireAllRefreshed(replies)
	require.Equal(c.t, 1, c.refreshCalls()-before, "%s: one refresh call", phase)
	c.t.Logf("%s: %d parallel requests with one expired token over %d replica(s): 1 refresh call, all passed, in %s",
		phase, n, len(replicas), time.Since(began).Round(time.Millisecond))
}

// revokeOn revokes a new session through r, which refuses it at once, and
// returns a token of the session.
func (c *app) revokeOn(r *replica) string {
	c.t.Helper()
	s := c.fake.CreateSession("user_1")
	tok := c.fake.Token(s.ID, clerktest.ExpiresIn(10*time.Minute))
	_, err := r.gate.Sessions().Revoke(context.Background(), s.ID)
	require.NoError(c.t, err, "revoking never fails because Redis does")
	require.Equal(c.t, "session_revoked", c.get(r, bearer(tok)).reason, "the replica that revoked refuses at once")
	return tok
}

// waitRefused waits until every replica refuses tok, at most until
// within after began.
func (c *app) waitRefused(tok string, began time.Time, within time.Duration) {
	c.t.Helper()
	for _, r := range c.replicas {
		require.Eventually(c.t, func() bool { return c.get(r, bearer(tok)).reason == "session_revoked" },
			max(time.Until(began.Add(within)), time.Millisecond), time.Millisecond,
			"replica %s still accepts the revoked session", r.name)
	}
}

// steadyTraffic sends valid tokens to every replica in turn, one request
// at a time, until stop, which reports how many were sent and what failed.
func (c *app) steadyTraffic() (stop func() (sent int, failed []string)) {
	c.t.Helper()
	tokens := make([]string, 6)
	for i := range tokens {
		tokens[i] = c.fake.Token(c.fake.CreateSession("user_1").ID, clerktest.ExpiresIn(10*time.Minute))
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	var sent int
	var failed []string
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			r := c.replicas[i%len(c.replicas)]
			rep, err := c.try(r, bearer(tokens[i%len(tokens)]))
			sent++
			if err != nil || rep.status != 200 {
				failed = append(failed, fmt.Sprintf("replica %s: %d %s %v", r.name, rep.status, rep.body, err))
			}
			time.Sleep(time.Millisecond) // a steady flow, not a load test
		}
	})
	return func() (int, []string) {
		close(done)
		wg.Wait()
		return sent, failed
	}
}

// longLived makes valid tokens live ten minutes, so that none expires
// during a test.
func longLived(cfg *clerkgate.Config, _ *redisstore.Options) { cfg.MaxTokenLifetime = 10 * time.Minute }

// waitSubscribedIn waits until every replica listens to the app's shard
// channels on one of the running nodes of a shard: its master, or a
// replica, which the master passes the messages on to.
func (c *app) waitSubscribedIn(within time.Duration, shard ...*redisServer) {
	c.t.Helper()
	require.Eventually(c.t, func() bool {
		subscribed := map[string]int64{}
		for _, node := range shard {
			if !node.running() {
				continue
			}
			counts, err := admin(node.addr(), func(ctx context.Context, rdb *redis.Client) (map[string]int64, error) {
				chans, err := rdb.PubSubShardChannels(ctx, c.prefix+":*").Result()
				if err != nil || len(chans) == 0 {
					return nil, err
				}
				return rdb.PubSubShardNumSub(ctx, chans...).Result()
			})
			if err != nil {
				return false
			}
			for ch, n := range counts {
				subscribed[ch] += n
			}
		}
		if len(subscribed) < 2 {
			return false
		}
		for _, n := range subscribed {
			if n < int64(len(c.replicas)) {
				return false
			}
		}
		return true
	}, within, 10*time.Millisecond, "replicas did not all subscribe in the shard")
}
