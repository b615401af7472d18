package clerktest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/clerktest"
)

func TestFaultStatusWithCode(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	sess := s.CreateSession("user_1")
	s.SetFault(clerktest.RouteRefresh, clerktest.Fault{Status: http.StatusUnauthorized, Code: clerktest.CodeRefreshTokenNotFound})

	body := refreshBody(s.Token(sess.ID, clerktest.Expired()), sess.RefreshToken)
	requireClerkError(t, call(t, s, http.MethodPost, refreshPath(sess.ID), body), http.StatusUnauthorized, clerktest.CodeRefreshTokenNotFound)
	// Injected answers come before authentication.
	requireClerkError(t, call(t, s, http.MethodPost, refreshPath(sess.ID), body, withoutAuth()),
		http.StatusUnauthorized, clerktest.CodeRefreshTokenNotFound)
	// Other routes are unaffected.
	require.Equal(t, http.StatusOK, call(t, s, http.MethodGet, "/v1/jwks", nil).Status)

	s.ClearFaults()
	refreshedJWT(t, s, sess.ID, body)
}

func TestFaultDefaultCodesAndRetryAfter(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.SetFault(clerktest.RouteJWKS, clerktest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 1500 * time.Millisecond})
	res := call(t, s, http.MethodGet, "/v1/jwks", nil)
	requireClerkError(t, res, http.StatusTooManyRequests, clerktest.CodeTooManyRequests)
	require.Equal(t, "2", res.Header.Get("Retry-After"), "whole seconds, rounded up")

	s.SetFault(clerktest.RouteJWKS, clerktest.Fault{Status: http.StatusInternalServerError})
	res = call(t, s, http.MethodGet, "/v1/jwks", nil)
	requireClerkError(t, res, http.StatusInternalServerError, clerktest.CodeInternalError)
	require.Empty(t, res.Header.Get("Retry-After"))

	s.SetFault(clerktest.RouteJWKS, clerktest.Fault{Status: http.StatusServiceUnavailable, Code: "maintenance"})
	requireClerkError(t, call(t, s, http.MethodGet, "/v1/jwks", nil), http.StatusServiceUnavailable, "maintenance")
}

func TestFaultBodies(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	sess := s.CreateSession("user_1")

	s.SetFault(clerktest.RouteJWKS, clerktest.Fault{Status: http.StatusBadGateway, Body: []byte("<html>bad gateway</html>")})
	res := call(t, s, http.MethodGet, "/v1/jwks", nil)
	require.Equal(t, http.StatusBadGateway, res.Status)
	require.Equal(t, "<html>bad gateway</html>", string(res.Body))

	// A malformed success: 200 with a body of the wrong shape.
	s.SetFault(clerktest.RouteRefresh, clerktest.Fault{Body: []byte(`{"object":"token","jwt":42}`)})
	res = call(t, s, http.MethodPost, refreshPath(sess.ID), refreshBody("x", "y"))
	require.Equal(t, http.StatusOK, res.Status)
	require.JSONEq(t, `{"object":"token","jwt":42}`, string(res.Body))

	s.SetFault(clerktest.RouteJWKS, clerktest.Fault{EmptyKeys: true})
	res = call(t, s, http.MethodGet, "/v1/jwks", nil)
	require.Equal(t, http.StatusOK, res.Status)
	require.JSONEq(t, `{"keys":[]}`, string(res.Body))
	// EmptyKeys shapes only a successful answer.
	requireClerkError(t, call(t, s, http.MethodGet, "/v1/jwks", nil, withoutAuth()), http.StatusUnauthorized, clerktest.CodeAuthenticationInvalid)
}

func TestFaultOversize(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.SetFault(clerktest.RouteJWKS, clerktest.Fault{Oversize: true})
	res := call(t, s, http.MethodGet, "/v1/jwks", nil)
	require.Equal(t, http.StatusOK, res.Status)
	require.Greater(t, len(res.Body), 1<<20)
	require.JSONEq(t, string(s.JWKS()), string(res.Body), "still valid JSON")

	// A client that caps its read at 1 MiB cannot get at the keys.
	var doc map[string]any
	require.Error(t, json.NewDecoder(io.LimitReader(bytes.NewReader(res.Body), 1<<20)).Decode(&doc))
}

func TestFaultLatency(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.SetFault(clerktest.RouteJWKS, clerktest.Fault{Latency: 150 * time.Millisecond})
	start := time.Now()
	res := call(t, s, http.MethodGet, "/v1/jwks", nil)
	require.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)
	require.Equal(t, http.StatusOK, res.Status)

	_, err := send(s, 50*time.Millisecond, http.MethodGet, "/v1/jwks", nil)
	require.ErrorContains(t, err, "Client.Timeout")
}

func TestFaultHang(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.SetFault(clerktest.RouteRefresh, clerktest.Fault{Hang: true})
	start := time.Now()
	_, err := send(s, 200*time.Millisecond, http.MethodPost, refreshPath("sess_1"), "{}")
	require.ErrorContains(t, err, "Client.Timeout")
	require.Less(t, time.Since(start), 5*time.Second)
	require.Equal(t, 1, s.Requests(clerktest.RouteRefresh))
}

func TestFaultDrip(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.SetFault(clerktest.RouteJWKS, clerktest.Fault{Drip: 20 * time.Millisecond})
	// Headers arrive at once, but the body never finishes within the timeout.
	_, err := send(s, 300*time.Millisecond, http.MethodGet, "/v1/jwks", nil)
	require.Error(t, err)
	require.Contains(t, err.Error(), "Client.Timeout")

	// A short body drips through intact.
	s.SetFault(clerktest.RouteJWKS, clerktest.Fault{Drip: 10 * time.Millisecond, Body: []byte(`{"keys":[]}`)})
	start := time.Now()
	res := call(t, s, http.MethodGet, "/v1/jwks", nil)
	require.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
	require.Equal(t, `{"keys":[]}`, string(res.Body))
}

func TestFaultReset(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.SetFault(clerktest.RouteJWKS, clerktest.Fault{Reset: true})
	_, err := send(s, 5*time.Second, http.MethodGet, "/v1/jwks", nil)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "Client.Timeout")
	require.Equal(t, 1, s.Requests(clerktest.RouteJWKS))
}

func TestFaultTimesThenRecovers(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.SetFault(clerktest.RouteJWKS, clerktest.Fault{Status: http.StatusInternalServerError, Times: 2})
	require.Equal(t, http.StatusInternalServerError, call(t, s, http.MethodGet, "/v1/jwks", nil).Status)
	require.Equal(t, http.StatusInternalServerError, call(t, s, http.MethodGet, "/v1/jwks", nil).Status)
	require.Equal(t, http.StatusOK, call(t, s, http.MethodGet, "/v1/jwks", nil).Status)
	require.Equal(t, 3, s.Requests(clerktest.RouteJWKS))
}

func TestFaultAnyRouteAndClearing(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.SetFault(clerktest.AnyRoute, clerktest.Fault{Status: http.StatusServiceUnavailable})
	s.SetFault(clerktest.RouteJWKS, clerktest.Fault{Status: http.StatusTeapot})
	require.Equal(t, http.StatusServiceUnavailable, call(t, s, http.MethodGet, "/v1/sessions?user_id=u", nil).Status)
	require.Equal(t, http.StatusServiceUnavailable, call(t, s, http.MethodGet, "/v1/elsewhere", nil).Status)
	require.Equal(t, http.StatusTeapot, call(t, s, http.MethodGet, "/v1/jwks", nil).Status, "a route's own fault wins")

	s.SetFault(clerktest.RouteJWKS, clerktest.Fault{}) // clears the route's own fault
	require.Equal(t, http.StatusServiceUnavailable, call(t, s, http.MethodGet, "/v1/jwks", nil).Status)
	s.ClearFaults()
	require.Equal(t, http.StatusOK, call(t, s, http.MethodGet, "/v1/jwks", nil).Status)
	require.Equal(t, http.StatusOK, call(t, s, http.MethodGet, "/v1/sessions?user_id=u", nil).Status)
}

// TestCloseReleasesRequestsInFlight leaves requests hanging, latent and
// dripping when Close is called: Close must return promptly and, through
// TestMain's goleak check, leave no goroutine behind.
func TestCloseReleasesRequestsInFlight(t *testing.T) {
	t.Parallel()
	s := clerktest.New()
	s.SetFault(clerktest.RouteJWKS, clerktest.Fault{Hang: true})
	s.SetFault(clerktest.RouteListSessions, clerktest.Fault{Latency: time.Hour})
	s.SetFault(clerktest.RouteGetSession, clerktest.Fault{Drip: time.Hour, Body: []byte(strings.Repeat("x", 100))})

	paths := []string{"/v1/jwks", "/v1/sessions?user_id=u", "/v1/sessions/sess_1"}
	errs := make(chan error, len(paths))
	for _, p := range paths {
		go func() {
			_, err := send(s, 0, http.MethodGet, p, nil) // no client timeout: only Close can end it
			errs <- err
		}()
	}
	require.Eventually(t, func() bool { return s.Requests(clerktest.AnyRoute) == len(paths) },
		5*time.Second, 5*time.Millisecond)
	time.Sleep(50 * time.Millisecond) // let the drip send its headers and first byte

	start := time.Now()
	s.Close()
	require.Less(t, time.Since(start), 5*time.Second)
	for range paths {
		select {
		case err := <-errs:
			require.Error(t, err)
		case <-time.After(5 * time.Second):
			t.Fatal("a request was still in flight after Close")
		}
	}
	s.Close() // idempotent
}
