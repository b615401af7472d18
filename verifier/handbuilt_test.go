package verifier_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/verifier"
)

// TestHandBuiltClaimsBehave: a handler's test builds Claims by hand and
// puts them in the context. Its organization role counts in either
// spelling, as a token's does, and Decode, Raw and RawJSON read the known
// fields instead of failing on the missing payload.
func TestHandBuiltClaimsBehave(t *testing.T) {
	t.Parallel()
	for _, role := range []string{"admin", "org:admin"} {
		c := &verifier.Claims{Subject: "user_1", Organization: &verifier.Organization{ID: "org_1", Role: role}}
		require.True(t, c.HasRole("admin"), role)
		require.True(t, c.HasRole("org:admin"), role)
		require.False(t, c.HasRole("member"), role)
		require.False(t, c.HasRole("org:adm"), role)
	}

	c := &verifier.Claims{
		Subject: "user_1", SessionID: "sess_1", Expiry: 1700000060, Version: 2,
		Actor:        &verifier.Actor{Subject: "user_support"},
		Organization: &verifier.Organization{ID: "org_1", Slug: "acme", Role: "org:admin", Permissions: []string{"org:sys:read"}},
	}
	require.True(t, c.HasPermission("org:sys:read"))
	require.True(t, c.HasPermission("sys:read"))
	require.False(t, c.HasPermission("org:sys:manage"))

	var custom struct {
		Subject string   `json:"sub"`
		Role    string   `json:"org_role"`
		Perms   []string `json:"org_permissions"`
		Email   string   `json:"email"` // a template claim nobody set
	}
	require.NoError(t, c.Decode(&custom))
	require.Equal(t, "user_1", custom.Subject)
	require.Equal(t, "org:admin", custom.Role)
	require.Equal(t, []string{"org:sys:read"}, custom.Perms)
	require.Empty(t, custom.Email)

	raw, err := c.Raw()
	require.NoError(t, err)
	require.Equal(t, map[string]any{
		"sub": "user_1", "sid": "sess_1", "exp": 1700000060.0, "v": 2.0,
		"act":    map[string]any{"sub": "user_support"},
		"org_id": "org_1", "org_slug": "acme", "org_role": "org:admin", "org_permissions": []any{"org:sys:read"},
	}, raw)
	require.True(t, json.Valid(c.RawJSON()))

	var empty verifier.Claims
	m, err := empty.Raw()
	require.NoError(t, err, "even the zero Claims decode")
	require.Empty(t, m)

	// Decode's exact-name rule holds for hand-built claims too.
	var folded struct {
		Sub string `json:"SUB"`
	}
	require.ErrorContains(t, c.Decode(&folded), "only ignoring case")
}
