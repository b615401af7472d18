package machine

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"

	"github.com/clerkgate/clerkgate/internal/ratelimit"
)

// Defaults of VerifierConfig.
const (
	DefaultMaxAge        = 60 * time.Second
	DefaultRefusalAge    = 10 * time.Second
	DefaultCacheSize     = 10_000
	DefaultNewPerSecond  = 10
	DefaultNewBurst      = 20
	DefaultVerifyTimeout = 5 * time.Second
)

// ErrBusy is returned, without a call, when a credential this Verifier
// has not verified before arrives while the bound on new credentials is
// spent. It is the server's limit, not the credential's fault: answer 503.
var ErrBusy = errors.New("machine: too many new credentials; try again shortly")

// VerifierConfig sets up a Verifier. Only Client is required.
type VerifierConfig struct {
	// Client makes the verify calls.
	Client *Client
	// MaxAge is the longest a verified credential is trusted without
	// asking Clerk again, and so the longest a revocation made elsewhere
	// takes to reach this process. Default 60 s. A credential is never
	// trusted past its own expiry.
	MaxAge time.Duration
	// RefusalAge is how long Clerk's "not found", "revoked" and "expired"
	// answers are remembered. Default 10 s.
	RefusalAge time.Duration
	// CacheSize bounds how many credentials are remembered, verified and
	// refused together (and, separately, how many are known to have been
	// good once). Default 10,000.
	CacheSize int
	// NewPerSecond and NewBurst bound the verify calls for credentials
	// this Verifier has never seen pass: a token bucket of NewBurst
	// calls, refilled at NewPerSecond. Past it such credentials get
	// ErrBusy without a call. Credentials that passed before are not
	// counted, so a flood of random keys never locks out known callers.
	// Defaults 10 and 20: in t seconds, at most 20 + 10·t calls for new
	// credentials.
	NewPerSecond float64
	NewBurst     int
	// Timeout bounds one verify call; default 5 s.
	Timeout time.Duration
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
}

// Verifier verifies opaque machine credentials through the Backend API,
// behind a bounded cache. Keys of the cache are keyed digests (HMAC-SHA256
// under a random per-Verifier key), never the secrets. It is safe for
// concurrent use.
type Verifier struct {
	client     *Client
	maxAge     time.Duration
	refusalAge time.Duration
	timeout    time.Duration
	now        func() time.Time
	digestKey  [32]byte
	// The key XORed with HMAC's inner and outer pads, made once.
	ipad, opad [sha256.BlockSize]byte

	results *lru.Cache[[32]byte, result]
	known   *lru.Cache[[32]byte, struct{}] // credentials that passed once
	byID    *lru.Cache[string, [32]byte]   // a passed credential's id → its key, for ForgetID
	calls   singleflight.Group
	bucket  *ratelimit.Bucket

	stats struct{ hits, calls, busy atomic.Uint64 }
}

// result is one remembered verdict.
type result struct {
	id    *Identity
	err   error // ErrNotFound, ErrRevoked or ErrExpired (wrapped)
	until time.Time
}

// NewVerifier checks cfg and returns a Verifier.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if cfg.Client == nil {
		return nil, fmt.Errorf("%w: VerifierConfig.Client is required", ErrInvalidConfig)
	}
	if cfg.MaxAge < 0 || cfg.RefusalAge < 0 || cfg.CacheSize < 0 || cfg.NewPerSecond < 0 || cfg.NewBurst < 0 || cfg.Timeout < 0 {
		return nil, fmt.Errorf("%w: negative limit", ErrInvalidConfig)
	}
	v := &Verifier{
		client:     cfg.Client,
		maxAge:     or(cfg.MaxAge, DefaultMaxAge),
		refusalAge: or(cfg.RefusalAge, DefaultRefusalAge),
		timeout:    or(cfg.Timeout, DefaultVerifyTimeout),
		now:        cfg.Clock,
	}
	if v.now == nil {
		v.now = time.Now
	}
	size := or(cfg.CacheSize, DefaultCacheSize)
	v.results, _ = lru.New[[32]byte, result](size)
	v.known, _ = lru.New[[32]byte, struct{}](size)
	v.byID, _ = lru.New[string, [32]byte](size)
	v.bucket = ratelimit.New(or(cfg.NewPerSecond, DefaultNewPerSecond), or(cfg.NewBurst, DefaultNewBurst))
	_, _ = rand.Read(v.digestKey[:]) // never fails since Go 1.24
	for i := range sha256.BlockSize {
		var k byte
		if i < len(v.digestKey) {
			k = v.digestKey[i]
		}
		v.ipad[i], v.opad[i] = k^0x36, k^0x5c
	}
	return v, nil
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Verify verifies an opaque credential ("mt_…", "ak_…" or "oat_…"). It
// returns the Identity, or an error: ErrInvalidInput (not a credential
// of that shape, no call made), ErrNotFound, ErrRevoked or ErrExpired
// (Clerk's verdict), ErrBusy (the bound on new credentials is spent), or
// any other error for an outage. Callers wait at most Timeout, or less if
// ctx ends first.
func (v *Verifier) Verify(ctx context.Context, token string) (*Identity, error) {
	typ, err := opaqueType(token)
	if err != nil {
		return nil, err
	}
	key := v.digest(token)
	now := v.now()
	if r, ok := v.results.Get(key); ok {
		if now.Before(r.until) {
			v.stats.hits.Add(1)
			return r.id, r.err
		}
		v.results.Remove(key)
	}
	ch := v.calls.DoChan(string(key[:]), func() (any, error) {
		return v.call(ctx, typ, token, key)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		r := res.Val.(result)
		return r.id, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// call makes the one verify call that parallel requests for key share,
// and remembers its verdict.
func (v *Verifier) call(ctx context.Context, typ TokenType, token string, key [32]byte) (result, error) {
	if _, known := v.known.Get(key); !known && !v.bucket.Take(v.now()) {
		v.stats.busy.Add(1)
		return result{}, ErrBusy
	}
	v.stats.calls.Add(1)
	// The call outlives the request that started it, so one caller giving
	// up does not fail the others waiting on it; Timeout bounds it.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.timeout)
	defer cancel()
	var (
		id  *Identity
		err error
	)
	switch typ {
	case APIKey:
		id, err = v.client.VerifyAPIKey(cctx, token)
	case M2MToken:
		id, err = v.client.VerifyM2MToken(cctx, token)
	default:
		id, err = v.client.VerifyOAuthToken(cctx, token)
	}
	now := v.now()
	switch {
	case err == nil:
		until := now.Add(v.maxAge)
		if !id.ExpiresAt.IsZero() && id.ExpiresAt.Before(until) {
			until = id.ExpiresAt
		}
		v.known.Add(key, struct{}{})
		if id.ID != "" {
			v.byID.Add(id.ID, key)
		}
		r := result{id: id, until: until}
		if until.After(now) {
			v.results.Add(key, r)
		}
		return r, nil
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrRevoked), errors.Is(err, ErrExpired):
		v.known.Remove(key)
		r := result{err: err, until: now.Add(v.refusalAge)}
		v.results.Add(key, r)
		return r, nil
	}
	// An outage says nothing about the credential: nothing is remembered.
	return result{}, err
}

// Forget drops what the Verifier remembers of token, so that the next
// request asks Clerk again (after a revocation through this process).
func (v *Verifier) Forget(token string) {
	key := v.digest(token)
	v.results.Remove(key)
}

// ForgetID drops what the Verifier remembers of the credential whose id
// ("ak_…", "mt_…", "oat_…") it verified, so that the next request with it
// asks Clerk again: call it after revoking the credential. The index from
// ids to cache keys is bounded as the cache is; an id it has let go of
// has no entry left to drop, or one that lapses within MaxAge. A verify
// call already in flight when the credential is revoked may still
// remember Clerk's earlier answer, for MaxAge at most.
func (v *Verifier) ForgetID(id string) {
	if key, ok := v.byID.Get(id); ok {
		v.results.Remove(key)
		v.byID.Remove(id)
	}
}

// digest is HMAC-SHA256(digestKey, token), the cache's key for token.
// Every request with an opaque credential pays for it, so credentials of
// a size Verify accepts are hashed in buffers on the stack, without the
// three allocations of crypto/hmac (TestDigestIsHMAC holds the two ways
// to the same answer); anything longer, which Forget may be given, goes
// through crypto/hmac.
func (v *Verifier) digest(token string) [32]byte {
	if len(token) > MaxCredentialSize {
		m := hmac.New(sha256.New, v.digestKey[:])
		m.Write([]byte(token))
		var out [32]byte
		m.Sum(out[:0])
		return out
	}
	// RFC 2104 with a key shorter than the block: H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)).
	var inner [sha256.BlockSize + MaxCredentialSize]byte
	var outer [sha256.BlockSize + sha256.Size]byte
	copy(inner[:], v.ipad[:])
	copy(outer[:], v.opad[:])
	n := copy(inner[sha256.BlockSize:], token)
	sum := sha256.Sum256(inner[:sha256.BlockSize+n])
	copy(outer[sha256.BlockSize:], sum[:])
	return sha256.Sum256(outer[:])
}

// Stats counts what a Verifier did.
type Stats struct {
	// Hits are requests answered from the cache; Calls are verify calls
	// made; Busy are requests refused by the bound on new credentials.
	Hits, Calls, Busy uint64
	// Entries is how many verdicts the cache holds now.
	Entries int
}

// Stats returns the Verifier's counters.
func (v *Verifier) Stats() Stats {
	return Stats{Hits: v.stats.hits.Load(), Calls: v.stats.calls.Load(), Busy: v.stats.busy.Load(), Entries: v.results.Len()}
}

func opaqueType(token string) (TokenType, error) {
	switch {
	case strings.HasPrefix(token, APIKeyPrefix):
		return APIKey, checkCredential(token, APIKeyPrefix)
	case strings.HasPrefix(token, M2MTokenPrefix):
		return M2MToken, checkCredential(token, M2MTokenPrefix)
	case strings.HasPrefix(token, OAuthTokenPrefix):
		return OAuthToken, checkCredential(token, OAuthTokenPrefix)
	}
	return "", fmt.Errorf("%w: not an opaque machine credential", ErrInvalidInput)
}
