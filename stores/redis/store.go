// Package redisstore is a clerkgate.Store shared through Redis, for apps
// that run several replicas behind a load balancer.
//
// A browser's parallel requests land on different replicas. With this
// store, the replicas of one app make one refresh call per expired session
// token between them (Clerk accepts an expired token only once), and a
// session revoked through one replica is refused by all within a second.
//
//	store, err := redisstore.Open("redis://127.0.0.1:6379/0", redisstore.Options{})
//	if err != nil {
//		log.Fatal(err)
//	}
//	cfg := clerkgate.ConfigFromEnv()
//	cfg.Store = store // the Gate owns it now: gate.Close closes it
//	gate, err := clerkgate.New(cfg)
//
// # What it costs
//
// An ordinary request costs no Redis call: the revocation check reads a
// local set that a pub/sub subscription keeps up to date. A refresh costs a
// couple of round trips (claim, then publish or fetch the outcome) on top
// of Clerk's own call, and one more on a cluster.
//
// # How it works
//
// Refresh: the replica whose SET NX claim wins (a Lua script that first
// looks for a published outcome) calls Clerk; the others wait for the
// outcome, woken by a pub/sub message, with a poll as a fallback, for at
// most the Gate's Refresh.Timeout. The outcome is kept for the new token's
// lifetime, under a digest of the expired token, sealed by the Gate so that
// only requests carrying that token can read it. A failure is published
// too, for two seconds, so that waiting replicas stop waiting.
//
// Failed refreshes: when a refresh call fails, the replica sets a key
// named by a digest of the session id, for the Gate's
// Refresh.FailureWindow; until it expires every replica answers the
// session's other refreshes without calling Clerk. A replica that has
// seen the key remembers it locally, so a flood of requests for the
// session costs Redis one lookup per replica.
//
// Revocation: each revoked session id (and each user whose tokens a Clerk
// webhook made the Gate refuse, with the cutoff) goes into a sorted set scored by its
// expiry (the Gate's RevocationTerm: MaxTokenLifetime plus twice the skew)
// and onto a pub/sub channel. Every replica loads the set when it
// subscribes, again on every reconnection, and keeps a local copy that the
// channel updates. Whoever writes to Redis is not trusted with more than
// signing sessions out for one term per write: what is heard is capped at
// the term, refused unless shaped "<expiry ms> sess_<base62>", and never
// makes room by dropping a revocation in force (see RevocationStats).
//
// # When Redis fails
//
// Authentication never fails because Redis does. Every call has a timeout
// (Options.Timeout); after three failed calls in a row the store skips
// Redis for a second at a time rather than making every refresh wait on
// it. A replica waiting for another's refresh goes on waiting through a
// failure, since refreshing the same token itself could only be refused. Meanwhile each replica
// works alone, as with clerkgate's default in-memory store: refreshes are
// coalesced within the replica only, and revocations are enforced by the
// replica that made them, and shared once Redis is back. The outage and the
// recovery are logged (Warn and Info).
//
// # Redis Cluster
//
// OpenCluster, or New with a *redis.ClusterClient, runs the store on a
// Redis Cluster (Redis 7 or later), with the same guarantees. Each script
// touches the keys of one hash tag, so one slot: a token's refresh keys
// are on the slot of its digest, spread over the masters; the revoked set
// and both channels are on the slot of the instance. The channels are
// shard channels (SPUBLISH, SSUBSCRIBE): a message goes to the master that
// owns the instance's slot and to its replicas, not to every node, and
// each app replica holds one subscription there. Since a refresh outcome
// and the channel are on different slots, waking the waiting replicas is a
// call of its own: one more round trip for the replica that refreshed.
//
// When a master fails, calls for its slots fail until the cluster promotes
// its replica (after cluster-node-timeout) and the client learns the new
// slot map: meanwhile the store behaves as in an outage, for those slots.
// A subscription that breaks, or that a demoted master drops, starts over
// on the slot's new owner and reloads the revoked set.
//
// # Keys
//
// Every key and channel starts with Options.Prefix (default "clerkgate")
// and the Clerk instance's name (a digest of its issuer), so apps of
// several instances can share one Redis:
//
//	<prefix>:<instance>:refresh:{<digest>}        sealed outcome (string, PX)
//	<prefix>:<instance>:refresh:{<digest>}:claim  claim (string, PX)
//	<prefix>:<instance>:refresh-failed:{<digest>} a session's failed refresh (string, PX)
//	<prefix>:{<instance>}:revoked                 revoked session ids, and "<user id> <cutoff s>" (sorted set, PXAT)
//	<prefix>:{<instance>}:revoked                 channel: "<expiry ms> <member>"
//	<prefix>:<instance>:mark:{<key>}              a webhook handled (string, PX; MarkOnce)
//	<prefix>:{<instance>}:refreshed               channel: "<digest>"
//
// The braces are hash tags: on a cluster, keys and channels with the same
// tag share a slot.
package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clerkgate/clerkgate/stores/redis/internal/expiring"
	"github.com/clerkgate/clerkgate/stores/redis/internal/redact"
	"github.com/clerkgate/clerkgate/stores/redis/internal/revoked"
	"github.com/clerkgate/clerkgate/verifier"

	"github.com/redis/go-redis/v9"

	"github.com/clerkgate/clerkgate"
)

// Options tunes a Store. Zero values mean the defaults.
type Options struct {
	// Prefix starts every key and channel name. Default "clerkgate".
	Prefix string

	// Timeout bounds each Redis call. Default 500 ms. A refresh waits at
	// most this long for a Redis that does not answer before going on
	// without it.
	Timeout time.Duration

	// RefreshCacheSize bounds the refresh outcomes this replica keeps in
	// memory, so its stragglers need no Redis call. Default 10,000.
	RefreshCacheSize int

	// RevocationCacheSize bounds how many revocations heard from Redis
	// the local copy holds at once. Default 10,000. None is dropped before
	// its term to make room: past the bound, more are refused (and
	// counted, see RevocationStats) until some expire, and the store then
	// reloads the shared set. Revocations made through this replica's
	// Gate are always held.
	RevocationCacheSize int

	// Logger receives outages and recoveries. Nil means the Gate's logger.
	Logger *slog.Logger
}

const (
	defaultPrefix = "clerkgate"
	// pollInterval is how often a waiting refresh looks for the outcome,
	// in case the pub/sub notification does not come.
	pollInterval = 100 * time.Millisecond
	// healthInterval is how often a quiet subscription is pinged; three
	// intervals without an answer and it is started over.
	healthInterval = time.Second
	// failuresBeforeSkipping is how many calls in a row must fail before
	// the store skips Redis: one slow call is not an outage, and skipping
	// Redis while another replica refreshes the same token costs a user
	// their session.
	failuresBeforeSkipping = 3
	// skipFor is how long the store then skips Redis, so that an outage
	// does not cost every refresh a timeout; the first call after it
	// tries Redis again.
	skipFor = time.Second
	// maxReconnectDelay caps the wait between two subscription attempts.
	maxReconnectDelay = time.Second
	// maxUnshared bounds the revocations kept for sharing once Redis is
	// back.
	maxUnshared = 10_000
)

// Outcome values are one flag byte followed by the Gate's sealed bytes.
const (
	flagSuccess = 's'
	flagFailure = 'f'
)

// errRing refuses a *redis.Ring. Its shards are Redis servers that know
// nothing of each other, each key and channel on the shard its hash picks:
// a refresh outcome is published from the shard of the token's digest, so
// the replicas subscribed on the instance's shard never hear it and each
// waits out its poll; and a shard the ring finds down has its keys (claims,
// outcomes, the revoked set) moved to another, which holds none of them, so
// two replicas refresh one token and revocations are forgotten.
var errRing = errors.New("redisstore: a *redis.Ring is not supported: its shards do not share keys or pub/sub, " +
	"so refresh wake-ups and revocations would not reach every replica; use one Redis (Open) or a Redis Cluster (OpenCluster)")

// errSkipped is what calls return while the store skips Redis after
// failures.
var errSkipped = errors.New("redisstore: Redis keeps failing; not trying again for a second")

// Store is a clerkgate.Store shared through Redis. Create it with Open or
// New and put it in clerkgate.Config.Store: the Gate starts it, and
// Gate.Close closes it. It serves one Gate.
type Store struct {
	rdb     redis.UniversalClient
	ownsRDB bool
	// sharded is set for a Redis Cluster: the channels are shard channels
	// (SPUBLISH, SSUBSCRIBE), so that a message goes to the node that owns
	// its channel's slot rather than to every node.
	sharded bool
	opts    Options
	claimID string // the value of this store's claims, for whoever looks

	// Set by Start.
	log       *slog.Logger
	now       func() time.Time // the Gate's clock, for local expiries
	base      string           // "<prefix>:<instance>"
	revoked   *revoked.Set
	term      time.Duration // the Gate's RevocationTerm
	outcomes  *expiring.Cache[string, []byte]
	revokedCh string
	refreshCh string

	failedRefreshes *expiring.Cache[string, struct{}] // sessions whose refresh failed, as this replica knows

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	started  bool
	closed   bool
	pubsub   *redis.PubSub
	waiters  map[string]map[chan struct{}]struct{}
	unshared map[string]int64 // member (session id, or "<user id> <cutoff>") → expiry (Unix ms) of revocations Redis missed

	inDoubt   atomic.Bool   // a heard revocation was refused, or a load was cut short
	lastLoad  time.Time     // of the revoked set; the listener's alone
	lastShare time.Time     // of the unshared revocations; the listener's alone
	refused   atomic.Uint64 // see RevocationStats
	malformed atomic.Uint64
	reloads   atomic.Uint64
	lastWarn  atomic.Int64 // Unix ns of the last warning about refusals

	failures  atomic.Int32 // calls failed in a row
	skipUntil atomic.Int64 // Unix ns; Redis is skipped until then
	down      atomic.Bool  // an outage was logged and no recovery yet
}

var _ clerkgate.Store = (*Store)(nil)

// Open connects to the Redis at url ("redis://[user:password@]host:port/db",
// or rediss:// for TLS) and returns a Store that owns the client: closing
// the store closes it. It does not wait for Redis: a replica starts, and
// authenticates, even while Redis is down.
func Open(url string, opts Options) (*Store, error) {
	ropts, err := redis.ParseURL(url)
	if err != nil {
		// go-redis's error can quote the URL, password and all, so it is
		// neither shown nor wrapped.
		return nil, fmt.Errorf("redisstore: REDIS URL %q: %s", redact.URL(url), redact.Reason(url, redis.ParseURL))
	}
	opts = withDefaults(opts)
	// Calls are bounded by their context, which carries Options.Timeout.
	ropts.ContextTimeoutEnabled = true
	ropts.DialTimeout = opts.Timeout
	ropts.ReadTimeout = opts.Timeout
	ropts.WriteTimeout = opts.Timeout
	return owning(redis.NewClient(ropts), opts)
}

// OpenCluster connects to a Redis Cluster (Redis 7 or later) through its
// seed nodes, given as a cluster URL,
// "redis://[user:password@]host:port?addr=host2:port&addr=host3:port" (or
// rediss:// for TLS), or as addresses separated by commas,
// "host1:port,host2:port". The client learns the other nodes, and follows
// failovers, by itself. Like Open, it returns a Store that owns the client
// and does not wait for the cluster.
func OpenCluster(seeds string, opts Options) (*Store, error) {
	var copts *redis.ClusterOptions
	if strings.Contains(seeds, "://") {
		var err error
		if copts, err = redis.ParseClusterURL(seeds); err != nil {
			return nil, fmt.Errorf("redisstore: Redis Cluster URL %q: %s", redact.URL(seeds), redact.Reason(seeds, redis.ParseClusterURL))
		}
	} else {
		copts = &redis.ClusterOptions{}
		for addr := range strings.SplitSeq(seeds, ",") {
			addr = strings.TrimSpace(addr)
			if _, _, err := net.SplitHostPort(addr); err != nil || strings.Contains(addr, "@") {
				// Credentials here would be dialled as part of the
				// address, and quoted in every connection error.
				return nil, fmt.Errorf("redisstore: Redis Cluster seed %q: want host:port (credentials go in a redis:// cluster URL)", redact.URL(addr))
			}
			copts.Addrs = append(copts.Addrs, addr)
		}
	}
	opts = withDefaults(opts)
	copts.ContextTimeoutEnabled = true
	copts.DialTimeout = opts.Timeout
	copts.ReadTimeout = opts.Timeout
	copts.WriteTimeout = opts.Timeout
	return owning(redis.NewClusterClient(copts), opts)
}

// owning returns a Store that closes rdb when it closes.
func owning(rdb redis.UniversalClient, opts Options) (*Store, error) {
	s, err := New(rdb, opts)
	if err != nil {
		rdb.Close()
		return nil, err
	}
	s.ownsRDB = true
	return s, nil
}

// New returns a Store on an existing client, which the store does not
// close. The client must honour context deadlines (ContextTimeoutEnabled
// in go-redis's options), so that Options.Timeout bounds every call. A
// *redis.ClusterClient (which redis.NewUniversalClient returns for several
// addresses) is a Redis Cluster: the store then uses sharded pub/sub, which
// needs Redis 7 or later. A *redis.Ring is refused: its shards share
// neither keys nor pub/sub.
func New(rdb redis.UniversalClient, opts Options) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("redisstore: nil client")
	}
	if opts.Timeout < 0 || opts.RefreshCacheSize < 0 || opts.RevocationCacheSize < 0 {
		return nil, errors.New("redisstore: Timeout and cache sizes must not be negative")
	}
	if strings.ContainsAny(opts.Prefix, " {}") {
		return nil, fmt.Errorf("redisstore: prefix %q must not hold spaces or braces", opts.Prefix)
	}
	var bounded, sharded = true, false
	switch c := rdb.(type) {
	case *redis.Client:
		bounded = c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		bounded, sharded = c.Options().ContextTimeoutEnabled, true
	case *redis.Ring:
		return nil, errRing
	}
	if !bounded {
		return nil, errors.New("redisstore: the client ignores context deadlines, so a slow Redis could hold requests: set ContextTimeoutEnabled in its options (Open does)")
	}
	id := make([]byte, 8)
	rand.Read(id)
	return &Store{
		rdb:      rdb,
		sharded:  sharded,
		opts:     withDefaults(opts),
		claimID:  hex.EncodeToString(id),
		waiters:  make(map[string]map[chan struct{}]struct{}),
		unshared: make(map[string]int64),
	}, nil
}

func withDefaults(o Options) Options {
	if o.Prefix == "" {
		o.Prefix = defaultPrefix
	}
	if o.Timeout == 0 {
		o.Timeout = 500 * time.Millisecond
	}
	if o.RefreshCacheSize == 0 {
		o.RefreshCacheSize = 10_000
	}
	if o.RevocationCacheSize == 0 {
		o.RevocationCacheSize = 10_000
	}
	return o
}

// Start names the keys after the Gate's Clerk instance and starts the
// subscription, which connects in the background.
func (s *Store) Start(scope clerkgate.StoreOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return errors.New("redisstore: the store is closed")
	case s.started:
		return errors.New("redisstore: the store already serves a Gate; give each Gate its own")
	case scope.Instance == "":
		return errors.New("redisstore: no instance name")
	}
	s.started = true
	s.log = s.opts.Logger
	if s.log == nil {
		s.log = scope.Logger
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.now = scope.Clock
	if s.now == nil {
		s.now = time.Now
	}
	s.base = s.opts.Prefix + ":" + scope.Instance
	// The revoked set, its channel and the refresh channel share a hash
	// tag, so that on a cluster the revocation script may publish on its
	// set's slot and one subscription covers both channels.
	s.revokedCh = s.opts.Prefix + ":{" + scope.Instance + "}:revoked"
	s.refreshCh = s.opts.Prefix + ":{" + scope.Instance + "}:refreshed"
	s.term = scope.RevocationTerm
	if s.term <= 0 {
		// A Gate's default term: Clerk's 60 s session token lifetime
		// (Config.MaxTokenLifetime) plus twice the clock skew.
		s.term = 60*time.Second + 2*verifier.DefaultClockSkew
	}
	s.revoked = revoked.New(s.now, s.term, s.opts.RevocationCacheSize)
	s.outcomes = expiring.New[string, []byte](s.opts.RefreshCacheSize, s.now)
	s.failedRefreshes = expiring.New[string, struct{}](s.opts.RefreshCacheSize, s.now)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.listen()
	return nil
}

// Close stops the subscription and waits for it to end, then closes the
// client if Open made it. It is safe to call more than once.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.cancel != nil {
		s.cancel()
	}
	if s.pubsub != nil {
		s.pubsub.Close() // unblocks the receive
	}
	s.mu.Unlock()
	s.wg.Wait()
	if s.ownsRDB {
		return s.rdb.Close()
	}
	return nil
}

func (s *Store) outcomeKey(name string) string { return s.base + ":refresh:{" + name + "}" }
func (s *Store) claimKey(name string) string   { return s.outcomeKey(name) + ":claim" }
func (s *Store) failedKey(name string) string  { return s.base + ":refresh-failed:{" + name + "}" }
func (s *Store) revokedKey() string            { return s.revokedCh }

// claimScript returns {1, outcome, pttl} when an outcome is published,
// {2} when the caller's claim was taken, {0} when someone else holds one.
var claimScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then return {1, v, redis.call('PTTL', KEYS[1])} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2} end
return {0}
`)

// publishScript keeps an outcome (a failure never replaces a success),
// drops the claim and wakes the waiting replicas, unless ARGV[4] names no
// channel.
var publishScript = redis.NewScript(`
if ARGV[3] == '1' then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX')
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
redis.call('DEL', KEYS[2])
if ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
return 1
`)

// ClaimRefresh answers from this replica's memory when it can; otherwise
// it claims the refresh in Redis or waits for the replica that holds the
// claim to publish the outcome.
func (s *Store) ClaimRefresh(ctx context.Context, name string, hold time.Duration) ([]byte, bool, error) {
	if sealed, ok := s.outcomes.Get(name); ok {
		return sealed, false, nil
	}
	wake := s.watch(name)
	defer s.unwatch(name, wake)
	poll := time.NewTicker(pollInterval)
	defer poll.Stop()
	keys := []string{s.outcomeKey(name), s.claimKey(name)}
	othersClaim := false
	for {
		var reply []any
		err := s.call(ctx, "claim a refresh", func(ctx context.Context) error {
			var err error
			reply, err = claimScript.Run(ctx, s.rdb, keys, s.claimID, max(hold.Milliseconds(), 1)).Slice()
			return err
		})
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, false, ctx.Err()
		case err != nil && !othersClaim:
			// The Gate refreshes on its own.
			return nil, false, err
		case err != nil:
			// Another replica is refreshing this token: calling Clerk here
			// too would only get "consumed". Keep waiting for its outcome,
			// which Redis may yet deliver, within the caller's bound.
			reply = []any{int64(0)}
		}
		if len(reply) == 0 {
			return nil, false, errors.New("redisstore: claim a refresh: empty reply")
		}
		switch code, _ := reply[0].(int64); code {
		case 2:
			return nil, true, nil
		case 1:
			if len(reply) < 3 {
				return nil, false, errors.New("redisstore: claim a refresh: short reply")
			}
			value, _ := reply[1].(string)
			pttl, _ := reply[2].(int64)
			if len(value) < 1 {
				return nil, false, errors.New("redisstore: empty refresh outcome")
			}
			sealed := []byte(value[1:])
			if value[0] == flagSuccess && pttl > 0 {
				s.outcomes.Add(name, sealed, s.now().Add(time.Duration(pttl)*time.Millisecond))
			}
			return sealed, false, nil
		}
		othersClaim = true
		select {
		case <-wake:
		case <-poll.C:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
}

// PublishRefresh keeps the outcome in this replica's memory (a success)
// and in Redis, and wakes the replicas waiting for it.
func (s *Store) PublishRefresh(ctx context.Context, name string, out clerkgate.RefreshOutcome) error {
	if out.TTL <= 0 {
		return nil
	}
	flag, failed := byte(flagSuccess), "0"
	if out.Failed {
		flag, failed = flagFailure, "1"
	} else {
		s.outcomes.Add(name, out.Sealed, s.now().Add(out.TTL))
	}
	value := append([]byte{flag}, out.Sealed...)
	return s.call(ctx, "publish a refresh outcome", func(ctx context.Context) error {
		channel := s.refreshCh
		if s.sharded {
			channel = ""
		}
		err := publishScript.Run(ctx, s.rdb, []string{s.outcomeKey(name), s.claimKey(name)},
			value, max(out.TTL.Milliseconds(), 1), failed, channel, name).Err()
		if err != nil || !s.sharded {
			return err
		}
		// On a cluster the outcome's slot is not the channel's, which a
		// script may not publish on: the wake-up is a call of its own, made
		// once the outcome is in place.
		return s.rdb.SPublish(ctx, s.refreshCh, name).Err()
	})
}

// FailRefresh remembers the session's failed refresh in this replica's
// memory, and in Redis for the other replicas, for window.
func (s *Store) FailRefresh(ctx context.Context, name string, window time.Duration) error {
	if window <= 0 {
		return nil
	}
	s.failedRefreshes.Add(name, struct{}{}, s.now().Add(window))
	return s.call(ctx, "share a failed refresh", func(ctx context.Context) error {
		return s.rdb.Set(ctx, s.failedKey(name), "1", window).Err()
	})
}

// RefreshFailed answers from this replica's memory when it knows of the
// failure, and asks Redis otherwise. What it learns from Redis it keeps
// for the key's remaining life, but never longer than window: a Redis
// writer can hold back a session's refreshes for one window at a time,
// never for longer.
func (s *Store) RefreshFailed(ctx context.Context, name string, window time.Duration) (bool, error) {
	if _, ok := s.failedRefreshes.Get(name); ok {
		return true, nil
	}
	var pttl time.Duration
	err := s.call(ctx, "look for a failed refresh", func(ctx context.Context) error {
		var err error
		pttl, err = s.rdb.PTTL(ctx, s.failedKey(name)).Result()
		return err
	})
	switch {
	case err != nil:
		return false, err
	case pttl == -2: // no such key
		return false, nil
	case pttl < 0 || pttl > window: // no expiry, or a longer one than any Gate sets
		pttl = window
	}
	s.failedRefreshes.Add(name, struct{}{}, s.now().Add(pttl))
	return true, nil
}

// call runs one Redis call within Options.Timeout. A failure logs an
// outage; after failuresBeforeSkipping in a row, calls fail at once for a
// second. A success ends it all. When the caller's ctx ends
// first, call returns its error: that is the caller giving up, not Redis
// failing.
func (s *Store) call(ctx context.Context, what string, f func(context.Context) error) error {
	if time.Now().UnixNano() < s.skipUntil.Load() {
		return errSkipped
	}
	cctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	err := f(cctx)
	if err == nil {
		s.recovered()
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	s.failed(what, err)
	return fmt.Errorf("redisstore: %s: %w", what, err)
}

func (s *Store) failed(what string, err error) {
	if s.failures.Add(1) >= failuresBeforeSkipping {
		s.skipUntil.Store(time.Now().Add(skipFor).UnixNano())
	}
	s.reloadSlots()
	s.logDown(what, err)
}

// logDown logs the start of an outage, once.
func (s *Store) logDown(what string, err error) {
	if s.down.CompareAndSwap(false, true) {
		s.log.Warn("redisstore: Redis unavailable; this replica refreshes and revokes on its own until it is back",
			"during", what, "err", err)
	}
}

func (s *Store) recovered() {
	s.failures.Store(0)
	s.skipUntil.Store(0)
	if s.down.CompareAndSwap(true, false) {
		s.log.Info("redisstore: Redis reachable again; refreshes and revocations are shared")
	}
}

// watch registers a channel that a notification for name wakes.
func (s *Store) watch(name string) chan struct{} {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.waiters[name]
	if set == nil {
		set = make(map[chan struct{}]struct{})
		s.waiters[name] = set
	}
	set[ch] = struct{}{}
	return ch
}

func (s *Store) unwatch(name string, ch chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.waiters[name], ch)
	if len(s.waiters[name]) == 0 {
		delete(s.waiters, name)
	}
}

// wake wakes the waiters for name, or every waiter when name is "".
func (s *Store) wake(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n, set := range s.waiters {
		if name != "" && n != name {
			continue
		}
		for ch := range set {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

// localUntil turns an expiry in Unix ms (wall clock, shared by replicas)
// into a deadline on the Gate's clock.
func (s *Store) localUntil(untilMs int64) time.Time {
	return s.now().Add(time.Until(time.UnixMilli(untilMs)))
}
