package clerkgate_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
)

func TestContextAccessors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, ok := clerkgate.ClaimsFromContext(ctx)
	require.False(t, ok)
	caller, ok := clerkgate.CallerFromContext(ctx)
	require.False(t, ok)
	require.Empty(t, caller.Subject(), "nil-safe for an anonymous request")
	ctx = clerkgate.ContextWithCaller(ctx, &clerkgate.Caller{Type: clerkgate.SessionToken, Session: &clerkgate.Claims{Subject: "user_9", SessionID: "sess_9"}})
	claims, ok := clerkgate.ClaimsFromContext(ctx)
	require.True(t, ok)
	require.Equal(t, "user_9", claims.Subject)
	require.Equal(t, "sess_9", claims.SessionID)
	caller, ok = clerkgate.CallerFromContext(ctx)
	require.True(t, ok)
	require.Same(t, claims, caller.Session)
}
