package clerkgate_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

// watchedStore is the default store with a log of what the Gate handed it, and
// switches to make it fail or alter what it keeps: the Gate's side of the
// Store contract, seen from the store.
type watchedStore struct {
	clerkgate.Store

	mu         sync.Mutex
	scope      clerkgate.StoreOptions
	keys       []string
	published  []clerkgate.RefreshOutcome
	revoked    map[string]time.Duration
	closes     int
	failClaims bool // ClaimRefresh fails as an unreachable store would
	tamper     bool // ClaimRefresh hands back altered outcomes
}

func newWatchedStore(t *testing.T) *watchedStore {
	t.Helper()
	return &watchedStore{Store: clerkgate.NewMemoryStore(), revoked: map[string]time.Duration{}}
}

func (s *watchedStore) Start(scope clerkgate.StoreOptions) error {
	s.mu.Lock()
	s.scope = scope
	s.mu.Unlock()
	return s.Store.Start(scope)
}

func (s *watchedStore) ClaimRefresh(ctx context.Context, key string, hold time.Duration) ([]byte, bool, error) {
	s.mu.Lock()
	s.keys = append(s.keys, key)
	fail, tamper := s.failClaims, s.tamper
	s.mu.Unlock()
	if fail {
		return nil, false, errors.New("store unreachable")
	}
	sealed, claimed, err := s.Store.ClaimRefresh(ctx, key, hold)
	if tamper && len(sealed) > 0 {
		sealed = bytes.Clone(sealed)
		sealed[len(sealed)-1] ^= 1
	}
	return sealed, claimed, err
}

func (s *watchedStore) PublishRefresh(ctx context.Context, key string, out clerkgate.RefreshOutcome) error {
	s.mu.Lock()
	s.keys = append(s.keys, key)
	s.published = append(s.published, out)
	s.mu.Unlock()
	return s.Store.PublishRefresh(ctx, key, out)
}

func (s *watchedStore) RevokeSession(ctx context.Context, id string, ttl time.Duration) error {
	s.mu.Lock()
	s.revoked[id] = ttl
	s.mu.Unlock()
	return s.Store.RevokeSession(ctx, id, ttl)
}

func (s *watchedStore) Close() error {
	s.mu.Lock()
	s.closes++
	s.mu.Unlock()
	return s.Store.Close()
}

func (s *watchedStore) set(f func(*watchedStore)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func storeBackend(t *testing.T, store clerkgate.Store, mod func(*clerkgate.Config)) *backend {
	return newBackend(t, func(c *clerkgate.Config) {
		c.Store = store
		if mod != nil {
			mod(c)
		}
	})
}

// A Store never holds a credential: outcomes go by a digest of the expired
// token and are sealed under a key only that token yields.
func TestStoreSeesNoCredentials(t *testing.T) {
	t.Parallel()
	store := newWatchedStore(t)
	b := storeBackend(t, store, nil)
	s := b.fake.CreateSession("user_1")
	expired := b.fake.Token(s.ID, clerktest.Expired())

	rep := get(t, b.srv, both(b.sessionCookie(expired), b.refreshCookie(s)))
	require.Equal(t, http.StatusOK, rep.status, rep.body)
	var newToken string
	for _, sc := range rep.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(sc)
		require.NoError(t, err)
		if c.Name == "__session_"+b.fake.CookieSuffix() {
			newToken = c.Value
		}
	}
	require.NotEmpty(t, newToken)

	store.mu.Lock()
	defer store.mu.Unlock()
	require.Len(t, store.published, 1)
	out := store.published[0]
	require.False(t, out.Failed)
	require.InDelta(t, 60, out.TTL.Seconds(), 2, "kept for the new token's lifetime")
	secrets := []string{expired, newToken, s.RefreshToken, s.ID, "__session", "user_1"}
	// Each JWT segment on its own too: a store must not hold even the
	// payload of a token.
	secrets = append(secrets, strings.Split(expired, ".")...)
	secrets = append(secrets, strings.Split(newToken, ".")...)
	for _, secret := range secrets {
		require.NotContains(t, string(out.Sealed), secret)
		for _, k := range store.keys {
			require.NotContains(t, k, secret)
		}
	}
	for _, k := range store.keys {
		require.Regexp(t, `^[0-9a-f]{64}$`, k)
	}
}

// A straggler on the same process gets the remembered outcome through the
// store, without a second (consumed) call; an altered outcome is refused.
func TestStoreOutcomeIsOpenedAndChecked(t *testing.T) {
	t.Parallel()
	store := newWatchedStore(t)
	b := storeBackend(t, store, nil)
	s := b.fake.CreateSession("user_1")
	expired := b.fake.Token(s.ID, clerktest.Expired())
	req := both(b.sessionCookie(expired), b.refreshCookie(s))

	require.Equal(t, http.StatusOK, get(t, b.srv, req).status)
	rep := get(t, b.srv, req)
	require.Equal(t, http.StatusOK, rep.status, rep.body)
	require.NotEmpty(t, rep.header.Values("Set-Cookie"))
	require.Equal(t, 1, b.refreshCalls())

	store.set(func(s *watchedStore) { s.tamper = true })
	rep = get(t, b.srv, req)
	require.Equal(t, http.StatusUnauthorized, rep.status)
	require.Equal(t, "refresh_failed", rep.reason)
	require.Empty(t, rep.header.Values("Set-Cookie"))
	require.Equal(t, 1, b.refreshCalls(), "an altered outcome is refused, not replaced by a consumed call")
}

// The default store remembers a failed refresh for the failure window
// only: within it the session's next refresh is refused without a call,
// after it a later request tries again.
func TestMemoryStoreForgetsFailuresAfterTheWindow(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	b := newBackend(t, func(c *clerkgate.Config) { c.Clock = clock })
	s := b.fake.CreateSession("user_1")
	req := both(b.sessionCookie(b.fake.Token(s.ID, clerktest.Expired())), b.refreshCookie(s))
	b.fake.SetFault(clerktest.RouteRefresh, clerktest.Fault{Status: http.StatusServiceUnavailable, Times: 1})

	rep := get(t, b.srv, req)
	require.Equal(t, "refresh_failed", rep.reason)
	require.Contains(t, rep.body, "internal_clerk_error")
	mu.Lock()
	now = now.Add(9 * time.Second)
	mu.Unlock()
	rep = get(t, b.srv, req)
	require.Equal(t, "refresh_failed", rep.reason, "within the 10 s window")
	require.Equal(t, 1, b.refreshCalls())

	mu.Lock()
	now = now.Add(2 * time.Second)
	mu.Unlock()
	rep = get(t, b.srv, req)
	require.Equal(t, http.StatusOK, rep.status, rep.body)
	require.Equal(t, 2, b.refreshCalls())
}

// The Gate publishes failures too (sealed, briefly kept), so that waiting
// replicas stop waiting, and they carry Clerk's error code.
func TestFailedRefreshIsPublished(t *testing.T) {
	t.Parallel()
	store := newWatchedStore(t)
	b := storeBackend(t, store, nil)
	s := b.fake.CreateSession("user_1")
	rep := get(t, b.srv, both(b.sessionCookie(b.fake.Token(s.ID, clerktest.Expired())), cookie("__refresh_"+b.fake.CookieSuffix(), "wrong")))
	require.Equal(t, "refresh_failed", rep.reason)

	store.mu.Lock()
	defer store.mu.Unlock()
	require.Len(t, store.published, 1)
	require.True(t, store.published[0].Failed)
	require.Positive(t, store.published[0].TTL)
	require.LessOrEqual(t, store.published[0].TTL, 5*time.Second)
	require.NotContains(t, string(store.published[0].Sealed), "refresh_token_not_found", "failures are sealed too")
}

// Authentication never fails because the store does: the Gate refreshes on
// its own, and says so in the log.
func TestStoreFailureFallsBackToLocalRefresh(t *testing.T) {
	t.Parallel()
	store := newWatchedStore(t)
	store.set(func(s *watchedStore) { s.failClaims = true })
	var logs syncBuffer
	b := storeBackend(t, store, func(c *clerkgate.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	s := b.fake.CreateSession("user_1")
	rep := get(t, b.srv, both(b.sessionCookie(b.fake.Token(s.ID, clerktest.Expired())), b.refreshCookie(s)))
	require.Equal(t, http.StatusOK, rep.status, rep.body)
	require.Equal(t, 1, b.refreshCalls())
	require.Contains(t, logs.String(), "refreshing without it")
	require.Contains(t, logs.String(), "store unreachable")
}

func TestRevocationGoesThroughTheStore(t *testing.T) {
	t.Parallel()
	store := newWatchedStore(t)
	b := storeBackend(t, store, func(c *clerkgate.Config) { c.ClockSkew = 3 * time.Second })
	s := b.fake.CreateSession("user_1")
	_, err := b.gate.Sessions().Revoke(context.Background(), s.ID)
	require.NoError(t, err)
	store.mu.Lock()
	term := store.revoked[s.ID]
	store.mu.Unlock()
	require.Equal(t, 66*time.Second, term, "kept for the token lifetime plus twice the skew")
	require.True(t, store.SessionRevoked(s.ID))
	require.Equal(t, "session_revoked", get(t, b.srv, bearer(b.fake.Token(s.ID))).reason)
}

// The revocation set expires on the Gate's clock, after the token lifetime
// plus twice the skew. (Clerk mints no token for a revoked session; the
// token issued after the revocation here only shows where the term ends.)
func TestMemoryStoreRevocationExpires(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	b := clockedBackend(t, clock, nil)
	s := b.fake.CreateSession("user_1")
	logout := clock.Now()
	_, err := b.gate.Sessions().Revoke(context.Background(), s.ID)
	require.NoError(t, err)
	require.Equal(t, "session_revoked", get(t, b.srv, bearer(b.fake.Token(s.ID))).reason)

	clock.Advance(69 * time.Second)
	require.Equal(t, "session_revoked", get(t, b.srv, bearer(b.fake.Token(s.ID, clerktest.IssuedAt(logout.Add(30*time.Second))))).reason)
	clock.Advance(time.Second)
	require.Equal(t, http.StatusOK, get(t, b.srv, bearer(b.fake.Token(s.ID, clerktest.IssuedAt(logout.Add(30*time.Second))))).status,
		"forgotten after 60 s + 2 × 5 s skew")
}

func TestStoreOwnership(t *testing.T) {
	t.Parallel()
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	cfg := clerkgate.Config{SecretKey: fake.SecretKey(), PublishableKey: fake.PublishableKey(), APIURL: fake.URL()}

	store := newWatchedStore(t)
	cfg.Store = store
	g, err := clerkgate.New(cfg)
	require.NoError(t, err)
	require.Len(t, store.scope.Instance, 16)
	require.NotNil(t, store.scope.Logger)
	require.NotNil(t, store.scope.Clock)

	// One store, one Gate.
	_, err = clerkgate.New(cfg)
	require.ErrorContains(t, err, "already serves a Gate")

	require.NoError(t, g.Close())
	require.NoError(t, g.Close())
	require.Equal(t, 2, store.closes, "Close closes the store, and may be called again")

	// Replicas of one app share the instance name; another instance does
	// not.
	other := newWatchedStore(t)
	cfg.Store = other
	g2, err := clerkgate.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { g2.Close() })
	require.Equal(t, store.scope.Instance, other.scope.Instance)

	fake2 := clerktest.New()
	t.Cleanup(fake2.Close)
	third := newWatchedStore(t)
	g3, err := clerkgate.New(clerkgate.Config{SecretKey: fake2.SecretKey(), PublishableKey: fake2.PublishableKey(), APIURL: fake2.URL(), Store: third})
	require.NoError(t, err)
	t.Cleanup(func() { g3.Close() })
	require.NotEqual(t, store.scope.Instance, third.scope.Instance)

}

// The default store's only setting, Refresh.CacheSize: a negative size is
// a configuration error, and so is a size for a Store the app gives (it
// would bound nothing). The size itself is tested inside the package
// (TestRefreshCacheSizeBoundsTheDefaultStore).
func TestRefreshCacheSizeIsChecked(t *testing.T) {
	t.Parallel()
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	cfg := clerkgate.Config{SecretKey: fake.SecretKey(), PublishableKey: fake.PublishableKey(), APIURL: fake.URL()}
	cfg.Refresh.CacheSize = -1
	_, err := clerkgate.New(cfg)
	require.ErrorIs(t, err, clerkgate.ErrConfig)
	require.ErrorContains(t, err, "Refresh.CacheSize is -1")

	cfg.Refresh.CacheSize = 5
	cfg.Store = newWatchedStore(t)
	_, err = clerkgate.New(cfg)
	require.ErrorIs(t, err, clerkgate.ErrConfig)
	require.ErrorContains(t, err, "Refresh.CacheSize sizes the default store")

	cfg.Store = nil
	g, err := clerkgate.New(cfg)
	require.NoError(t, err)
	require.NoError(t, g.Close())
}
