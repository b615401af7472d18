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
// The last half of the global bucket is a reserve that only a call from a
// quiet network may spend: one that has made no more than a few calls of
// late (a bucket of DefaultQuietBurst refilled at DefaultQuietPerSecond,
// given back for genuine calls as the others are). Any other call takes
// what is above the reserve at once or is refused: it never waits, since
// a reservation ahead would queue in front of the quiet calls. So a
// network flooding at its own rate spends the global bucket down to the
// reserve and no further, and a quiet network's call is made at once
// however many such networks flood. What a flood can still do with its
// networks' own quiet calls: spend the reserve for good with quiet calls
// at the global rate, 500 networks each calling once in 10 s (the network
// tier alone took 25 networks at 2/s); or, saving each network's two and
// making them at once, hold a genuine call about (2·n − 50)/50 s for n
// networks, once each 20 s, refusing it only past MaxWait (n > 100).
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
	// DefaultQuietPerSecond and DefaultQuietBurst are what each network
	// may call as a quiet one, which may spend the global bucket's
	// reserve: two at once, then one each 10 s. Refunds give genuine
	// calls back, so a network of genuine clients is held only to two in
	// flight at once, while flooders need DefaultGlobalPerSecond /
	// DefaultQuietPerSecond = 500 networks to keep the reserve spent. The
	// burst is small because a flooder can save it on each network and
	// spend all at once: the reserve (half the global burst, 50) absorbs
	// 25 networks' at once.
	DefaultQuietPerSecond = 0.1
	DefaultQuietBurst     = 2
)

// Global is the bucket a process's limiters share, with the per-network
// buckets in front of it: a network's share is of the one ceiling,
// whichever limiter spends it. It is safe for concurrent use.
type Global struct {
	bucket  *ratelimit.Bucket
	maxWait time.Duration
	reserve float64 // the tokens of bucket only quiet networks spend

	prefixRate  float64
	prefixBurst int
	quietRate   float64
	quietBurst  int
	prefixes    *lru.Cache[string, *network]
}

// network is a network's buckets: share, which all its calls spend, and
// quiet, which those spend that may take the global reserve.
type network struct {
	share, quiet *ratelimit.Bucket
}

// NewGlobal returns a full global bucket of burst calls refilled at
// perSecond; a call from a quiet network waits at most maxWait for its
// turn. Half of burst is the reserve for quiet networks; each network's buckets have the
// defaults (DefaultPrefixPerSecond, DefaultPrefixBurst, DefaultPrefixes,
// DefaultQuietPerSecond, DefaultQuietBurst).
func NewGlobal(perSecond float64, burst int, maxWait time.Duration) *Global {
	return NewGlobalConfig(GlobalConfig{PerSecond: perSecond, Burst: burst, MaxWait: maxWait})
}

// GlobalConfig sets up a Global.
type GlobalConfig struct {
	// PerSecond, Burst and MaxWait are the global bucket (see NewGlobal).
	PerSecond float64
	Burst     int
	MaxWait   time.Duration
	// Reserve is how many of the global bucket's tokens only a quiet
	// network's call may spend; zero means half of Burst, negative
	// none.
	Reserve int
	// PrefixPerSecond and PrefixBurst are each network's bucket, and
	// Prefixes bounds how many are kept; zero means the default.
	PrefixPerSecond float64
	PrefixBurst     int
	Prefixes        int
	// QuietPerSecond and QuietBurst are what each network may call as a
	// quiet one; zero means the default.
	QuietPerSecond float64
	QuietBurst     int
}

// NewGlobalConfig returns a Global set up by cfg.
func NewGlobalConfig(cfg GlobalConfig) *Global {
	g := &Global{bucket: ratelimit.New(cfg.PerSecond, cfg.Burst), maxWait: cfg.MaxWait,
		prefixRate: cfg.PrefixPerSecond, prefixBurst: cfg.PrefixBurst,
		quietRate: cfg.QuietPerSecond, quietBurst: cfg.QuietBurst}
	switch {
	case cfg.Reserve == 0:
		g.reserve = float64(cfg.Burst / 2)
	case cfg.Reserve > 0:
		g.reserve = float64(cfg.Reserve)
	}
	if g.prefixRate <= 0 {
		g.prefixRate = DefaultPrefixPerSecond
	}
	if g.prefixBurst <= 0 {
		g.prefixBurst = DefaultPrefixBurst
	}
	if g.quietRate <= 0 {
		g.quietRate = DefaultQuietPerSecond
	}
	if g.quietBurst <= 0 {
		g.quietBurst = DefaultQuietBurst
	}
	size := cfg.Prefixes
	if size <= 0 {
		size = DefaultPrefixes
	}
	g.prefixes, _ = lru.New[string, *network](size)
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
	// sleep waits d for the global bucket and reports whether ctx lasted;
	// tests set it to skip the real wait.
	sleep func(ctx context.Context, d time.Duration) bool
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
	l.sleep = sleep
	size := cfg.Clients
	if size <= 0 {
		size = DefaultClients
	}
	l.clients, _ = lru.New[string, *ratelimit.Bucket](size)
	return l
}

// Take spends one call from client's bucket, one from its network's and
// one from the global bucket, and reports whether the call may be made.
// A call from a quiet network (one with a quiet call left) may spend the
// global reserve, waiting for the global bucket at most its MaxWait and
// while ctx lasts; any other call takes what is left above the reserve
// at once or is refused, so that it never queues in front of a quiet
// one. A refusal spends nothing of the shares it did not pass.
func (l *Limiter) Take(ctx context.Context, client string) bool {
	b := bucket(l.clients, client, l.rate, l.burst)
	now := l.now()
	if !b.Take(now) {
		return false
	}
	g := l.global
	n := g.network(PrefixKey(client))
	if !n.share.Take(now) {
		b.Return()
		return false
	}
	if !n.quiet.Take(now) {
		if g.bucket.TakeAbove(now, g.reserve) {
			return true
		}
		n.share.Return()
		b.Return()
		return false
	}
	wait, ok := g.bucket.Reserve(now, g.maxWait)
	if ok && (wait <= 0 || l.sleep(ctx, wait)) {
		return true
	}
	if ok {
		g.bucket.Return()
	}
	n.quiet.Return()
	n.share.Return()
	b.Return()
	return false
}

// sleep waits d unless ctx ends first, and reports whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Refund gives client and its network back the call it spent on
// something Clerk confirmed (a live credential, a genuine nonce): genuine
// traffic never uses up a client's or a network's share, nor makes its
// network less quiet. The quiet call is given back even when the call
// was not made as one (Take does not say): a confirmed call is what a
// quiet network's calls are, and each costs an attacker something Clerk
// confirms. The global bucket keeps the call: it counts calls made,
// whatever they were for.
func (l *Limiter) Refund(client string) {
	if b, ok := l.clients.Get(client); ok {
		b.Return()
	}
	if n, ok := l.global.prefixes.Get(PrefixKey(client)); ok {
		n.share.Return()
		n.quiet.Return()
	}
}

// network is the buckets of the network named key, full new ones if none
// are kept.
func (g *Global) network(key string) *network {
	if n, ok := g.prefixes.Get(key); ok {
		return n
	}
	n := &network{share: ratelimit.New(g.prefixRate, g.prefixBurst), quiet: ratelimit.New(g.quietRate, g.quietBurst)}
	if prev, ok, _ := g.prefixes.PeekOrAdd(key, n); ok {
		return prev
	}
	return n
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
