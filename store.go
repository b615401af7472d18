package clerkgate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clerkgate/clerkgate/internal/expiring"
	"github.com/clerkgate/clerkgate/internal/revoked"
	"github.com/clerkgate/clerkgate/verifier"
)

// Store keeps what the replicas of an app must agree on: the outcome of
// refreshing an expired session token, the sessions whose refresh just
// failed, and the sessions revoked through them.
//
// A browser's parallel requests land on different replicas. Clerk accepts
// an expired token for refresh only once, so only one replica may refresh
// it and the others must reuse its outcome; a session whose refresh failed
// must not be refreshed again by another replica at once (anyone can pair
// their expired token with made-up refresh cookies); and a session revoked
// on one replica must be refused by all. The default Store, which a Gate
// makes when Config.Store is nil, keeps them in the process, which is all
// one replica needs. Several replicas
// share a Store backed by a distributed one, such as the Redis store in
// the module github.com/clerkgate/clerkgate/stores/redis.
//
// A Store never sees a session token or a cookie. Refresh outcomes are
// named by a digest of the expired token and sealed (AES-GCM) under a key
// derived from it, so only a request that carries the expired token can
// read them; a Store keeps them as opaque bytes.
//
// A Store serves one Gate, which owns it: New calls Start, and Gate.Close
// calls Close. Authentication does not depend on the Store being reachable:
// when a shared store fails, the Gate goes on with what it knows locally.
type Store interface {
	// Start is called once, by New, before any other method. The scope
	// names the Clerk instance the Gate serves, so a store shared by apps
	// of several instances keeps them apart, and gives the Gate's logger
	// and clock. Start must not wait for the network: a store that cannot
	// be reached yet is reached later.
	Start(StoreOptions) error

	// ClaimRefresh either claims the refresh of the expired token that key
	// names or returns the outcome another Gate published for it, waiting
	// while another Gate holds the claim. claimed is true when the caller
	// must refresh and then call PublishRefresh; sealed is the published
	// outcome otherwise. A claim whose holder never publishes lapses after
	// hold, and a waiting caller may then claim in its place.
	//
	// When ctx ends before there is an outcome, ClaimRefresh returns
	// ctx.Err(). Any other error means the store failed, and the Gate
	// refreshes on its own; so a store that has seen another Gate's claim
	// had better go on waiting through a failure, since a second refresh
	// of the token would only be refused as consumed.
	ClaimRefresh(ctx context.Context, key string, hold time.Duration) (sealed []byte, claimed bool, err error)

	// PublishRefresh records the outcome of a refresh this Gate claimed,
	// releases the claim and wakes the callers waiting for it.
	PublishRefresh(ctx context.Context, key string, outcome RefreshOutcome) error

	// FailRefresh records that a refresh of the session that key names
	// failed: until window has passed, RefreshFailed reports it, to this
	// Gate and to every other Gate sharing the store, so that they all
	// answer the session's other refreshes without calling Clerk. The key
	// is a digest of the session id.
	FailRefresh(ctx context.Context, key string, window time.Duration) error

	// RefreshFailed reports whether FailRefresh recorded a failure for key
	// less than window ago. A failure it learns from elsewhere counts for
	// at most window, however long the record claims to last. An error
	// means the store failed, and the Gate goes on with what it knows
	// locally.
	RefreshFailed(ctx context.Context, key string, window time.Duration) (bool, error)

	// RevokeSession records that a session is revoked, for ttl (the
	// scope's RevocationTerm). It takes effect for SessionRevoked in this
	// process at once, even when it returns an error (which means other
	// replicas may not learn of it), and lasts its whole term: a store
	// never drops a revocation made through its Gate early to make room.
	RevokeSession(ctx context.Context, sessionID string, ttl time.Duration) error

	// SessionRevoked reports whether a session was revoked. It runs on
	// every authenticated request, so it answers from memory, never over
	// the network.
	SessionRevoked(sessionID string) bool

	// RevokeUser records that the user's tokens issued at or before cutoff
	// (to the second) are refused, for ttl (the scope's RevocationTerm):
	// a Clerk webhook told the Gate that the user was deleted or banned
	// (cutoff is then the end of the term: every token), or that their
	// organization membership changed (cutoff is the change: tokens with
	// the old claims). Like RevokeSession, it takes effect in this process
	// at once, even when it returns an error, and lasts its whole term; a
	// later cutoff for the user replaces an earlier one, never the reverse.
	RevokeUser(ctx context.Context, userID string, cutoff time.Time, ttl time.Duration) error

	// UserRevoked reports whether a token of the user issued at issuedAt
	// is refused. Like SessionRevoked it runs on every authenticated
	// request: it answers from memory, and allocates nothing.
	UserRevoked(userID string, issuedAt time.Time) bool

	// MarkOnce records key for ttl unless it is already recorded, and
	// reports whether this call recorded it: SET NX with a TTL, shared by
	// every Gate on the store. The Gate marks each webhook message id, so
	// that a message delivered twice, to one replica or two, is applied
	// once. An error means the store failed.
	MarkOnce(ctx context.Context, key string, ttl time.Duration) (first bool, err error)

	// Unmark forgets a key MarkOnce recorded, so that the next delivery of
	// a message the app failed to handle is handled again.
	Unmark(ctx context.Context, key string) error

	// Close stops the store's background work and releases what it holds.
	// It is safe to call more than once.
	Close() error
}

// StoreOptions are the start-up parameters a Gate gives its Store
// (Store.Start) when it starts using it.
type StoreOptions struct {
	// Instance is a short, stable name for the Clerk instance (a digest of
	// its issuer): replicas configured alike get the same one, and two
	// instances never do. Shared stores put it in their key names.
	Instance string
	// Logger is the Gate's Config.Logger; never nil.
	Logger *slog.Logger
	// Clock is the Gate's Config.Clock; never nil.
	Clock func() time.Time
	// RevocationTerm is how long a revocation lasts: the Gate's
	// MaxTokenLifetime plus twice its clock skew, by when every token of
	// the session the Gate would accept has expired. A shared store caps
	// every revocation it hears of at this term from when it hears it, so
	// that nobody who can write to it can revoke a session for longer.
	RevocationTerm time.Duration
}

// RefreshOutcome is the outcome of one refresh, as a Store keeps it.
type RefreshOutcome struct {
	// Sealed is the outcome encrypted by the Gate: opaque to the store.
	Sealed []byte
	// Failed marks the outcome of a refresh that failed. Waiting callers
	// need it to stop waiting; a store keeps it only briefly, and never
	// lets it replace a success.
	Failed bool
	// TTL is how long to keep the outcome: for a success, the lifetime of
	// the new session token, after which nobody needs it.
	TTL time.Duration
}

// memoryStore is the default Store, which a Gate whose Config.Store is
// nil makes for itself: it keeps refresh outcomes and failed refreshes in
// bounded LRU caches and revoked sessions until their term, in this
// process only. Parallel requests of one process share one refresh, and
// later requests with the same expired token reuse its outcome until the
// new token expires; other processes learn nothing from it. It starts no
// goroutine.
//
// It has no revocation size: it hears no revocations from other
// replicas, and keeps those made through its Gate each for its whole
// term, whatever their number (each is a successful Backend API call or a
// verified webhook, so Clerk bounds them).
type memoryStore struct {
	mu      sync.Mutex // guards started
	started bool
	// now is set once by Start, which New calls before the Gate is used.
	now func() time.Time

	outcomes *expiring.Cache[string, []byte]
	failures *expiring.Cache[string, struct{}]
	markMu   sync.Mutex // makes MarkOnce's look and add one step
	// marks bounds the keys MarkOnce remembers (webhook message ids) at
	// defaultCacheSize: past it the oldest are forgotten early, and a
	// message delivered again after that many others is applied again,
	// which revocations bear (applying one twice changes nothing).
	marks *expiring.Cache[string, struct{}]
	// revoked is replaced by Start, which gives the term; until then the
	// default term holds.
	revoked atomic.Pointer[revoked.Set]
}

var _ Store = (*memoryStore)(nil)

// defaultCacheSize is the default of Config.Refresh.CacheSize, and the
// memoryStore's bound on webhook message ids.
const defaultCacheSize = 10_000

// newMemoryStore returns an empty memoryStore that remembers at most
// refreshCacheSize refresh outcomes and as many sessions' failed
// refreshes (Config.Refresh.CacheSize; 0 means the default).
func newMemoryStore(refreshCacheSize int) *memoryStore {
	s := &memoryStore{now: time.Now}
	s.outcomes = expiring.New[string, []byte](orDefault(refreshCacheSize, defaultCacheSize), s.clock)
	s.failures = expiring.New[string, struct{}](orDefault(refreshCacheSize, defaultCacheSize), s.clock)
	s.marks = expiring.New[string, struct{}](defaultCacheSize, s.clock)
	s.revoked.Store(revoked.New(s.clock, defaultMaxTokenLifetime+2*verifier.DefaultClockSkew, 0))
	return s
}

// Start adopts the Gate's clock. A memoryStore serves one Gate.
func (s *memoryStore) Start(scope StoreOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("clerkgate: the store already serves a Gate; give each Gate its own store")
	}
	s.started = true
	if scope.Clock != nil {
		s.now = scope.Clock
	}
	if scope.RevocationTerm > 0 {
		s.revoked.Store(revoked.New(s.clock, scope.RevocationTerm, 0))
	}
	return nil
}

// ClaimRefresh returns a remembered outcome, or the claim. There is no one
// to wait for: the Gate already shares one refresh among the parallel
// requests of its process.
func (s *memoryStore) ClaimRefresh(_ context.Context, key string, _ time.Duration) ([]byte, bool, error) {
	if sealed, ok := s.outcomes.Get(key); ok {
		return sealed, false, nil
	}
	return nil, true, nil
}

// PublishRefresh remembers a successful outcome for its TTL. A failure is
// not remembered: the requests that shared the failed refresh already
// have it, and a later request may try again.
func (s *memoryStore) PublishRefresh(_ context.Context, key string, out RefreshOutcome) error {
	if !out.Failed && out.TTL > 0 {
		s.outcomes.Add(key, out.Sealed, s.clock().Add(out.TTL))
	}
	return nil
}

// FailRefresh remembers the session's failed refresh for window.
func (s *memoryStore) FailRefresh(_ context.Context, key string, window time.Duration) error {
	s.failures.Add(key, struct{}{}, s.clock().Add(window))
	return nil
}

// RefreshFailed reports whether the session's refresh failed less than
// its window ago.
func (s *memoryStore) RefreshFailed(_ context.Context, key string, _ time.Duration) (bool, error) {
	_, ok := s.failures.Get(key)
	return ok, nil
}

// RevokeSession remembers the session as revoked for ttl, capped at the
// scope's RevocationTerm. Nothing pushes it out before then.
func (s *memoryStore) RevokeSession(_ context.Context, sessionID string, ttl time.Duration) error {
	s.revoked.Load().AddOwn(sessionID, ttl)
	return nil
}

// SessionRevoked reports whether the session was revoked less than its
// ttl ago.
func (s *memoryStore) SessionRevoked(sessionID string) bool {
	return s.revoked.Load().Has(sessionID)
}

// RevokeUser refuses the user's tokens issued at or before cutoff, for
// ttl capped at the scope's RevocationTerm.
func (s *memoryStore) RevokeUser(_ context.Context, userID string, cutoff time.Time, ttl time.Duration) error {
	s.revoked.Load().AddOwnCutoff(userID, cutoff.Unix(), ttl)
	return nil
}

// UserRevoked reports whether a token of the user issued at issuedAt is
// refused.
func (s *memoryStore) UserRevoked(userID string, issuedAt time.Time) bool {
	return s.revoked.Load().Refuses(userID, issuedAt.Unix())
}

// MarkOnce records key for ttl unless it is recorded.
func (s *memoryStore) MarkOnce(_ context.Context, key string, ttl time.Duration) (bool, error) {
	s.markMu.Lock()
	defer s.markMu.Unlock()
	if _, ok := s.marks.Get(key); ok {
		return false, nil
	}
	s.marks.Add(key, struct{}{}, s.clock().Add(ttl))
	return true, nil
}

// Unmark forgets key.
func (s *memoryStore) Unmark(_ context.Context, key string) error {
	s.marks.Remove(key)
	return nil
}

// Close does nothing: a memoryStore holds nothing but memory.
func (s *memoryStore) Close() error { return nil }

func (s *memoryStore) clock() time.Time { return s.now() }

// startStore starts the Store the Gate will use, the default one unless
// cfg names one, and has Close close it. When it fails, a Store from cfg
// stays the caller's.
func (g *Gate) startStore(cfg Config, issuer string) error {
	store := cfg.Store
	if store == nil {
		store = newMemoryStore(cfg.Refresh.CacheSize)
	}
	scope := StoreOptions{Instance: instanceName(issuer, cfg), Logger: g.log, Clock: g.now, RevocationTerm: g.revocationTerm()}
	if err := store.Start(scope); err != nil {
		return fmt.Errorf("clerkgate: store: %w", err)
	}
	g.store = store
	g.closers = append(g.closers, store.Close)
	return nil
}

// instanceName names the Clerk instance in a shared store: a digest of its
// issuer or, without one, of the key that identifies it. Replicas
// configured alike get the same name.
func instanceName(issuer string, cfg Config) string {
	id := "iss:" + issuer
	switch {
	case issuer != "":
	case cfg.SecretKey != "":
		id = "sk:" + cfg.SecretKey
	case cfg.JWTKey != "":
		id = "pem:" + cfg.JWTKey
	}
	sum := sha256.Sum256([]byte("clerkgate instance\x00" + id))
	return hex.EncodeToString(sum[:8])
}
