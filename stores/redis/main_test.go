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

	mu  sync.Mutex
	cmd *exec.Cmd
	out *bytes.Buffer
}

func (r *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }
func (r *redisServer) url() string  { return "redis://" + r.addr() + "/0" }

// launchRedis starts a throwaway redis-server on a free loopback port,
// keeping its (empty) working files in dir.
func launchRedis(dir string) (*redisServer, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, fmt.Errorf("redis-server is not on PATH (Debian: apt-get install redis-server): %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r := &redisServer{port: port, dir: dir}
	return r, r.start()
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
	cmd := exec.Command("redis-server",
		"--bind", "127.0.0.1", "--port", strconv.Itoa(r.port),
		"--save", "", "--appendonly", "no", "--dir", r.dir, "--daemonize", "no")
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

// sharedRedisURL is the Redis most tests use: the one EnvRedisAddr names,
// which must answer, or else one started for this test binary (TestMain
// stops it).
func sharedRedisURL(t *testing.T) string {
	t.Helper()
	if addr := os.Getenv(EnvRedisAddr); addr != "" {
		require.NoErrorf(t, waitForRedis(addr, 2*time.Second), "%s=%s does not answer PING", EnvRedisAddr, addr)
		return "redis://" + addr + "/0"
	}
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "clerkgate-redis-")
		if shared.err == nil {
			shared.srv, shared.err = launchRedis(shared.dir)
		}
	})
	require.NoErrorf(t, shared.err, "these tests need a real Redis: set %s=host:port to a running redis-server, or put redis-server on PATH", EnvRedisAddr)
	return shared.srv.url()
}

// cluster is one app running as several replicas in this process: each
// replica its own Gate, caches, Redis client and HTTP server, all sharing
// one fake Clerk and one Redis.
type cluster struct {
	t        *testing.T
	fake     *clerktest.Server
	redisURL string
	timeout  time.Duration
	prefix   string
	http     *http.Client
	mods     []replicaMod // for every replica
	replicas []*replica
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

// newCluster starts n replicas. timeout is their stores' Options.Timeout;
// mods adjust every replica's configuration.
func newCluster(t *testing.T, redisURL string, n int, timeout time.Duration, mods ...replicaMod) *cluster {
	t.Helper()
	c := &cluster{
		t:        t,
		fake:     clerktest.New(),
		redisURL: redisURL,
		timeout:  timeout,
		prefix:   "clerkgate-test-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		http:     &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		mods:     mods,
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
// the cluster's own.
func (c *cluster) addReplica(name string, mods ...replicaMod) *replica {
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
	store, err := redisstore.Open(c.redisURL, opts)
	require.NoError(t, err)
	cfg.Store = store
	g, err := clerkgate.New(cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(g.RequireSession(whoami))
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
// channels, so that a measurement starts from a settled cluster.
func (c *cluster) waitSubscribed(within time.Duration) {
	c.t.Helper()
	opts, err := redis.ParseURL(c.redisURL)
	require.NoError(c.t, err)
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	require.Eventually(c.t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		chans, err := rdb.PubSubChannels(ctx, c.prefix+":*").Result()
		if err != nil || len(chans) < 2 {
			return false
		}
		counts, err := rdb.PubSubNumSub(ctx, chans...).Result()
		if err != nil {
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

func (c *cluster) get(r *replica, mods ...func(*http.Request)) reply {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, r.url, nil)
	require.NoError(c.t, err)
	for _, m := range mods {
		m(req)
	}
	res, err := c.http.Do(req)
	require.NoError(c.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(c.t, err)
	rep := reply{status: res.StatusCode, body: string(b), cookies: res.Header.Values("Set-Cookie")}
	if res.StatusCode != http.StatusOK {
		if _, after, ok := strings.Cut(rep.body, `"error":"`); ok {
			rep.reason, _, _ = strings.Cut(after, `"`)
		}
	}
	return rep
}

func (c *cluster) sessionCookie(token string) func(*http.Request) {
	return func(r *http.Request) {
		r.AddCookie(&http.Cookie{Name: "__session_" + c.fake.CookieSuffix(), Value: token})
	}
}

func (c *cluster) refreshCookie(s clerktest.Session) func(*http.Request) {
	return func(r *http.Request) {
		r.AddCookie(&http.Cookie{Name: "__refresh_" + c.fake.CookieSuffix(), Value: s.RefreshToken})
	}
}

func bearer(token string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

func (c *cluster) refreshCalls() int { return c.fake.Requests(clerktest.RouteRefresh) }

// newSessionToken returns the __session value of a refresh answer.
func (c *cluster) newSessionToken(cookies []string) string {
	for _, sc := range cookies {
		if ck, err := http.ParseSetCookie(sc); err == nil && ck.Name == "__session_"+c.fake.CookieSuffix() {
			return ck.Value
		}
	}
	return ""
}

var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, clerkgate.UserID(r.Context()))
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
