package session_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/session"
)

var (
	serverError = reply(http.StatusInternalServerError, clerkError("internal_clerk_error", "oops", ""))
	okSession   = reply(http.StatusOK, minimalSession)
)

func TestGetRetriesServerErrors(t *testing.T) {
	t.Parallel()
	fake := newFakeClerk(t, sequence(serverError, serverError, okSession))
	s, err := fake.client(t).Get(t.Context(), "sess_1")
	require.NoError(t, err)
	require.Equal(t, "sess_1", s.ID)
	require.Equal(t, 3, fake.count())
	for _, r := range fake.requests() {
		require.Equal(t, "/v1/sessions/sess_1", r.Path)
		require.Equal(t, "Bearer "+testSecret, r.Header.Get("Authorization"), "every attempt is authenticated")
	}
}

func TestListRetriesServerErrors(t *testing.T) {
	t.Parallel()
	fake := newFakeClerk(t, sequence(reply(http.StatusBadGateway, "<html>bad gateway</html>", "Content-Type", "text/html"), reply(http.StatusOK, `[]`)))
	_, err := fake.client(t).List(t.Context(), session.ListParams{UserID: "user_1"})
	require.NoError(t, err)
	require.Equal(t, 2, fake.count())
}

func TestGetGivesUpAfterThreeAttempts(t *testing.T) {
	t.Parallel()
	fake := newFakeClerk(t, reply(http.StatusServiceUnavailable, clerkError("unavailable", "down", "trace-last")))
	_, err := fake.client(t).Get(t.Context(), "sess_1")
	var apiErr *session.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusServiceUnavailable, apiErr.StatusCode)
	require.Equal(t, "trace-last", apiErr.TraceID)
	require.Equal(t, 3, fake.count())
}

func TestGetRetriesNetworkErrors(t *testing.T) {
	t.Parallel()
	fake := newFakeClerk(t, sequence(hangUp, okSession))
	_, err := fake.client(t).Get(t.Context(), "sess_1")
	require.NoError(t, err)
	require.Equal(t, 2, fake.count())
}

func TestGetDoesNotRetryClientErrors(t *testing.T) {
	t.Parallel()
	for _, status := range []int{400, 401, 403, 404, 410, 422} {
		fake := newFakeClerk(t, reply(status, clerkError("x", "x", "")))
		_, err := fake.client(t).Get(t.Context(), "sess_1")
		require.Error(t, err)
		require.Equal(t, 1, fake.count(), "status %d", status)
	}
}

func TestGetHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	limited := reply(http.StatusTooManyRequests, clerkError("too_many_requests", "slow down", ""), "Retry-After", "1")
	fake := newFakeClerk(t, sequence(limited, okSession))
	start := time.Now()
	_, err := fake.client(t).Get(t.Context(), "sess_1")
	require.NoError(t, err)
	require.Equal(t, 2, fake.count())
	require.GreaterOrEqual(t, time.Since(start), 950*time.Millisecond, "waited as long as Retry-After asked")
}

// TestDeadlineShorterThanRetryAfter: rather than sleep into a timeout, the
// client hands back the 429 at once.
func TestDeadlineShorterThanRetryAfter(t *testing.T) {
	t.Parallel()
	fake := newFakeClerk(t, reply(http.StatusTooManyRequests, clerkError("too_many_requests", "slow down", ""), "Retry-After", "5"))
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := fake.client(t).Get(ctx, "sess_1")
	require.Less(t, time.Since(start), 3*time.Second, "returned before the deadline instead of sleeping")
	require.True(t, session.IsRateLimited(err))
	require.False(t, errors.Is(err, context.DeadlineExceeded), "the error is the 429, not a timeout")
	var apiErr *session.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, 5*time.Second, apiErr.RetryAfter)
	require.Equal(t, 1, fake.count())
}

// TestLongRetryAfterIsLeftToTheCaller: without a deadline, a wait far longer
// than any sensible request is not slept through either.
func TestLongRetryAfterIsLeftToTheCaller(t *testing.T) {
	t.Parallel()
	fake := newFakeClerk(t, reply(http.StatusTooManyRequests, clerkError("too_many_requests", "slow down", ""), "Retry-After", "3600"))
	start := time.Now()
	_, err := fake.client(t).Get(context.Background(), "sess_1")
	require.Less(t, time.Since(start), 3*time.Second)
	require.True(t, session.IsRateLimited(err))
	require.Equal(t, 1, fake.count())
}

func TestCancelDuringBackoff(t *testing.T) {
	t.Parallel()
	fake := newFakeClerk(t, reply(http.StatusServiceUnavailable, clerkError("unavailable", "down", ""), "Retry-After", "5"))
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err := fake.client(t).Get(ctx, "sess_1")
	require.Less(t, time.Since(start), 3*time.Second)
	require.ErrorIs(t, err, context.Canceled)
	var apiErr *session.APIError
	require.ErrorAs(t, err, &apiErr, "the last answer is kept for the caller")
	require.Equal(t, 1, fake.count())
}

func TestCancelledContextSendsNothing(t *testing.T) {
	t.Parallel()
	fake := newFakeClerk(t, okSession)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := fake.client(t).Get(ctx, "sess_1")
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, fake.count())
}

func TestContextDeadlineBoundsASlowServer(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	fake := newFakeClerk(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := fake.client(t).Get(ctx, "sess_1")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, 1, fake.count(), "no retry once the context is done")
}

// TestPostsAreNeverRetried: a lost answer may hide a completed write, and a
// repeated refresh would present an already-consumed expired token.
func TestPostsAreNeverRetried(t *testing.T) {
	t.Parallel()
	calls := map[string]func(context.Context, *session.Client) error{
		"refresh": func(ctx context.Context, c *session.Client) error {
			_, err := c.Refresh(ctx, "sess_1", session.RefreshParams{ExpiredToken: "e", RefreshToken: "r", RequestOrigin: "https://a.example"})
			return err
		},
		"create": func(ctx context.Context, c *session.Client) error {
			_, err := c.Create(ctx, session.CreateParams{UserID: "user_1"})
			return err
		},
		"revoke": func(ctx context.Context, c *session.Client) error { _, err := c.Revoke(ctx, "sess_1"); return err },
		"verify": func(ctx context.Context, c *session.Client) error {
			_, err := c.Verify(ctx, "sess_1", "a.b.c") //nolint:staticcheck // the deprecated call is under test
			return err
		},
		"token": func(ctx context.Context, c *session.Client) error {
			_, err := c.CreateToken(ctx, "sess_1", session.TokenParams{})
			return err
		},
		"template": func(ctx context.Context, c *session.Client) error {
			_, err := c.CreateTokenFromTemplate(ctx, "sess_1", "tmpl", session.TokenParams{})
			return err
		},
	}
	failures := map[string]responder{
		"500":           serverError,
		"429":           reply(http.StatusTooManyRequests, clerkError("too_many_requests", "x", ""), "Retry-After", "1"),
		"network error": hangUp,
	}
	for name, call := range calls {
		for fname, fail := range failures {
			t.Run(name+" "+fname, func(t *testing.T) {
				t.Parallel()
				fake := newFakeClerk(t, sequence(fail, okSession))
				require.Error(t, call(t.Context(), fake.client(t)))
				require.Equal(t, 1, fake.count())
			})
		}
	}
}
