package clerkgate

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strconv"
	"testing"
	"time"
)

// TestRefreshCacheSizeBoundsTheDefaultStore: Config.Refresh.CacheSize
// reaches the store a Gate makes for itself, which then remembers that
// many refresh outcomes and failed refreshes, the oldest forgotten first;
// zero keeps the default.
func TestRefreshCacheSizeBoundsTheDefaultStore(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))

	for _, tc := range []struct{ size, want int }{{3, 3}, {0, defaultCacheSize}} {
		g, err := New(Config{JWTKey: pemKey, Refresh: RefreshConfig{CacheSize: tc.size}})
		if err != nil {
			t.Fatal(err)
		}
		s, ok := g.store.(*memoryStore)
		if !ok {
			t.Fatalf("the default store is a %T", g.store)
		}
		ctx := context.Background()
		n := tc.want + 1
		for i := range n {
			k := "k" + strconv.Itoa(i)
			if err := s.PublishRefresh(ctx, k, RefreshOutcome{Sealed: []byte{1}, TTL: time.Minute}); err != nil {
				t.Fatal(err)
			}
			if err := s.FailRefresh(ctx, k, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		if got := s.outcomes.Len(); got != tc.want {
			t.Errorf("size %d: %d refresh outcomes kept, want %d", tc.size, got, tc.want)
		}
		if got := s.failures.Len(); got != tc.want {
			t.Errorf("size %d: %d failed refreshes kept, want %d", tc.size, got, tc.want)
		}
		if _, claimed, _ := s.ClaimRefresh(ctx, "k0", time.Second); !claimed {
			t.Errorf("size %d: the oldest outcome is still remembered", tc.size)
		}
		if _, claimed, _ := s.ClaimRefresh(ctx, "k"+strconv.Itoa(n-1), time.Second); claimed {
			t.Errorf("size %d: the newest outcome is forgotten", tc.size)
		}
		if failed, _ := s.RefreshFailed(ctx, "k0", time.Minute); failed {
			t.Errorf("size %d: the oldest failure is still remembered", tc.size)
		}
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
