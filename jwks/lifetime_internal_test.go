package jwks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// These tests look at the refresh goroutine directly (r.done), which the
// exported API deliberately does not expose.

func TestCancellingTheContextStopsTheRefreshLoop(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithCancel(context.Background())
	r, err := NewRemote(ctx, RemoteConfig{URL: srv.URL, RefreshInterval: time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, r.Close()) })
	require.Eventually(t, func() bool { return hits.Load() >= 3 }, 5*time.Second, time.Millisecond,
		"the loop refreshes while the context lives")

	cancel()
	select {
	case <-r.done:
	case <-time.After(3 * time.Second):
		t.Fatal("the refresh goroutine did not stop when its context was cancelled")
	}
	r.fetching.Wait()
	// Counted on our side: the server may still see a request that was on
	// the wire when the context was cancelled.
	n := r.Stats().Fetches
	time.Sleep(50 * time.Millisecond) // fifty refresh intervals
	require.Equal(t, n, r.Stats().Fetches, "no fetch after cancellation")

	_, err = r.Key(context.Background(), "ins_a")
	require.ErrorIs(t, err, ErrUnavailable)
	require.ErrorContains(t, err, "closed")
}

func TestCloseStopsTheRefreshLoop(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	r, err := NewRemote(context.Background(), RemoteConfig{URL: srv.URL})
	require.NoError(t, err)
	require.NoError(t, r.Close())
	select {
	case <-r.done:
	default:
		t.Fatal("Close returned before the refresh goroutine ended")
	}
}
