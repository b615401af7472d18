package verifier

import (
	"context"
	"crypto"
	"sync/atomic"

	lru "github.com/hashicorp/golang-lru/v2"
)

// DefaultCacheSize is how many verified tokens a Verifier remembers.
const DefaultCacheSize = 10_000

// maxCachedToken is the longest token the cache keeps. Clerk's tokens are
// about 1 KiB; the cap keeps the memory bound honest against tokens padded
// up to MaxTokenSize: at most DefaultCacheSize × (4 KiB + claims) ≈ 50 MiB
// in the worst case, and about 20 MiB with Clerk-sized tokens.
const maxCachedToken = 4 << 10

// verified is what the cache remembers of a token that passed every
// check: its claims, and the key that vouched for it.
type verified struct {
	claims  *Claims        // a session token's, or nil
	machine *MachineClaims // a machine JWT's, or nil
	kid     string
	key     crypto.PublicKey
}

// tokenCache remembers verified tokens. Keys are the full token string,
// so a hit is the same token byte for byte, never a digest collision.
// Only successes are stored: a failure is never turned into a pass.
type tokenCache struct {
	lru          *lru.Cache[string, verified]
	hits, misses atomic.Uint64
}

func newTokenCache(size int) *tokenCache {
	c, err := lru.New[string, verified](size)
	if err != nil {
		panic("verifier: " + err.Error()) // size is validated by New
	}
	return &tokenCache{lru: c}
}

// lookup returns the cached claims for token, after redoing the checks
// that can change while the token sits in the cache: the clock (exp, nbf,
// iat) and the key (a key that left the key set takes its tokens with it).
// ok is false on a miss; the caller then verifies from scratch.
func (v *Verifier) lookup(ctx context.Context, token string, now int64) (c *Claims, err *Error, ok bool) {
	e, found := v.cached(ctx, token)
	if !found || e.claims == nil {
		// A machine JWT's entry is no session's: verify from scratch,
		// which refuses it by type.
		v.cache.misses.Add(1)
		return nil, nil, false
	}
	v.cache.hits.Add(1)
	if err := checkTime(e.claims, now, v.skew); err != nil {
		if err.Reason == ReasonTokenExpired {
			// A copy: the refusal goes to the caller, the entry stays the
			// cache's. (An expired token is off the hot path.)
			err.Claims = e.claims.Clone()
		}
		return nil, err, true
	}
	return e.claims, nil, true
}

// lookupMachine is lookup for machine JWTs: a hit must have been
// verified as a want, and rechecks the key and the clock.
func (v *Verifier) lookupMachine(ctx context.Context, token string, want MachineKind) (c *MachineClaims, err *Error, ok bool) {
	e, found := v.cached(ctx, token)
	if !found || e.machine == nil || e.machine.Kind != want {
		v.cache.misses.Add(1)
		return nil, nil, false
	}
	v.cache.hits.Add(1)
	if err := v.checkMachineTime(e.machine, v.now().Unix()); err != nil {
		return nil, err, true
	}
	return e.machine, nil, true
}

// cached is token's entry if the key that vouched for it is still in the
// key set; an entry whose key left is dropped.
func (v *Verifier) cached(ctx context.Context, token string) (verified, bool) {
	e, found := v.cache.lru.Get(token)
	if !found {
		return e, false
	}
	if key, kerr := v.keys.Key(ctx, e.kid); kerr != nil || key.Public != e.key {
		v.cache.lru.Remove(token)
		return e, false
	}
	return e, true
}

func (v *Verifier) rememberMachine(token, kid string, key crypto.PublicKey, c *MachineClaims) {
	if v.cache != nil && len(token) <= maxCachedToken {
		v.cache.lru.Add(token, verified{machine: c, kid: kid, key: key})
	}
}

func (v *Verifier) remember(token, kid string, key crypto.PublicKey, c *Claims) {
	if v.cache != nil && len(token) <= maxCachedToken {
		v.cache.lru.Add(token, verified{claims: c, kid: kid, key: key})
	}
}

// CacheStats counts verified-token cache lookups.
type CacheStats struct {
	Hits, Misses uint64
	// Entries is how many tokens the cache holds now.
	Entries int
}

// CacheStats reports the verified-token cache's counters, for metrics.
func (v *Verifier) CacheStats() CacheStats {
	if v.cache == nil {
		return CacheStats{}
	}
	return CacheStats{Hits: v.cache.hits.Load(), Misses: v.cache.misses.Load(), Entries: v.cache.lru.Len()}
}
