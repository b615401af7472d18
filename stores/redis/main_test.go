package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
	redisstore "github.com/clerkgate/clerkgate/stores/redis"
)

// EnvRedisAddr names a running Redis (host:port) for the tests; .ci/run
// sets it. Without it, the tests start a redis-server of their own from
// PATH. The tests never skip: no Redis is a failure.
const EnvRedisAddr = "CLERKGATE_TEST_REDIS_ADDR"

func TestMain(m *testing.M) {
	// go-redis logs every failed reconnection, and the outage tests make
	// many on purpose.
	redis.SetLogger(quietLogger{})
	code := m.Run()
	stopShared()
	stopSharedCluster()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// redisServer is a redis-server process this test binary started, which a
// test may pause, kill and start again on the same port.
type redisServer struct {
	port int
	dir  string
	args []string // beyond those of every test server

	mu  sync.Mutex
	cmd *exec.Cmd
	out *bytes.Buffer
}

func (r *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }
func (r *redisServer) url() string  { return "redis://" + r.addr() + "/0" }

// launchRedis starts a throwaway redis-server on a free loopback port,
// keeping its (empty) working files in dir.
func launchRedis(dir string, args ...string) (*redisServer, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, fmt.Errorf("redis-server is not on PATH (Debian: apt-get install redis-server): %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	r := &redisServer{port: port, dir: dir, args: args}
	return r, r.start()
}

// freePort finds a free loopback port whose neighbour 10000 up, where a
// cluster node listens to its peers, is free too.
func freePort() (int, error) {
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := ln.Addr().(*net.TCPAddr).Port
		bus, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
		ln.Close()
		if err == nil {
			bus.Close()
			return port, nil
		}
	}
	return 0, errors.New("found no free pair of loopback ports")
}

// startRedis starts a redis-server for one test, stopped when it ends.
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	r, err := launchRedis(t.TempDir())
	require.NoErrorf(t, err, "this test kills and restarts a redis-server of its own, so it needs one on PATH whatever %s says", EnvRedisAddr)
	t.Cleanup(r.stop)
	return r
}

func (r *redisServer) start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := &bytes.Buffer{}
	cmd := exec.Command("redis-server", append([]string{
		"--bind", "127.0.0.1", "--port", strconv.Itoa(r.port),
		"--save", "", "--appendonly", "no", "--dir", r.dir, "--daemonize", "no"}, r.args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	r.cmd, r.out = cmd, out
	if err := waitForRedis(r.addr(), 10*time.Second); err != nil {
		return fmt.Errorf("redis-server did not come up: %w\n%s", err, out)
	}
	return nil
}

// kill ends the server abruptly, as a crash would.
func (r *redisServer) kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// pause freezes the server: connections stay open and nothing answers.
func (r *redisServer) pause() error { return r.signal(syscall.SIGSTOP) }

func (r *redisServer) resume() error { return r.signal(syscall.SIGCONT) }

func (r *redisServer) signal(sig syscall.Signal) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return errors.New("redis-server is not running")
	}
	return r.cmd.Process.Signal(sig)
}

func (r *redisServer) stop() {
	if r == nil {
		return
	}
	_ = r.resume()
	r.kill()
}

func waitForRedis(addr string, within time.Duration) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// shared is the Redis the tests share when EnvRedisAddr is unset.
var shared struct {
	once sync.Once
	srv  *redisServer
	dir  string
	err  error
}

func stopShared() {
	shared.srv.stop()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
}

// sharedRedis is the Redis most tests use: the one EnvRedisAddr names,
// which must answer, or else one started for this test binary (TestMain
// stops it).
func sharedRedis(t *testing.T) backend {
	t.Helper()
	if addr := os.Getenv(EnvRedisAddr); addr != "" {
		require.NoErrorf(t, waitForRedis(addr, 2*time.Second), "%s=%s does not answer PING", EnvRedisAddr, addr)
		return backend{url: "redis://" + addr + "/0"}
	}
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "clerkgate-redis-")
		if shared.err == nil {
			shared.srv, shared.err = launchRedis(shared.dir)
		}
	})
	require.NoErrorf(t, shared.err, "these tests need a real Redis: set %s=host:port to a running redis-server, or put redis-server on PATH", EnvRedisAddr)
	return backend{url: shared.srv.url()}
}

// onEveryBackend runs test as two parallel subtests: on the shared Redis,
// and on the shared Redis Cluster.
func onEveryBackend(t *testing.T, test func(t *testing.T, b backend)) {
	for name, get := range map[string]func(*testing.T) backend{"redis": sharedRedis, "cluster": sharedCluster} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, get(t))
		})
	}
}

// backend is the Redis that an app's replicas share: one server, or a
// Redis Cluster.
type backend struct {
	url   string // one server
	seeds string // a Redis Cluster: seed addresses, comma-separated
}

func (b backend) open(opts redisstore.Options) (*redisstore.Store, error) {
	if b.seeds != "" {
		return redisstore.OpenCluster(b.seeds, opts)
	}
	return redisstore.Open(b.url, opts)
}

// client is a client of the test's own, closed when the test ends.
func (b backend) client(t *testing.T) redis.UniversalClient {
	t.Helper()
	var rdb redis.UniversalClient
	if b.seeds != "" {
		rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(b.seeds, ",")})
	} else {
		opts, err := redis.ParseURL(b.url)
		require.NoError(t, err)
		rdb = redis.NewClient(opts)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// onEachServer runs f on the one server, or on every master of a
// cluster, and gathers what it returns.
func onEachServer[T any](ctx context.Context, rdb redis.UniversalClient, f func(context.Context, *redis.Client) ([]T, error)) ([]T, error) {
	cc, ok := rdb.(*redis.ClusterClient)
	if !ok {
		return f(ctx, rdb.(*redis.Client))
	}
	var mu sync.Mutex
	var all []T
	err := cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		some, err := f(ctx, node)
		mu.Lock()
		defer mu.Unlock()
		all = append(all, some...)
		return err
	})
	if err != nil {
		cc.ReloadState(ctx) // a master may have failed over
	}
	return all, err
}

// keysMatching lists the keys that match pattern, on every master of a cluster.
func keysMatching(ctx context.Context, rdb redis.UniversalClient, pattern string) ([]string, error) {
	return onEachServer(ctx, rdb, func(ctx context.Context, node *redis.Client) ([]string, error) {
		return node.Keys(ctx, pattern).Result()
	})
}

// subscribers counts the subscribers of the channels that match pattern:
// shard channels on a cluster, where each lives on one master.
func subscribers(ctx context.Context, rdb redis.UniversalClient, pattern string) (map[string]int64, error) {
	type count struct {
		channel string
		n       int64
	}
	_, sharded := rdb.(*redis.ClusterClient)
	counts, err := onEachServer(ctx, rdb, func(ctx context.Context, node *redis.Client) ([]count, error) {
		list, numSub := node.PubSubChannels, node.PubSubNumSub
		if sharded {
			list, numSub = node.PubSubShardChannels, node.PubSubShardNumSub
		}
		chans, err := list(ctx, pattern).Result()
		if err != nil || len(chans) == 0 {
			return nil, err
		}
		m, err := numSub(ctx, chans...).Result()
		var out []count
		for ch, n := range m {
			out = append(out, count{ch, n})
		}
		return out, err
	})
	m := make(map[string]int64)
	for _, c := range counts {
		m[c.channel] = c.n
	}
	return m, err
}

// publish publishes on a channel, or a shard channel on a cluster.
func publish(ctx context.Context, rdb redis.Cmdable, sharded bool, channel, message string) *redis.IntCmd {
	if sharded {
		return rdb.SPublish(ctx, channel, message)
	}
	return rdb.Publish(ctx, channel, message)
}

// app is one app running as several replicas in this process: each
// replica its own Gate, caches, Redis client and HTTP server, all sharing
// one fake Clerk and one Redis.
type app struct {
	t        *testing.T
	fake     *clerktest.Server
	redis    backend
	timeout  time.Duration
	prefix   string
	http     *http.Client
	mods     []replicaMod // for every replica
	replicas []*replica
	inst     string // the instance part of its keys, once known
}

// replicaMod adjusts the configuration of a replica's Gate and store.
type replicaMod func(*clerkgate.Config, *redisstore.Options)

type replica struct {
	name  string
	gate  *clerkgate.Gate
	store *redisstore.Store
	url   string
	logs  *syncBuffer
}

// newApp starts n replicas. timeout is their stores' Options.Timeout;
// mods adjust every replica's configuration.
func newApp(t *testing.T, b backend, n int, timeout time.Duration, mods ...replicaMod) *app {
	t.Helper()
	c := &app{
		t:       t,
		fake:    clerktest.New(),
		redis:   b,
		timeout: timeout,
		prefix:  "clerkgate-test-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		http:    &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		mods:    mods,
	}
	t.Cleanup(func() {
		c.fake.Close()
		c.http.CloseIdleConnections()
	})
	for i := range n {
		c.addReplica(string(rune('A' + i)))
	}
	return c
}

// addReplica starts one more replica; mods adjust its configuration after
// the app's own.
func (c *app) addReplica(name string, mods ...replicaMod) *replica {
	c.t.Helper()
	return c.addReplicaOn(name, c.redis.open, mods...)
}

// addReplicaOn starts one more replica with a store that open makes.
func (c *app) addReplicaOn(name string, open func(redisstore.Options) (*redisstore.Store, error), mods ...replicaMod) *replica {
	t := c.t
	t.Helper()
	logs := &syncBuffer{}
	cfg := clerkgate.Config{
		SecretKey:      c.fake.SecretKey(),
		PublishableKey: c.fake.PublishableKey(),
		APIURL:         c.fake.URL(),
		HTTPClient:     c.http,
		Logger:         slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	opts := redisstore.Options{Prefix: c.prefix, Timeout: c.timeout}
	for _, m := range append(slices.Clone(c.mods), mods...) {
		m(&cfg, &opts)
	}
	store, err := open(opts)
	require.NoError(t, err)
	cfg.Store = store
	g, err := clerkgate.New(cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(g.Accept(clerkgate.SessionToken).Require(whoami))
	t.Cleanup(func() {
		srv.Close()
		require.NoError(t, g.Close())
	})
	r := &replica{name: name, gate: g, store: store, url: srv.URL, logs: logs}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replica %s log:\n%s", name, logs)
		}
	})
	c.replicas = append(c.replicas, r)
	return r
}

// waitSubscribed waits until every replica listens to the store's
// channels, so that a measurement starts from a settled app.
func (c *app) waitSubscribed(within time.Duration) {
	c.t.Helper()
	rdb := c.redis.client(c.t)
	require.Eventually(c.t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		counts, err := subscribers(ctx, rdb, c.prefix+":*")
		if err != nil || len(counts) < 2 {
			return false
		}
		for _, n := range counts {
			if n < int64(len(c.replicas)) {
				return false
			}
		}
		return true
	}, within, 10*time.Millisecond, "replicas did not all subscribe")
}

type reply struct {
	status  int
	body    string
	reason  string
	cookies []string
}

func (c *app) get(r *replica, mods ...func(*http.Request)) reply {
	c.t.Helper()
	rep, err := c.try(r, mods...)
	require.NoError(c.t, err)
	return rep
}

// try is get for goroutines other than the test's.
func (c *app) try(r *replica, mods ...func(*http.Request)) (reply, error) {
	req, err := http.NewRequest(http.MethodGet, r.url, nil)
	if err != nil {
		return reply{}, err
	}
	for _, m := range mods {
		m(req)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return reply{}, err
	}
	rep := reply{status: res.StatusCode, body: string(b), cookies: res.Header.Values("Set-Cookie")}
	if res.StatusCode != http.StatusOK {
		if _, after, ok := strings.Cut(rep.body, `"error":"`); ok {
			rep.reason, _, _ = strings.Cut(after, `"`)
		}
	}
	return rep, nil
}

func (c *app) sessionCookie(token string) func(*http.Request) {
	return func(r *http.Request) {
		r.AddCookie(&http.Cookie{Name: "__session_" + c.fake.CookieSuffix(), Value: token})
		// Clerk reads a suffixed session cookie only beside its __client_uat.
		r.AddCookie(&http.Cookie{Name: "__client_uat_" + c.fake.CookieSuffix(), Value: "1"})
	}
}

func (c *app) refreshCookie(s clerktest.Session) func(*http.Request) {
	return func(r *http.Request) {
		r.AddCookie(&http.Cookie{Name: "__refresh_" + c.fake.CookieSuffix(), Value: s.RefreshToken})
	}
}

func bearer(token string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

func (c *app) refreshCalls() int { return c.fake.Requests(clerktest.RouteRefresh) }

// newSessionToken returns the __session value of a refresh answer.
func (c *app) newSessionToken(cookies []string) string {
	for _, sc := range cookies {
		if ck, err := http.ParseSetCookie(sc); err == nil && ck.Name == "__session_"+c.fake.CookieSuffix() {
			return ck.Value
		}
	}
	return ""
}

var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	caller, _ := clerkgate.CallerFromContext(r.Context())
	io.WriteString(w, caller.Subject())
})

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
