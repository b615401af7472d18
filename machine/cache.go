package machine

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"

	"github.com/clerkgate/clerkgate/internal/fairshare"
)

// Defaults of VerifierConfig.
const (
	DefaultMaxAge        = 60 * time.Second
	DefaultRefusalAge    = 10 * time.Second
	DefaultCacheSize     = 10_000
	DefaultNewPerSecond  = 1
	DefaultNewBurst      = 10
	DefaultVerifyTimeout = 5 * time.Second
	// DefaultOutageWindow is how long calls are held after a failed one
	// whose answer named no Retry-After.
	DefaultOutageWindow = 5 * time.Second
	// MaxOutageWindow bounds the Retry-After the Backend API may ask for:
	// one answer cannot stop verification for longer.
	MaxOutageWindow = 60 * time.Second
)

// ErrBusy is returned, without a call, when a credential this Verifier
// has not verified before arrives while the client's share of calls for
// new credentials (or the process's) is spent. It is the server's limit,
// not the credential's fault: answer 503.
var ErrBusy = errors.New("machine: too many new credentials; try again shortly")

// UnavailableError is an outage: the Backend API failed to give a verdict
// (network, timeout, 429, 5xx, an answer that does not parse).
// The call that failed returns it with Err set. For RetryAfter from then
// on (Clerk's Retry-After within MaxOutageWindow, else OutageWindow),
// every credential that would need a call gets it again without one, Err
// nil: an outage costs one call, not one per request. Credentials still
// in the cache are served meanwhile.
type UnavailableError struct {
	Err        error
	RetryAfter time.Duration
}

func (e *UnavailableError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("machine: the Backend API failed moments ago; not calling it again for %s", e.RetryAfter)
	}
	return e.Err.Error()
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Limiter bounds the verify calls for credentials never seen pass.
// Take reports whether client may cost one now (it may wait a little for
// its turn, while ctx lasts); Refund gives client back a call spent on a
// credential Clerk confirmed.
type Limiter interface {
	Take(ctx context.Context, client string) bool
	Refund(client string)
}

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
	// NewPerSecond and NewBurst bound each client's verify calls for
	// credentials this Verifier has never seen pass (see VerifyFor): a
	// token bucket of NewBurst calls per client, refilled at NewPerSecond,
	// behind a global bucket of 50 per second, bursts of 100. Past them
	// such credentials get ErrBusy without a call. Credentials that
	// passed before are not counted, and one Clerk confirms gives its
	// client the call back, so a flood of random keys never locks out
	// known callers nor another client's new ones. Defaults 1 and 10: in
	// t seconds, at most 10 + t calls per client for new credentials.
	// Ignored when Limiter is set.
	NewPerSecond float64
	NewBurst     int
	// Limiter replaces the bound NewPerSecond and NewBurst set up, to
	// share one global bucket between limiters.
	Limiter Limiter
	// Timeout bounds one verify call; default 5 s.
	Timeout time.Duration
	// OutageWindow is how long verify calls are held after one failed
	// without a Retry-After (see UnavailableError); default 5 s.
	OutageWindow time.Duration
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
	window     time.Duration
	heldUntil  atomic.Int64 // Unix ns on now's clock until which calls are held; 0 for none
	now        func() time.Time
	digestKey  [32]byte
	// The key XORed with HMAC's inner and outer pads, made once.
	ipad, opad [sha256.BlockSize]byte

	results *lru.Cache[[32]byte, result]
	known   *lru.Cache[[32]byte, struct{}] // credentials that passed once
	byID    *lru.Cache[string, [32]byte]   // a passed credential's id → its key, for ForgetID
	calls   singleflight.Group
	limit   Limiter

	stats struct{ hits, calls, busy, held atomic.Uint64 }
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
	if cfg.MaxAge < 0 || cfg.RefusalAge < 0 || cfg.CacheSize < 0 || cfg.NewPerSecond < 0 || cfg.NewBurst < 0 || cfg.Timeout < 0 || cfg.OutageWindow < 0 {
		return nil, fmt.Errorf("%w: negative limit", ErrInvalidConfig)
	}
	v := &Verifier{
		client:     cfg.Client,
		maxAge:     or(cfg.MaxAge, DefaultMaxAge),
		refusalAge: or(cfg.RefusalAge, DefaultRefusalAge),
		timeout:    or(cfg.Timeout, DefaultVerifyTimeout),
		window:     or(cfg.OutageWindow, DefaultOutageWindow),
		now:        cfg.Clock,
	}
	if v.now == nil {
		v.now = time.Now
	}
	size := or(cfg.CacheSize, DefaultCacheSize)
	v.results, _ = lru.New[[32]byte, result](size)
	v.known, _ = lru.New[[32]byte, struct{}](size)
	v.byID, _ = lru.New[string, [32]byte](size)
	v.limit = cfg.Limiter
	if v.limit == nil {
		v.limit = fairshare.New(fairshare.Config{PerSecond: or(cfg.NewPerSecond, DefaultNewPerSecond),
			Burst: or(cfg.NewBurst, DefaultNewBurst), Clock: v.now})
	}
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

// Verify verifies an opaque credential ("mt_…", "ak_…" or "oat_…") for
// an unnamed client: VerifyFor with client "".
func (v *Verifier) Verify(ctx context.Context, token string) (*Identity, error) {
	return v.VerifyFor(ctx, "", token)
}

// VerifyFor verifies an opaque credential ("mt_…", "ak_…" or "oat_…")
// that client (a name for who sent it, such as its IP address) presented.
// It returns the Identity, or an error: ErrInvalidInput (not a credential
// of that shape, no call made), ErrNotFound, ErrRevoked or ErrExpired
// (Clerk's verdict), ErrBusy (client's share of calls for new
// credentials, or the process's, is spent), or an *UnavailableError for
// an outage. Callers wait at most Timeout, or less if ctx ends first.
func (v *Verifier) VerifyFor(ctx context.Context, client, token string) (*Identity, error) {
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
	if held := time.Duration(v.heldUntil.Load() - now.UnixNano()); held > 0 {
		v.stats.held.Add(1)
		return nil, &UnavailableError{RetryAfter: held}
	}
	ch := v.calls.DoChan(string(key[:]), func() (any, error) {
		return v.call(ctx, client, typ, token, key)
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
func (v *Verifier) call(ctx context.Context, client string, typ TokenType, token string, key [32]byte) (result, error) {
	// A caller that missed the cache just before another's shared call
	// remembered its verdict starts a call of its own: the verdict is
	// there now, so no second Backend API call is made for it.
	if r, ok := v.results.Get(key); ok && v.now().Before(r.until) {
		v.stats.hits.Add(1)
		return r, nil
	}
	_, known := v.known.Get(key)
	if !known && !v.limit.Take(ctx, client) {
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
		if !known {
			v.limit.Refund(client)
		}
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
	// A failure says nothing about the credential: nothing is remembered
	// of it. An outage (429, 5xx, no answer) also holds calls for a
	// while; a 401 or 403 (a key Clerk refuses) does not, so that no
	// answer a caller might provoke stops other callers' verification.
	var apiErr *APIError
	isAPIErr := errors.As(err, &apiErr)
	if isAPIErr && apiErr.StatusCode != http.StatusTooManyRequests && apiErr.StatusCode < 500 {
		// The credential is new again: its next calls spend its client's
		// share, so a known credential cannot turn a refused secret key
		// into one call (and one log line) per request.
		v.known.Remove(key)
		return result{}, err
	}
	wait := v.window
	if isAPIErr && apiErr.RetryAfter > 0 {
		wait = min(apiErr.RetryAfter, MaxOutageWindow)
	}
	v.heldUntil.Store(now.Add(wait).UnixNano())
	return result{}, &UnavailableError{Err: err, RetryAfter: wait}
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
	// made; Busy are requests refused by the bound on new credentials;
	// Held are requests refused without a call after a failed one.
	Hits, Calls, Busy, Held uint64
	// Entries is how many verdicts the cache holds now.
	Entries int
}

// Stats returns the Verifier's counters.
func (v *Verifier) Stats() Stats {
	return Stats{Hits: v.stats.hits.Load(), Calls: v.stats.calls.Load(), Busy: v.stats.busy.Load(), Held: v.stats.held.Load(),
		Entries: v.results.Len()}
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
