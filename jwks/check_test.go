package jwks_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/jwks"
)

// TestRefusedCredentialsAreAConfigurationError: a Backend API that answers
// 401 or 403 to the key fetch is refusing the secret key. No retry mends
// that, so the error says so (ErrUnauthorized, beside ErrUnavailable on the
// per-token error), the log line is an error rather than a warning, and it
// never claims to keep keys it does not have.
func TestRefusedCredentialsAreAConfigurationError(t *testing.T) {
	t.Parallel()
	const secret = "sk_test_Zq9WvK3xTmB7pLr2YhN8cD4fGs6J"
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			srv := newKeyServer(t, serveStatus(status))
			logger, logs := newLogger()
			r, err := jwks.NewBackendAPI(context.Background(), srv.URL, secret, jwks.RemoteConfig{Logger: logger})
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, r.Close()) })

			err = r.Check(context.Background())
			require.ErrorIs(t, err, jwks.ErrUnauthorized)
			require.ErrorContains(t, err, http.StatusText(status))
			require.NotContains(t, err.Error(), secret[len("sk_test_"):])

			_, err = r.Key(context.Background(), "ins_a")
			require.ErrorIs(t, err, jwks.ErrUnavailable, "the token is not at fault: 503")
			require.ErrorIs(t, err, jwks.ErrUnauthorized, "and the operator can tell why")

			require.Equal(t, 1, logs.linesContaining("level=ERROR"), logs.String())
			require.Equal(t, 1, logs.linesContaining("CLERK_SECRET_KEY"), logs.String())
			require.NotContains(t, logs.String(), "keeping the keys we have", "there are none")
			require.NotContains(t, logs.String(), secret[len("sk_test_"):])
		})
	}
}

// TestFirstFetchFailureSaysThereAreNoKeys: the warning after a failed
// fetch tells an operator whether tokens still verify.
func TestFirstFetchFailureSaysThereAreNoKeys(t *testing.T) {
	t.Parallel()
	srv := newKeyServer(t, serveStatus(http.StatusInternalServerError))
	logger, logs := newLogger()
	r := newRemote(t, srv.URL, jwks.RemoteConfig{Logger: logger, MinRefetchInterval: time.Nanosecond})

	err := r.Check(context.Background())
	require.ErrorContains(t, err, "status 500")
	require.NotErrorIs(t, err, jwks.ErrUnauthorized, "a server error is no credential problem")
	require.Equal(t, 1, logs.linesContaining("level=WARN"), logs.String())
	require.Zero(t, logs.linesContaining("level=ERROR"), logs.String())
	require.Contains(t, logs.String(), "no keys were had yet")
	require.NotContains(t, logs.String(), "keeping the keys we have")

	srv.set(serveKeys(t, rsaJWK(t, rsaA(), "ins_a")))
	require.NoError(t, r.Check(context.Background()))
	srv.set(serveStatus(http.StatusInternalServerError))
	require.ErrorContains(t, r.Check(context.Background()), "status 500")
	require.Equal(t, 1, logs.linesContaining("keeping the keys we have"), logs.String())
}

// TestCheckFetchesAtMostOncePerInterval: Check backs health endpoints,
// which anyone may poll; it must not become a stream of requests to Clerk.
func TestCheckFetchesAtMostOncePerInterval(t *testing.T) {
	t.Parallel()
	srv := newKeyServer(t, serveKeys(t, rsaJWK(t, rsaA(), "ins_a")))
	r := newRemote(t, srv.URL, jwks.RemoteConfig{MinRefetchInterval: time.Hour})

	require.NoError(t, r.Check(context.Background()), "joins the start-up fetch")
	require.EqualValues(t, 1, srv.hits.Load())
	srv.set(serveStatus(http.StatusUnauthorized))
	for range 100 {
		require.NoError(t, r.Check(context.Background()), "the latest fetch succeeded")
	}
	require.EqualValues(t, 1, srv.hits.Load(), "no new fetch within MinRefetchInterval")
}

// TestCheckRefetchesAfterTheInterval: past MinRefetchInterval, Check asks
// the endpoint again, so a health check sees a key that was revoked since.
func TestCheckRefetchesAfterTheInterval(t *testing.T) {
	t.Parallel()
	srv := newKeyServer(t, serveKeys(t, rsaJWK(t, rsaA(), "ins_a")))
	r := newRemote(t, srv.URL, jwks.RemoteConfig{MinRefetchInterval: time.Nanosecond})
	require.NoError(t, r.Check(context.Background()))
	// The first Check may join the start-up fetch or, if that one ended
	// already, make its own: count from here.
	before := srv.hits.Load()
	srv.set(serveStatus(http.StatusUnauthorized))
	require.ErrorIs(t, r.Check(context.Background()), jwks.ErrUnauthorized)
	require.EqualValues(t, before+1, srv.hits.Load(), "past the interval, Check fetches once")
	_, err := r.Key(context.Background(), "ins_a")
	require.NoError(t, err, "the keys already had still verify")
}

// TestCheckHonoursItsContext: a hanging endpoint holds Check no longer
// than its caller allows, and the fetch goes on for everyone else.
func TestCheckHonoursItsContext(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := newKeyServer(t, gated(release, serveKeys(t, rsaJWK(t, rsaA(), "ins_a"))))
	r := newRemote(t, srv.URL, jwks.RemoteConfig{FetchTimeout: time.Minute})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, r.Check(ctx), context.Canceled)
	close(release)
	require.NoError(t, r.Check(context.Background()))
	require.EqualValues(t, 1, srv.hits.Load(), "the same fetch carried on")
}

func TestCheckAfterClose(t *testing.T) {
	t.Parallel()
	srv := newKeyServer(t, serveKeys(t, rsaJWK(t, rsaA(), "ins_a")))
	r, err := jwks.NewRemote(context.Background(), jwks.RemoteConfig{URL: srv.URL})
	require.NoError(t, err)
	require.NoError(t, r.Close())
	require.ErrorContains(t, r.Check(context.Background()), "closed")
}
