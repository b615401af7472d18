package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/clerkgate/clerkgate/examples/internal/exampleapp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// devServer serves the example in dev mode on loopback, as main does.
func devServer(t *testing.T) string {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "CLERK_") || name == exampleapp.EnvRedisURL || name == exampleapp.EnvRedisClusterAddrs || name == "ADDR" {
			t.Setenv(name, "") // restored after the test
			require.NoError(t, os.Unsetenv(name))
		}
	}
	app, err := exampleapp.New("gRPC")
	require.NoError(t, err)
	t.Cleanup(app.Close)
	require.True(t, app.DevMode())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := newServer(app)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// The client's tour of the example, over a real connection: each line
// shows the interceptors' decision.
func TestClientTour(t *testing.T) {
	addr := devServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, runClient(ctx, addr, "", &out))

	lines := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		label, rest, _ := strings.Cut(line, "  ")
		lines[label] = strings.TrimSpace(rest)
	}
	t.Log(out.String())
	for label, want := range map[string]string{
		"Whoami, no token":   "Unauthenticated token_missing:",
		"Whoami":             `OK {"scopes":[],"subject":"user_dev","token_type":"session_token"}`,
		"Me":                 `OK {"claims":`,
		"Admin":              "PermissionDenied role_required:",
		"Admin, as an admin": `OK {"org_id":"org_dev","user_id":"user_dev"}`,
		// The user's sessions: this one, and the admin token's.
		"Sessions (a stream)": "OK 2 session(s)",
		"Logout":              `OK {`,
		// The same token, refused at once: the Gate heard of the revocation.
		"Me, after logout": "Unauthenticated session_revoked:",
	} {
		require.True(t, strings.HasPrefix(lines[label], want), "%s: got %q, want %q…", label, lines[label], want)
	}
}

// A token the client brings is used as is: no dev sign-in, no logout.
func TestClientWithToken(t *testing.T) {
	addr := devServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, runClient(ctx, addr, "not-a-token", &out))
	require.Contains(t, out.String(), "Unauthenticated token_malformed")
	require.NotContains(t, out.String(), "Logout")
}

// Health checks need no token.
func TestHealthIsOpen(t *testing.T) {
	addr := devServer(t)
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, rep.GetStatus())
}
