// Package fairshare bounds the Backend API calls that clients cause with
// things the process has never seen pass (a handshake nonce, a machine
// credential): each client spends a token bucket of its own, so a client
// that floods junk spends its own share and never another's; the clients
// of one network (an IPv4 /24, an IPv6 /48) together spend a bucket of
// that network's, so many addresses of one network are no more than a
// small share; and every client together spends one global bucket, the
// ceiling on such calls for the process, sized against Clerk's Backend
// API rate limit.
//
//	global := fairshare.NewGlobal(fairshare.DefaultGlobalPerSecond, fairshare.DefaultGlobalBurst, fairshare.DefaultMaxWait)
//	nonces := fairshare.New(fairshare.Config{PerSecond: 1, Burst: 10, Global: global})
//	if !nonces.Take(ctx, fairshare.ClientKey(ip)) {
//		// refuse without a call
//	}
//
// A client is named by the caller (its IP address, see ClientKey); its
// network is derived from that name (see PrefixKey). The buckets of the
// clients and networks seen last are kept in bounded LRUs: one whose
// bucket was let go of starts again with a full one, which is never less
// than its share.
package fairshare

import (
	"context"
	"net/netip"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/clerkgate/clerkgate/internal/ratelimit"
)

// Defaults.
//
// Clerk's Backend API allows 1,000 requests per 10 s to a production
// instance and 100 per 10 s to a development one, per secret key
// (https://clerk.com/docs/guides/how-clerk-works/system-limits). The
// global bucket lets calls for unseen things take at most 100 + 50·t in t
// seconds: 600 in any 10 s, 60 % of a production instance's limit, so
// refreshes and the app's own calls keep the rest. A development
// instance is sooner answered 429; the callers then hold their calls for
// the Retry-After Clerk gives.
const (
	DefaultGlobalPerSecond = 50
	DefaultGlobalBurst     = 100
	// DefaultMaxWait is how long a call may wait for the global bucket:
	// a burst of genuine credentials at start-up (200 of them) waits its
	// turn rather than being refused.
	DefaultMaxWait = 3 * time.Second
	// DefaultClients bounds the per-client buckets kept.
	DefaultClients = 10_000
	// DefaultPrefixPerSecond and DefaultPrefixBurst are each network's
	// bucket: a network's clients together take at most 1/25 of the
	// global rate, so keeping the global bucket spent takes 25 networks
	// flooding, not 50 addresses of one network. Genuine calls are given
	// back (Refund), so a crowded network's genuine sign-ins are bounded
	// only by how many are in flight at once: 20.
	DefaultPrefixPerSecond = 2
	DefaultPrefixBurst     = 20
	// DefaultPrefixes bounds the per-network buckets kept.
	DefaultPrefixes = 10_000
)

// Global is the bucket a process's limiters share, with the per-network
// buckets in front of it: a network's share is of the one ceiling,
// whichever limiter spends it. It is safe for concurrent use.
type Global struct {
	bucket  *ratelimit.Bucket
	maxWait time.Duration

	prefixRate  float64
	prefixBurst int
	prefixes    *lru.Cache[string, *ratelimit.Bucket]
}

// NewGlobal returns a full global bucket of burst calls refilled at
// perSecond; a call waits at most maxWait for its turn. Each network's
// bucket has the defaults (DefaultPrefixPerSecond, DefaultPrefixBurst,
// DefaultPrefixes).
func NewGlobal(perSecond float64, burst int, maxWait time.Duration) *Global {
	return NewGlobalConfig(GlobalConfig{PerSecond: perSecond, Burst: burst, MaxWait: maxWait})
}

// GlobalConfig sets up a Global.
type GlobalConfig struct {
	// PerSecond, Burst and MaxWait are the global bucket (see NewGlobal).
	PerSecond float64
	Burst     int
	MaxWait   time.Duration
	// PrefixPerSecond and PrefixBurst are each network's bucket, and
	// Prefixes bounds how many are kept; zero means the default.
	PrefixPerSecond float64
	PrefixBurst     int
	Prefixes        int
}

// NewGlobalConfig returns a Global set up by cfg.
func NewGlobalConfig(cfg GlobalConfig) *Global {
	g := &Global{bucket: ratelimit.New(cfg.PerSecond, cfg.Burst), maxWait: cfg.MaxWait,
		prefixRate: cfg.PrefixPerSecond, prefixBurst: cfg.PrefixBurst}
	if g.prefixRate <= 0 {
		g.prefixRate = DefaultPrefixPerSecond
	}
	if g.prefixBurst <= 0 {
		g.prefixBurst = DefaultPrefixBurst
	}
	size := cfg.Prefixes
	if size <= 0 {
		size = DefaultPrefixes
	}
	g.prefixes, _ = lru.New[string, *ratelimit.Bucket](size)
	return g
}

// Config sets up a Limiter.
type Config struct {
	// PerSecond and Burst are each client's bucket.
	PerSecond float64
	Burst     int
	// Clients bounds how many clients' buckets are kept; default
	// DefaultClients.
	Clients int
	// Global is the ceiling shared with other limiters; nil means one of
	// the Limiter's own, with the defaults.
	Global *Global
	// Clock returns the current time; nil means time.Now. Waits for the
	// global bucket are real time whatever it says.
	Clock func() time.Time
}

// Limiter is a per-client bucket in front of the per-network and global
// ones of its Global. It is safe for
// concurrent use.
type Limiter struct {
	rate    float64
	burst   int
	clients *lru.Cache[string, *ratelimit.Bucket]
	global  *Global
	now     func() time.Time
}

// New returns a Limiter.
func New(cfg Config) *Limiter {
	l := &Limiter{rate: cfg.PerSecond, burst: cfg.Burst, global: cfg.Global, now: cfg.Clock}
	if l.global == nil {
		l.global = NewGlobal(DefaultGlobalPerSecond, DefaultGlobalBurst, DefaultMaxWait)
	}
	if l.now == nil {
		l.now = time.Now
	}
	size := cfg.Clients
	if size <= 0 {
		size = DefaultClients
	}
	l.clients, _ = lru.New[string, *ratelimit.Bucket](size)
	return l
}

// Take spends one call from client's bucket, one from its network's and
// one from the global bucket, waiting for the global one at most its
// MaxWait and while ctx lasts, and reports whether the call may be made.
// A refusal spends nothing of the shares it did not pass.
func (l *Limiter) Take(ctx context.Context, client string) bool {
	b := bucket(l.clients, client, l.rate, l.burst)
	now := l.now()
	if !b.Take(now) {
		return false
	}
	p := bucket(l.global.prefixes, PrefixKey(client), l.global.prefixRate, l.global.prefixBurst)
	if !p.Take(now) {
		b.Return()
		return false
	}
	wait, ok := l.global.bucket.Reserve(now, l.global.maxWait)
	if !ok {
		p.Return()
		b.Return()
		return false
	}
	if wait <= 0 {
		return true
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		l.global.bucket.Return()
		p.Return()
		b.Return()
		return false
	}
}

// Refund gives client and its network back the call it spent on
// something Clerk confirmed (a live credential, a genuine nonce): genuine
// traffic never uses up a client's or a network's share. The global
// bucket keeps the call: it counts calls made, whatever they were for.
func (l *Limiter) Refund(client string) {
	if b, ok := l.clients.Get(client); ok {
		b.Return()
	}
	if p, ok := l.global.prefixes.Get(PrefixKey(client)); ok {
		p.Return()
	}
}

// bucket is key's bucket in c, a full new one if c holds none.
func bucket(c *lru.Cache[string, *ratelimit.Bucket], key string, rate float64, burst int) *ratelimit.Bucket {
	if b, ok := c.Get(key); ok {
		return b
	}
	b := ratelimit.New(rate, burst)
	if prev, ok, _ := c.PeekOrAdd(key, b); ok {
		return prev
	}
	return b
}

// ClientKey names the client at ip for the buckets: the address itself
// for IPv4, its /64 for IPv6, since one host commonly holds a whole /64
// and would otherwise have 2⁶⁴ shares. An empty or unparsable ip (the
// app cannot tell who the client is) is one client, "".
func ClientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.WithZone("").Prefix(64)
	return p.String()
}

// PrefixKey names the network of the client ClientKey named: the /24 of
// an IPv4 address, the /48 of an IPv6 /64, the spans a single holder
// commonly gets. An IPv4 loopback client is its own network: every
// loopback address is this host, no network of others. Any other name (the unknown
// client "", a caller's own key) is its own network.
func PrefixKey(client string) string {
	if a, err := netip.ParseAddr(client); err == nil && a.Is4() {
		if a.IsLoopback() {
			return client
		}
		p, _ := a.Prefix(24)
		return p.String()
	}
	if p, err := netip.ParsePrefix(client); err == nil && p.Addr().Is6() && p.Bits() >= 48 {
		n, _ := p.Addr().Prefix(48)
		return n.String()
	}
	return client
}
