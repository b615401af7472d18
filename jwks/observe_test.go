package jwks_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/jwks"
)

// OnFetch hears every completed fetch, the failed ones with their error,
// and a failed fetch reports the keys still held.
func TestRemoteOnFetchReportsEachOutcome(t *testing.T) {
	t.Parallel()
	srv := newKeyServer(t, serveKeys(t, rsaJWK(t, rsaA(), "ins_a")))
	results := make(chan jwks.FetchResult, 4)
	r := newRemote(t, srv.URL, jwks.RemoteConfig{
		MinRefetchInterval: time.Nanosecond,
		OnFetch: func(ctx context.Context, res jwks.FetchResult) {
			require.NotNil(t, ctx)
			results <- res
		},
	})
	_, err := r.Key(context.Background(), "ins_a")
	require.NoError(t, err)
	first := <-results
	require.NoError(t, first.Err)
	require.Equal(t, 1, first.Keys)

	srv.set(serveStatus(401))
	_, err = r.Key(context.Background(), "ins_unknown") // an unknown kid refetches
	require.Error(t, err)
	second := <-results
	require.ErrorContains(t, second.Err, "401")
	require.Equal(t, 1, second.Keys, "the keys held survive a failed fetch")
}

// A fetch cut short by Close is no outcome of the endpoint's, and is
// not reported.
func TestRemoteOnFetchIgnoresShutdown(t *testing.T) {
	t.Parallel()
	srv := newKeyServer(t, hang)
	calls := make(chan jwks.FetchResult, 1)
	r := newRemote(t, srv.URL, jwks.RemoteConfig{FetchTimeout: time.Minute,
		OnFetch: func(_ context.Context, res jwks.FetchResult) { calls <- res }})
	require.NoError(t, r.Close())
	require.Empty(t, calls)
}
