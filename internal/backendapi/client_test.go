package backendapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/clerkgate/clerkgate/internal/backendapi"
	"github.com/clerkgate/clerkgate/internal/version"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var errUnexpected = errors.New("test: unexpected response")

// apiError stands for a calling package's typed error.
type apiError struct{ *backendapi.Failure }

func (e apiError) Error() string {
	return "test: " + e.Op + ": status " + http.StatusText(e.StatusCode)
}

// server answers with handle and counts the requests it saw.
func server(t *testing.T, handle http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		handle(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func newClient(t *testing.T, base string, maxBody int64) *backendapi.Client {
	t.Helper()
	b, err := backendapi.BaseURL(base)
	require.NoError(t, err)
	return backendapi.New(backendapi.Config{
		Package: "test", BaseURL: b, Version: "2021-02-05", MaxBody: maxBody,
		Unexpected: errUnexpected,
		APIError:   func(f *backendapi.Failure) error { return apiError{f} },
	})
}

// TestRequestIsAuthenticatedAndVersioned: every request carries the key it
// was given (session and machine calls use different keys), the pinned API
// version and the library's User-Agent; a body goes as JSON.
func TestRequestIsAuthenticatedAndVersioned(t *testing.T) {
	t.Parallel()
	var seen []*http.Request
	var bodies []string
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		seen, bodies = append(seen, r), append(bodies, string(body))
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	c := newClient(t, srv.URL+"/prefix/", 1<<10)
	data, err := c.Do(t.Context(), backendapi.Request{Op: "create", Method: http.MethodPost, Path: "/v1/things",
		Body: map[string]string{"name": "x"}, Key: "sk_test_one"})
	require.NoError(t, err)
	require.JSONEq(t, `{"ok":true}`, string(data))
	_, err = c.Do(t.Context(), backendapi.Request{Op: "list", Method: http.MethodGet, Path: "/v1/things",
		Query: url.Values{"limit": {"5"}}, Key: "ak_machine_two"})
	require.NoError(t, err)

	require.Len(t, seen, 2)
	post, get := seen[0], seen[1]
	require.Equal(t, "/prefix/v1/things", post.URL.Path)
	require.Equal(t, "Bearer sk_test_one", post.Header.Get("Authorization"))
	require.Equal(t, "Bearer ak_machine_two", get.Header.Get("Authorization"))
	for _, r := range seen {
		require.Equal(t, "2021-02-05", r.Header.Get("Clerk-API-Version"))
		require.Equal(t, "clerkgate/"+version.Version, r.Header.Get("User-Agent"))
		require.Equal(t, "application/json", r.Header.Get("Accept"))
	}
	require.Equal(t, "application/json", post.Header.Get("Content-Type"))
	require.JSONEq(t, `{"name":"x"}`, bodies[0])
	require.Empty(t, get.Header.Get("Content-Type"), "no body, no content type")
	require.Equal(t, "limit=5", get.URL.RawQuery)
}

// TestOnlyGETsAreRetried: a GET is tried three times through 5xx, 429 and
// network errors; a POST, and a GET marked Once, exactly once: a request
// whose answer was lost may have taken effect, and a nonce is good once.
func TestOnlyGETsAreRetried(t *testing.T) {
	t.Parallel()
	failures := map[string]http.HandlerFunc{
		"503": func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) },
		"429": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
		},
		"hang up": func(w http.ResponseWriter, _ *http.Request) {
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				_ = conn.Close()
			}
		},
	}
	requests := map[string]struct {
		req  backendapi.Request
		want int32
	}{
		"GET":      {backendapi.Request{Op: "get", Method: http.MethodGet, Path: "/v1/x"}, 3},
		"POST":     {backendapi.Request{Op: "revoke", Method: http.MethodPost, Path: "/v1/x"}, 1},
		"GET once": {backendapi.Request{Op: "nonce", Method: http.MethodGet, Path: "/v1/x", Once: true}, 1},
	}
	for fname, fail := range failures {
		for rname, rc := range requests {
			t.Run(fname+" "+rname, func(t *testing.T) {
				t.Parallel()
				srv, n := server(t, fail)
				_, err := newClient(t, srv.URL, 1<<10).Do(t.Context(), rc.req)
				require.Error(t, err)
				require.Equal(t, rc.want, n.Load())
			})
		}
	}
}

// TestClientErrorsAreNotRetried: a 4xx will not change on a retry.
func TestClientErrorsAreNotRetried(t *testing.T) {
	t.Parallel()
	for _, status := range []int{400, 401, 403, 404, 409, 410, 422} {
		srv, n := server(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) })
		_, err := newClient(t, srv.URL, 1<<10).Do(t.Context(), backendapi.Request{Op: "get", Method: http.MethodGet, Path: "/v1/x"})
		var e apiError
		require.ErrorAs(t, err, &e)
		require.Equal(t, status, e.StatusCode)
		require.Equal(t, int32(1), n.Load(), "status %d", status)
	}
}

// TestFailureIsDecoded: the caller's typed error gets what Clerk said: the
// status, the errors, the trace id and the Retry-After.
func TestFailureIsDecoded(t *testing.T) {
	t.Parallel()
	srv, _ := server(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"errors":[{"code":"too_many_requests","message":"slow","long_message":"slow down","meta":{"x":1}}],"clerk_trace_id":"tr-1"}`)
	})
	_, err := newClient(t, srv.URL, 1<<10).Do(t.Context(), backendapi.Request{Op: "list", Method: http.MethodGet, Path: "/v1/x"})
	var e apiError
	require.ErrorAs(t, err, &e)
	require.Equal(t, "list", e.Op)
	require.Equal(t, http.StatusTooManyRequests, e.StatusCode)
	require.Equal(t, "tr-1", e.TraceID)
	require.Equal(t, 30*time.Second, e.RetryAfter, "longer than the client waits: handed back at once")
	require.Len(t, e.Errors, 1)
	require.Equal(t, "too_many_requests", e.Errors[0].Code)
	require.Equal(t, "slow down", e.Errors[0].LongMessage)
	require.JSONEq(t, `{"x":1}`, string(e.Errors[0].Meta))
	require.Empty(t, e.Body)
}

// TestBodiesAreBounded: a 2xx body over MaxBody is the caller's
// Unexpected error, not a buffer without end, and is not retried; an
// error body of any size yields a short excerpt.
func TestBodiesAreBounded(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 4<<10)
	srv, n := server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/error" {
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, strings.Repeat("<html>bad gateway</html>", 1<<14))
			return
		}
		_, _ = io.WriteString(w, big)
	})
	c := newClient(t, srv.URL, 1<<10)
	_, err := c.Do(t.Context(), backendapi.Request{Op: "get", Method: http.MethodGet, Path: "/v1/big"})
	require.ErrorIs(t, err, errUnexpected)
	require.Equal(t, int32(1), n.Load())

	_, err = c.Do(t.Context(), backendapi.Request{Op: "get", Method: http.MethodPost, Path: "/v1/error"})
	var e apiError
	require.ErrorAs(t, err, &e)
	require.LessOrEqual(t, len(e.Body), backendapi.MaxExcerpt)
	require.True(t, strings.HasPrefix(e.Body, "<html>bad gateway</html>"), e.Body)
}

// TestRetryStaysInsideTheContext: a cancelled wait ends the call with both
// reasons, the context's and the server's.
func TestRetryStaysInsideTheContext(t *testing.T) {
	t.Parallel()
	srv, n := server(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := newClient(t, srv.URL, 1<<10).Do(ctx, backendapi.Request{Op: "get", Method: http.MethodGet, Path: "/v1/x"})
	require.ErrorIs(t, err, context.Canceled)
	var e apiError
	require.ErrorAs(t, err, &e)
	require.Equal(t, int32(1), n.Load())
}

// TestTransportErrorHidesTheQuery: net/http names the URL in its errors,
// and a query can hold a credential (a handshake nonce, unused and so
// still good, when Clerk cannot be reached).
func TestTransportErrorHidesTheQuery(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there any more
	const nonce = "NONCE-Zq9WvK3xTmB7"
	_, err := newClient(t, base, 1<<10).Do(t.Context(), backendapi.Request{Op: "handshake payload", Method: http.MethodGet,
		Path: "/v1/clients/handshake_payload", Query: url.Values{"nonce": {nonce}}, Once: true})
	require.Error(t, err)
	var ue *url.Error
	require.ErrorAs(t, err, &ue, "still a *url.Error for callers that look")
	require.NotContains(t, err.Error(), nonce)
	require.Contains(t, err.Error(), base+"/v1/clients/handshake_payload", "the rest of the URL says where")
}
