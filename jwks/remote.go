package jwks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/clerkgate/clerkgate/internal/redact"
)

const (
	defaultFetchTimeout       = 5 * time.Second
	defaultRefreshInterval    = time.Hour
	defaultMinRefetchInterval = 10 * time.Second

	// maxBodyBytes caps a JWKS document. Real sets are a few KiB; the cap
	// keeps a misbehaving or hostile endpoint from making us buffer without
	// limit.
	maxBodyBytes = 1 << 20
)

// RemoteConfig configures a Remote. The zero value of every field except URL
// means "use the default".
type RemoteConfig struct {
	// URL is the JWKS document's absolute http(s) URL. NewBackendAPI and
	// NewFrontendAPI fill it in themselves and refuse a value here.
	URL string

	// Header is sent on every fetch, for endpoints that need credentials
	// (the Backend API wants the secret key as a bearer token). It is
	// copied, so later changes to the caller's map have no effect.
	Header http.Header

	// HTTPClient makes the fetches. The default is a client with a
	// transport of its own, never http.DefaultClient: another package
	// changing the shared client's timeout or transport must not change
	// how keys are fetched, and Close can drop our idle connections
	// without touching anyone else's. The client's own Timeout, if any,
	// still applies on top of FetchTimeout.
	HTTPClient *http.Client

	// FetchTimeout bounds one fetch, connection to last byte. Default 5s.
	// It is measured from the Remote's own lifetime, not from the request
	// that triggered the fetch, so one impatient caller giving up does not
	// fail a fetch that others are waiting on.
	FetchTimeout time.Duration

	// RefreshInterval is how often the key set is refetched in the
	// background. Default 1h. Rotations are also picked up on demand when
	// a token names an unknown kid, so this mostly drops retired keys.
	RefreshInterval time.Duration

	// MinRefetchInterval is the least time between two fetch attempts
	// triggered by unknown kids. Default 10s. Anyone can send a token with a
	// made-up kid; without this limit a stream of them would become a
	// stream of requests to the key endpoint.
	MinRefetchInterval time.Duration

	// Logger receives fetch failures (Warn, with the URL and the reason)
	// and key set changes (Info). Nothing is logged per request. Default:
	// discard.
	Logger *slog.Logger

	// OnFetch, when set, is called after every fetch attempt that ran to
	// its end (not one cut short by Close), with the fetch's own context
	// and its outcome: for metrics and traces. Fetches are shared by the
	// callers waiting on them, so the context is never a request's. It
	// runs on the fetching goroutine and must return quickly.
	OnFetch func(context.Context, FetchResult)
}

// FetchResult is the outcome of one fetch of the key set.
type FetchResult struct {
	// Err is why the fetch failed, or nil: the keys held were replaced.
	Err error
	// Keys is how many keys are held after the fetch.
	Keys int
}

// Remote is a Source backed by a JWKS URL. It keeps the last good key set
// in memory, refreshes it in the background, refetches (rate-limited) when
// a token names a kid it has not seen, and keeps serving the keys it has
// when a fetch fails. Create it with NewRemote, NewBackendAPI or
// NewFrontendAPI and Close it when done.
type Remote struct {
	url          string
	shownURL     string // url for messages: redacted, since it may carry credentials
	header       http.Header
	client       *http.Client
	ownTransport *http.Transport // set when we built the client; closed by Close
	fetchTimeout time.Duration
	refreshEvery time.Duration
	minRefetch   time.Duration
	log          *slog.Logger
	onFetch      func(context.Context, FetchResult) // nil when unobserved

	// keys is the current snapshot. It is never modified once stored, so
	// readers need no lock; a fetch stores a whole new one.
	keys atomic.Pointer[snapshot]

	life      context.Context // parent of every fetch; cancelled by Close
	stop      context.CancelFunc
	done      chan struct{} // closed when the refresh goroutine returns
	fetching  sync.WaitGroup
	closeOnce sync.Once

	group singleflight.Group

	mu          sync.Mutex // guards the fields below
	inFlight    bool
	generation  uint64 // names the singleflight call of the current fetch
	closed      bool
	lastAttempt time.Time
	lastErr     error // outcome of the most recent completed fetch

	stats counters
}

var _ Source = (*Remote)(nil)

// snapshot is one successfully fetched key set.
type snapshot struct {
	byID      map[string]Key
	fetchedAt time.Time
}

type counters struct {
	fetches, failures, refetches, refused, misses atomic.Uint64
}

// Stats is a point-in-time copy of a Remote's counters, for metrics and
// health checks.
type Stats struct {
	// Fetches counts fetch attempts of every kind: start-up, background and
	// unknown-kid refetches.
	Fetches uint64
	// FetchFailures counts attempts that failed (network, timeout, status,
	// bad or oversized document, no usable key).
	FetchFailures uint64
	// Refetches counts fetches started because a token named an unknown
	// kid. Callers that joined a fetch already in flight are not counted.
	Refetches uint64
	// RefetchesRefused counts unknown-kid lookups that were not allowed to
	// start a fetch because of MinRefetchInterval. A high number means
	// someone is sending tokens with kids we do not have.
	RefetchesRefused uint64
	// Misses counts Key calls that did not find their kid in memory.
	Misses uint64
	// Keys is the number of keys currently held.
	Keys int
	// LastSuccess is when the current key set was fetched; zero if no fetch
	// has succeeded yet.
	LastSuccess time.Time
	// LastFetchFailed reports that the most recent completed fetch failed,
	// meaning the keys held may be stale.
	LastFetchFailed bool
}

// NewRemote starts a key source for cfg.URL. It returns at once: the first
// fetch runs in the background, so an unreachable key endpoint delays the
// first verifications instead of failing start-up. The source lives until
// Close is called or ctx is cancelled.
func NewRemote(ctx context.Context, cfg RemoteConfig) (*Remote, error) {
	if ctx == nil {
		return nil, errors.New("jwks: NewRemote: nil context")
	}
	if err := checkHTTPURL(cfg.URL); err != nil {
		return nil, fmt.Errorf("jwks: key set URL: %w", err)
	}
	for name, d := range map[string]time.Duration{
		"FetchTimeout":       cfg.FetchTimeout,
		"RefreshInterval":    cfg.RefreshInterval,
		"MinRefetchInterval": cfg.MinRefetchInterval,
	} {
		if d < 0 {
			return nil, fmt.Errorf("jwks: %s is negative (%v)", name, d)
		}
	}
	r := &Remote{
		url:          cfg.URL,
		shownURL:     redact.URL(cfg.URL),
		header:       cfg.Header.Clone(),
		client:       cfg.HTTPClient,
		fetchTimeout: orDefault(cfg.FetchTimeout, defaultFetchTimeout),
		refreshEvery: orDefault(cfg.RefreshInterval, defaultRefreshInterval),
		minRefetch:   orDefault(cfg.MinRefetchInterval, defaultMinRefetchInterval),
		log:          cfg.Logger,
		onFetch:      cfg.OnFetch,
		done:         make(chan struct{}),
	}
	if r.header == nil {
		r.header = make(http.Header)
	}
	if r.header.Get("Accept") == "" {
		r.header.Set("Accept", "application/json")
	}
	if r.client == nil {
		r.ownTransport = newTransport()
		r.client = &http.Client{Transport: r.ownTransport}
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.life, r.stop = context.WithCancel(ctx)

	// Register the start-up fetch before returning, so that a Key call made
	// right after construction joins it instead of being rate-limited.
	r.mu.Lock()
	r.startFetchLocked()
	r.mu.Unlock()

	go r.refreshLoop()
	return r, nil
}

// URL is the address the key set is fetched from, as configured: with
// NewRemote it may hold credentials, so do not log it (the Remote's own
// errors and logs show it without them).
func (r *Remote) URL() string { return r.url }

// Key returns the key with the given kid. A kid in memory is answered
// without locks or allocation. An unknown kid may trigger a refetch (see
// RemoteConfig.MinRefetchInterval); Key waits for it no longer than ctx
// allows, and the fetch carries on for other callers if this one gives up.
// Errors are *KeyError values wrapping ErrKeyNotFound or ErrUnavailable.
func (r *Remote) Key(ctx context.Context, kid string) (Key, error) {
	if snap := r.keys.Load(); snap != nil {
		if k, ok := snap.byID[kid]; ok {
			return k, nil
		}
	}
	return r.missed(ctx, kid)
}

// missed is the slow path of Key. Keeping it apart keeps the hit path
// free of locks, defers and anything that could allocate.
func (r *Remote) missed(ctx context.Context, kid string) (Key, error) {
	r.stats.misses.Add(1)
	if kid == "" {
		// No fetch can produce a key for a token without a kid.
		reason := ErrKeyNotFound
		if r.keys.Load() == nil {
			reason = ErrUnavailable
		}
		return Key{}, &KeyError{KID: kid, Reason: reason, Cause: errEmptyKID}
	}

	r.mu.Lock()
	// Re-check under the lock: a fetch may have finished since the lookup
	// in Key, and it may have brought this kid.
	if snap := r.keys.Load(); snap != nil {
		if k, ok := snap.byID[kid]; ok {
			r.mu.Unlock()
			return k, nil
		}
	}
	var ch <-chan singleflight.Result
	var refusal error
	switch {
	case r.closed || r.life.Err() != nil:
		refusal = errClosed
	case r.inFlight:
		// Joining is free, whatever the rate limit says.
		ch = r.group.DoChan(r.callKey(), r.fetch)
	case time.Since(r.lastAttempt) < r.minRefetch:
		r.stats.refused.Add(1)
		refusal = fmt.Errorf("refetch not allowed yet: last fetch attempt %v ago, minimum interval %v",
			time.Since(r.lastAttempt).Round(time.Microsecond), r.minRefetch)
	default:
		r.stats.refetches.Add(1)
		ch = r.startFetchLocked()
	}
	if refusal != nil {
		if r.lastErr != nil {
			refusal = fmt.Errorf("%w; last fetch failed: %w", refusal, r.lastErr)
		}
		err := r.keyErrorLocked(kid, refusal)
		r.mu.Unlock()
		return Key{}, err
	}
	r.mu.Unlock()

	select {
	case res := <-ch:
		if snap := r.keys.Load(); snap != nil {
			if k, ok := snap.byID[kid]; ok {
				return k, nil
			}
		}
		if res.Err != nil {
			// The set we waited for could not be had, so the kid may well
			// exist: our fault, whatever was fetched before.
			return Key{}, &KeyError{KID: kid, Reason: ErrUnavailable, Cause: res.Err}
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		return Key{}, r.keyErrorLocked(kid, errNotInSet)
	case <-ctx.Done():
		// The caller's deadline, not ours: the fetch goes on for the others.
		return Key{}, &KeyError{KID: kid, Reason: ErrUnavailable,
			Cause: fmt.Errorf("gave up waiting for the key set: %w", ctx.Err())}
	}
}

// Check fetches the key set, or joins the fetch under way, and returns
// what went wrong: nil once keys were had, the fetch's error otherwise
// (wrapping ErrUnauthorized when the endpoint refused the credentials).
// It is for start-up and health checks. Like unknown kids it starts at
// most one fetch per MinRefetchInterval: called more often (a health
// endpoint polled, or hammered, by anyone) it reports the latest fetch
// instead of asking the endpoint again.
func (r *Remote) Check(ctx context.Context) error {
	r.mu.Lock()
	var ch <-chan singleflight.Result
	switch {
	case r.closed || r.life.Err() != nil:
		r.mu.Unlock()
		return fmt.Errorf("jwks: %w", errClosed)
	case r.inFlight:
		ch = r.group.DoChan(r.callKey(), r.fetch)
	case time.Since(r.lastAttempt) < r.minRefetch:
		err := r.lastErr
		r.mu.Unlock()
		return err
	default:
		ch = r.startFetchLocked()
	}
	r.mu.Unlock()
	select {
	case res := <-ch:
		return res.Err
	case <-ctx.Done():
		return fmt.Errorf("jwks: gave up waiting for the key set from %s: %w", r.shownURL, ctx.Err())
	}
}

// keyErrorLocked picks the reason for a lookup that found nothing. Once a
// set has been fetched an unknown kid is the token's fault (401), unless
// the latest attempt failed: then the key may exist and we cannot see it,
// which is our fault (503).
func (r *Remote) keyErrorLocked(kid string, cause error) *KeyError {
	reason := ErrKeyNotFound
	if r.keys.Load() == nil || r.lastErr != nil {
		reason = ErrUnavailable
	}
	return &KeyError{KID: kid, Reason: reason, Cause: cause}
}

// startFetchLocked starts a fetch. The caller holds r.mu and has checked
// that none is in flight.
func (r *Remote) startFetchLocked() <-chan singleflight.Result {
	r.inFlight = true
	r.lastAttempt = time.Now()
	r.generation++
	r.fetching.Add(1)
	r.stats.fetches.Add(1)
	return r.group.DoChan(r.callKey(), r.fetch)
}

// callKey names the current fetch in the singleflight group. Each fetch
// gets its own name: with a fixed one, a fetch started just after the
// previous one cleared inFlight could attach to that finishing call and
// never run.
func (r *Remote) callKey() string { return strconv.FormatUint(r.generation, 10) }

// fetch runs one fetch under the singleflight group. Its result is also
// recorded in the Remote, so callers that did not wait still see it.
func (r *Remote) fetch() (any, error) {
	defer r.fetching.Done()
	ctx, cancel := context.WithTimeout(r.life, r.fetchTimeout)
	defer cancel()

	// Only one fetch runs at a time, so prev is the snapshot we replace.
	prev := r.keys.Load()
	next, err := r.fetchSnapshot(ctx, prev)
	// A fetch cut short by Close or by the lifetime context says nothing
	// about the endpoint: it is not counted, logged or remembered.
	shutdown := err != nil && r.life.Err() != nil

	// The new snapshot, the end of the fetch and its outcome become visible
	// in one critical section: a caller that already sees the new keys can
	// never join this (finished) fetch or read a stale lastErr.
	r.mu.Lock()
	if next != nil {
		r.keys.Store(next)
	}
	r.inFlight = false
	if !shutdown {
		r.lastErr = err
	}
	r.mu.Unlock()

	switch {
	case shutdown:
	case err != nil:
		r.stats.failures.Add(1)
		r.logFailure(prev != nil, err)
	default:
		var prevKeys map[string]Key
		if prev != nil {
			prevKeys = prev.byID
		}
		if added, removed := diffKids(prevKeys, next.byID); len(added)+len(removed) > 0 {
			r.log.Info("jwks: key set changed", "url", r.shownURL, "added", added, "removed", removed)
		}
	}
	if r.onFetch != nil && !shutdown {
		res := FetchResult{Err: err}
		if snap := r.keys.Load(); snap != nil {
			res.Keys = len(snap.byID)
		}
		r.onFetch(ctx, res)
	}
	return nil, err
}

// logFailure says what a failed fetch means for the tokens. A refused
// credential is an operator's mistake that no retry mends, so it is an
// error, not a warning to wait out.
func (r *Remote) logFailure(haveKeys bool, err error) {
	switch {
	case errors.Is(err, ErrUnauthorized):
		r.log.Error("jwks: the key endpoint refused the credentials: check the secret key (CLERK_SECRET_KEY) and the API URL (CLERK_API_URL)",
			"url", r.shownURL, "error", err, "have_keys", haveKeys)
	case haveKeys:
		r.log.Warn("jwks: key set fetch failed; keeping the keys we have", "url", r.shownURL, "error", err)
	default:
		r.log.Warn("jwks: key set fetch failed and no keys were had yet: tokens are refused (jwks_unavailable) until a fetch succeeds",
			"url", r.shownURL, "error", err)
	}
}

// fetchSnapshot downloads and parses the key set. It returns nil and an
// error when the document cannot replace the current keys.
func (r *Remote) fetchSnapshot(ctx context.Context, prev *snapshot) (*snapshot, error) {
	body, err := r.download(ctx)
	if err != nil {
		return nil, err
	}
	var prevKeys map[string]Key
	if prev != nil {
		prevKeys = prev.byID
	}
	res, err := parseKeySet(body, prevKeys)
	if len(res.weak) > 0 {
		r.log.Warn("jwks: ignoring RSA keys shorter than 2048 bits",
			"url", r.shownURL, "kids", kidsOf(res.weak))
	}
	if len(res.skipped) > 0 {
		r.log.Debug("jwks: ignoring keys that cannot verify tokens",
			"url", r.shownURL, "skipped", skipList(parseResult{skipped: res.skipped}))
	}
	if err != nil {
		return nil, fmt.Errorf("jwks: GET %s: %w", r.shownURL, err)
	}
	return &snapshot{byID: res.keys, fetchedAt: time.Now()}, nil
}

func (r *Remote) download(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, r.transportError(ctx, err)
	}
	req.Header = r.header.Clone()
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, r.transportError(ctx, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized, http.StatusForbidden:
		return nil, fmt.Errorf("jwks: GET %s: status %s: %w", r.shownURL, resp.Status, ErrUnauthorized)
	default:
		return nil, fmt.Errorf("jwks: GET %s: status %s", r.shownURL, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	if err != nil {
		return nil, r.transportError(ctx, err)
	}
	if len(body) > maxBodyBytes {
		return nil, fmt.Errorf("jwks: GET %s: document larger than %d bytes", r.shownURL, maxBodyBytes)
	}
	return body, nil
}

// transportError drops net/http's own "Get URL:" prefix (we add ours;
// theirs would show the URL unredacted) and turns a bare "context deadline
// exceeded" into something an operator can act on.
func (r *Remote) transportError(ctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && r.life.Err() == nil {
		return fmt.Errorf("jwks: GET %s: no complete answer within %v: %w", r.shownURL, r.fetchTimeout, err)
	}
	return fmt.Errorf("jwks: GET %s: %w", r.shownURL, err)
}

// refreshLoop keeps the key set fresh so that retired keys drop out even
// when no token ever names an unknown kid.
func (r *Remote) refreshLoop() {
	defer close(r.done)
	tick := time.NewTicker(r.refreshEvery)
	defer tick.Stop()
	for {
		select {
		case <-r.life.Done():
			return
		case <-tick.C:
			r.mu.Lock()
			if !r.inFlight && !r.closed && r.life.Err() == nil {
				r.startFetchLocked()
			}
			r.mu.Unlock()
		}
	}
}

// Close stops background refreshing, cancels a fetch in progress and waits
// for both to end. Keys already fetched stay available; unknown kids fail.
// Close is safe to call more than once and always returns nil.
func (r *Remote) Close() error {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		r.closed = true // from here on no fetch starts, so Wait below is final
		r.mu.Unlock()
		r.stop()
		<-r.done
		r.fetching.Wait()
		if r.ownTransport != nil {
			r.ownTransport.CloseIdleConnections()
		}
	})
	return nil
}

// Stats returns the current counters.
func (r *Remote) Stats() Stats {
	s := Stats{
		Fetches:          r.stats.fetches.Load(),
		FetchFailures:    r.stats.failures.Load(),
		Refetches:        r.stats.refetches.Load(),
		RefetchesRefused: r.stats.refused.Load(),
		Misses:           r.stats.misses.Load(),
	}
	if snap := r.keys.Load(); snap != nil {
		s.Keys = len(snap.byID)
		s.LastSuccess = snap.fetchedAt
	}
	r.mu.Lock()
	s.LastFetchFailed = r.lastErr != nil
	r.mu.Unlock()
	return s
}

func newTransport() *http.Transport {
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		return dt.Clone()
	}
	return &http.Transport{Proxy: http.ProxyFromEnvironment}
}

func checkHTTPURL(raw string) error {
	if raw == "" {
		return errors.New("empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q: %s", redact.URL(raw), redact.Reason(raw, url.Parse))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", redact.URL(raw))
	}
	return nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func diffKids(prev, next map[string]Key) (added, removed []string) {
	for kid := range next {
		if _, ok := prev[kid]; !ok {
			added = append(added, kid)
		}
	}
	for kid := range prev {
		if _, ok := next[kid]; !ok {
			removed = append(removed, kid)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed
}
