package contract_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/clerktest"
)

// fixedAPIFailure is what a client hears when a Backend API call fails.
const fixedAPIFailure = `{"error":"clerk_api_error","message":"the Clerk Backend API call failed; the server log has the details"}`

// runFailSafe holds an example to the rules that keep a misconfigured
// deployment from running open: dev mode only with no CLERK_* variable at
// all, never on a reachable address, no internal detail in answers and no
// secret in its output.
func runFailSafe(t *testing.T, name, exe string) {
	t.Run("a CLERK_* variable set but empty stops start-up", func(t *testing.T) {
		// As a compose file's "CLERK_SECRET_KEY: ${CLERK_SECRET_KEY}" passes
		// it on when the host lacks the variable: dev mode would sign in
		// anyone who asks GET /dev/token.
		_, stderr := startFails(t, name, exe, "CLERK_SECRET_KEY=")
		require.Contains(t, stderr, "CLERK_SECRET_KEY set but empty")

		_, stderr = startFails(t, name, exe,
			"CLERK_SECRET_KEY=", "CLERK_PUBLISHABLE_KEY= ", "CLERK_API_URL=http://127.0.0.1:1")
		require.Contains(t, stderr, "CLERK_PUBLISHABLE_KEY, CLERK_SECRET_KEY set but empty")
	})

	t.Run("any CLERK_* variable turns dev mode off", func(t *testing.T) {
		// Dev mode would ignore CLERK_API_URL silently.
		_, stderr := startFails(t, name, exe, "CLERK_API_URL=http://127.0.0.1:1")
		require.Contains(t, stderr, "no key source")
	})

	t.Run("dev mode refuses an address other machines reach", func(t *testing.T) {
		for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
			_, stderr := startFails(t, name, exe, "ADDR="+addr)
			require.Contains(t, stderr, `ADDR="`+addr+`": dev mode listens on loopback only`)
		}
	})

	t.Run("dev mode listens on loopback", func(t *testing.T) {
		s := startServer(t, name, exe, "ADDR=localhost:0")
		u, err := url.Parse(s.base)
		require.NoError(t, err)
		ip := net.ParseIP(u.Hostname())
		require.True(t, ip != nil && ip.IsLoopback(), "listening on %s", s.base)
	})

	t.Run("swapped keys show no secret", func(t *testing.T) {
		fake := clerktest.New()
		t.Cleanup(fake.Close)
		stdout, stderr := startFails(t, name, exe,
			"CLERK_SECRET_KEY="+fake.PublishableKey(), "CLERK_PUBLISHABLE_KEY="+fake.SecretKey(), "CLERK_API_URL="+fake.URL())
		require.Contains(t, stderr, `"sk_test_…": this is a secret key`)
		requireNoSecret(t, fake.SecretKey(), stdout+stderr)
	})

	t.Run("starts during a Clerk outage and recovers", func(t *testing.T) {
		// A deploy while Clerk's key endpoint fails: the example serves
		// 503 with Retry-After, never exits, and answers 200 once Clerk is
		// back. Only a configuration error stops start-up.
		fake := clerktest.New()
		t.Cleanup(fake.Close)
		fake.SetFault(clerktest.RouteJWKS, clerktest.Fault{Status: http.StatusInternalServerError})
		s := startServer(t, name, exe,
			"CLERK_SECRET_KEY="+fake.SecretKey(), "CLERK_PUBLISHABLE_KEY="+fake.PublishableKey(), "CLERK_API_URL="+fake.URL())
		token := fake.Token(fake.CreateSession("user_1").ID)
		res := s.do(t, http.MethodGet, "/me", token)
		require.Equal(t, http.StatusServiceUnavailable, res.status, "%s", res.body)
		require.Equal(t, "jwks_unavailable", res.json(t)["error"])
		require.NotEmpty(t, res.header.Get("Retry-After"))
		require.Contains(t, s.stderr.String(), "serving 503 jwks_unavailable until they can")

		fake.ClearFaults()
		// The Gate refetches at most once per Keys.MinRefetchInterval (10 s).
		deadline := time.Now().Add(30 * time.Second)
		for res.status != http.StatusOK && time.Now().Before(deadline) {
			time.Sleep(250 * time.Millisecond)
			res = s.do(t, http.MethodGet, "/me", token)
		}
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		require.Equal(t, "user_1", res.json(t)["user_id"])
	})

	t.Run("API failures answer a fixed message and log the detail", func(t *testing.T) {
		fake := clerktest.New()
		t.Cleanup(fake.Close)
		s := startServer(t, name, exe,
			"CLERK_SECRET_KEY="+fake.SecretKey(), "CLERK_PUBLISHABLE_KEY="+fake.PublishableKey(), "CLERK_API_URL="+fake.URL())
		token := fake.Token(fake.CreateSession("user_1").ID)
		apiHost := strings.TrimPrefix(fake.URL(), "http://")

		// A dropped connection: the error names the API's address.
		fake.SetFault(clerktest.RouteListSessions, clerktest.Fault{Reset: true})
		res := s.do(t, http.MethodGet, "/me/sessions", token)
		require.Equal(t, http.StatusBadGateway, res.status)
		require.JSONEq(t, fixedAPIFailure, string(res.body))

		// An error answer: Clerk's message may say anything.
		const detail = "internal detail at 10.1.2.3:6379"
		fake.SetFault(clerktest.RouteRevoke, clerktest.Fault{
			Status: http.StatusUnprocessableEntity,
			Body:   mustJSON(t, map[string]any{"errors": []map[string]string{{"code": "form_param_invalid", "message": detail}}}),
		})
		res = s.do(t, http.MethodPost, "/me/logout", token)
		require.Equal(t, http.StatusBadGateway, res.status)
		require.JSONEq(t, fixedAPIFailure, string(res.body))

		s.stop(t)
		logged := s.stderr.String()
		require.Contains(t, logged, apiHost, "the log names the failed call")
		require.Contains(t, logged, detail, "the log keeps Clerk's message")
		requireNoSecret(t, fake.SecretKey(), s.stdout.String()+logged)
	})
}

// startFails runs the example with the test's environment (less CLERK_*
// and ADDR) plus env, and requires it to exit unsuccessfully before it
// listens. Unless env names ADDR, the address is a free loopback port, so
// that a program that does start fails for that reason alone. It returns
// what the program printed.
func startFails(t *testing.T, name, exe string, env ...string) (stdout, stderr string) {
	t.Helper()
	full := append(devEnv(), "ADDR=127.0.0.1:0")
	s, err := start(t, name, exe, append(full, env...))
	t.Cleanup(func() { s.stop(t) })
	require.Error(t, err, "%s started with %q", name, env)
	state := s.cmd.ProcessState
	require.NotNil(t, state, "%s: %v", name, err)
	require.Positive(t, state.ExitCode(), "%s with %q", name, env)
	return s.stdout.String(), s.stderr.String()
}

// startServer starts the example with the test's environment (less
// CLERK_* and ADDR) plus env, on a free loopback port unless env names
// ADDR, and stops it when the test ends.
func startServer(t *testing.T, name, exe string, env ...string) *server {
	t.Helper()
	full := append(devEnv(), "ADDR=127.0.0.1:0")
	s, err := start(t, name, exe, append(full, env...))
	t.Cleanup(func() { s.stop(t) })
	require.NoError(t, err)
	return s
}

// requireNoSecret checks that out holds nothing of a secret key past its
// fixed prefix (sk_test_…): no run of six of its characters.
func requireNoSecret(t *testing.T, secret, out string) {
	t.Helper()
	rest := strings.TrimPrefix(secret, "sk_test_")
	for i := 0; i+6 <= len(rest); i++ {
		require.NotContains(t, out, rest[i:i+6], "part of the secret key in the output")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
