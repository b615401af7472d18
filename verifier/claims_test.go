package verifier_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/internal/testkit"

	"github.com/clerkgate/clerkgate/verifier"
)

func TestClaimsV1Organization(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tok := f.sign(t, f.header(), testkit.With(f.claims(),
		"org_id", "org_1", "org_slug", "acme", "org_role", "org:admin",
		"org_permissions", []string{"org:sys_memberships:manage", "org:billing:read"},
		"fva", []int{3, -1},
		"act", map[string]any{"sub": "user_support", "iss": "https://dashboard.clerk.com", "sid": "sess_support"},
	))
	c, err := f.verifier(t, nil).Verify(context.Background(), tok)
	require.NoError(t, err)
	require.Equal(t, 1, c.Version)
	require.Equal(t, &verifier.Organization{
		ID: "org_1", Slug: "acme", Role: "org:admin",
		Permissions: []string{"org:sys_memberships:manage", "org:billing:read"},
	}, c.Organization)
	require.True(t, c.HasRole("org:admin"))
	require.True(t, c.HasRole("admin"))
	require.False(t, c.HasRole("org:member"))
	require.True(t, c.HasPermission("org:billing:read"))
	require.False(t, c.HasPermission("org:billing:manage"))
	require.Equal(t, []int{3, -1}, c.FactorVerificationAge)
	require.Equal(t, &verifier.Actor{Subject: "user_support", Issuer: "https://dashboard.clerk.com", SessionID: "sess_support"}, c.Actor)
}

// TestClaimsV2WorkedExample is the example from Clerk's wire reference:
// fea o:dashboard,o:teams, per manage,read, fpm 3,2.
func TestClaimsV2WorkedExample(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tok := f.sign(t, f.header(), testkit.With(f.claims(),
		"v", 2, "jti", "jti_1", "sts", "active", "pla", "u:free,o:pro", "fea", "o:dashboard,o:teams",
		"o", map[string]any{"id": "org_2", "slg": "acme", "rol": "admin", "per": "manage,read", "fpm": "3,2"},
	))
	c, err := f.verifier(t, nil).Verify(context.Background(), tok)
	require.NoError(t, err)
	require.Equal(t, 2, c.Version)
	require.Equal(t, "jti_1", c.ID)
	require.Equal(t, "active", c.SessionStatus)
	require.False(t, c.Pending())
	require.Equal(t, &verifier.Organization{
		ID: "org_2", Slug: "acme", Role: "org:admin",
		Permissions: []string{"org:dashboard:manage", "org:dashboard:read", "org:teams:read"},
	}, c.Organization)
	require.True(t, c.HasRole("org:admin"))
	require.True(t, c.HasPermission("org:teams:read"))
	require.False(t, c.HasPermission("org:teams:manage"))
	require.True(t, c.HasFeature("o:teams"))
	require.False(t, c.HasFeature("o:team"))
	require.True(t, c.HasPlan("u:free"))
	require.False(t, c.HasPlan("u:pro"))
}

func TestClaimsV2PermissionEdgeCases(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.verifier(t, nil)
	cases := []struct {
		name          string
		fea, per, fpm string
		want          []string
	}{
		{"user features are skipped", "u:chat,o:dashboard,uo:teams", "manage,read", "1,2", []string{"org:dashboard:manage", "org:teams:read"}},
		{"fewer masks than features", "o:a,o:b", "x", "1", []string{"org:a:x"}},
		{"bad mask grants nothing", "o:a,o:b", "x,y", "zz,3", []string{"org:b:x", "org:b:y"}},
		{"mask bits beyond per are ignored", "o:a", "x", "255", []string{"org:a:x"}},
		{"negative mask grants nothing", "o:a", "x", "-1", nil},
		{"no fpm", "o:a", "x", "", nil},
	}
	for _, tc := range cases {
		tok := f.sign(t, f.header(), testkit.With(f.claims(), "v", 2, "fea", tc.fea,
			"o", map[string]any{"id": "org_2", "slg": "acme", "rol": "member", "per": tc.per, "fpm": tc.fpm}))
		c, err := v.Verify(context.Background(), tok)
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, c.Organization.Permissions, tc.name)
		require.Equal(t, "org:member", c.Organization.Role)
	}
}

func TestClaimsWithoutOrganization(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c, err := f.verifier(t, nil).Verify(context.Background(), f.sign(t, f.header(), f.claims()))
	require.NoError(t, err)
	require.Nil(t, c.Organization)
	require.False(t, c.HasRole("org:admin"))
	require.False(t, c.HasPermission("org:a:b"))
	require.Equal(t, f.vec.Now+60, c.ExpiresAt().Unix())
	require.Equal(t, f.vec.Now, c.IssuedAtTime().Unix())
	require.Equal(t, f.vec.Now-10, c.NotBeforeTime().Unix())
}

func TestCustomClaims(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tok := f.sign(t, f.header(), testkit.With(f.claims(), "email", "ada@example.com", "tier", 3))
	c, err := f.verifier(t, nil).Verify(context.Background(), tok)
	require.NoError(t, err)
	var custom struct {
		Email string `json:"email"`
		Tier  int    `json:"tier"`
	}
	require.NoError(t, c.Decode(&custom))
	require.Equal(t, "ada@example.com", custom.Email)
	require.Equal(t, 3, custom.Tier)
	raw, err := c.Raw()
	require.NoError(t, err)
	require.Equal(t, "ada@example.com", raw["email"])
	require.Equal(t, "sess_123", raw["sid"])
	require.Contains(t, string(c.RawJSON()), `"tier":3`)
}
