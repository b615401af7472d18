package verifier_test

import (
	"context"
	"crypto"
	"slices"
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
	require.Equal(t, f.vec.Now+60, c.ExpiryTime().Unix())
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

// TestClaimsOrganizationFollowsVersion: like Clerk, the "o" claim counts
// only in format 2, and the org_* claims only outside it. A token that
// carries both must not get the v1 role in v2, or the reverse.
func TestClaimsOrganizationFollowsVersion(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.verifier(t, nil)
	o := map[string]any{"id": "org_v2", "rol": "member"}
	cases := []struct {
		name    string
		claims  map[string]any
		wantOrg string
		role    string
	}{
		{"v1 ignores o", testkit.With(f.claims(), "o", map[string]any{"id": "org_v2", "rol": "admin"}), "", ""},
		{"v1 reads org_*", testkit.With(f.claims(), "org_id", "org_v1", "org_role", "org:admin"), "org_v1", "org:admin"},
		{"v2 ignores org_*", testkit.With(f.claims(), "v", 2, "org_id", "org_v1", "org_role", "org:admin"), "", ""},
		{"v2 with both reads o", testkit.With(f.claims(), "v", 2, "o", o, "org_id", "org_v1", "org_role", "org:admin"), "org_v2", "org:member"},
		{"v3 reads org_*, as Clerk does", testkit.With(f.claims(), "v", 3, "o", o, "org_id", "org_v1", "org_role", "org:admin"), "org_v1", "org:admin"},
	}
	for _, tc := range cases {
		c, err := v.Verify(context.Background(), f.sign(t, f.header(), tc.claims))
		require.NoError(t, err, tc.name)
		if tc.wantOrg == "" {
			require.Nil(t, c.Organization, tc.name)
			require.False(t, c.HasRole("org:admin"), tc.name)
			continue
		}
		require.Equal(t, tc.wantOrg, c.Organization.ID, tc.name)
		require.Equal(t, tc.role, c.Organization.Role, tc.name)
	}
}

// TestClaimsFeatureScopes: a feature is organization-scoped when its
// scope is exactly o, ou or uo, as in Clerk's splitByScope; any other
// scope containing an "o" grants no organization permission.
func TestClaimsFeatureScopes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.verifier(t, nil)
	cases := []struct {
		name, fea, fpm string
		want           []string
	}{
		{"o, ou and uo are organization scopes", "o:a,ou:b,uo:c", "1,1,1", []string{"org:a:manage", "org:b:manage", "org:c:manage"}},
		{"other scopes with an o are not", "xo:a,org:b,oo:c,O:d,o:e", "1", []string{"org:e:manage"}},
		{"a feature without a scope voids the list", "o:a,b", "1", nil},
	}
	for _, tc := range cases {
		tok := f.sign(t, f.header(), testkit.With(f.claims(), "v", 2, "fea", tc.fea,
			"o", map[string]any{"id": "org_2", "rol": "member", "per": "manage", "fpm": tc.fpm}))
		c, err := v.Verify(context.Background(), tok)
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, c.Organization.Permissions, tc.name)
	}
}

// TestHasFeatureAndPlan follows Clerk's has({feature}) and has({plan}).
func TestHasFeatureAndPlan(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tok := f.sign(t, f.header(), testkit.With(f.claims(), "v", 2,
		"fea", "o:dashboard,u:chat,uo:teams,xo:evil", "pla", "u:free,o:pro"))
	c, err := f.verifier(t, nil).Verify(context.Background(), tok)
	require.NoError(t, err)
	for feature, want := range map[string]bool{
		"o:dashboard": true, "org:dashboard": true, "organization:dashboard": true, "dashboard": true, "u:dashboard": false,
		"u:chat": true, "user:chat": true, "chat": true, "o:chat": false,
		"o:teams": true, "u:teams": true, "teams": true,
		"xo:evil": false, "o:evil": false, "evil": false,
		"x:dashboard": false, "": false, "o:": false, "o:dashboard:x": false,
	} {
		require.Equal(t, want, c.HasFeature(feature), feature)
	}
	for plan, want := range map[string]bool{"u:free": true, "free": true, "o:free": false, "o:pro": true, "pro": true, "u:pro": false} {
		require.Equal(t, want, c.HasPlan(plan), plan)
	}
}

// TestDecodeMatchesNamesExactly: custom claims follow Verify's rules.
// encoding/json would fill Role from "ROLE" or "Role".
func TestDecodeMatchesNamesExactly(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.verifier(t, nil)
	type custom struct {
		Role  string `json:"role"`
		Scope string `json:"scope"`
		Inner struct {
			Tier int `json:"tier"`
		} `json:"inner"`
	}
	for name, member := range map[string]string{
		"upper case":         `"ROLE":"admin"`,
		"title case":         `"Role":"admin"`,
		"title case nested":  `"inner":{"Tier":3}`,
		"long s":             `"ſcope":"admin"`,
		"nested case folded": `"inner":{"TIER":3}`,
	} {
		tok := testkit.SignRawRS(t, f.key, crypto.SHA256, testkit.JSONWith(f.header()), testkit.JSONWith(f.claims(), member))
		c, err := v.Verify(context.Background(), tok)
		require.NoError(t, err, name)
		var got custom
		require.ErrorContains(t, c.Decode(&got), "only ignoring case", name)
		require.Empty(t, got.Role, name)
		require.Empty(t, got.Scope, name)
	}
	tok := testkit.SignRawRS(t, f.key, crypto.SHA256, testkit.JSONWith(f.header()), testkit.JSONWith(f.claims(), `"role":"admin"`, `"inner":{"tier":3}`, `"Other":1`))
	c, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)
	var got custom
	require.NoError(t, c.Decode(&got))
	require.Equal(t, "admin", got.Role)
	require.Equal(t, 3, got.Inner.Tier)
	var m map[string]any
	require.NoError(t, c.Decode(&m), "a map has no field names to fold")
	require.Equal(t, "admin", m["role"])
}

// TestCloneSharesNothing: every field a caller can write through a clone,
// written, leaves the original as it was; and a clone equals its
// original before that.
func TestCloneSharesNothing(t *testing.T) {
	for name, fva := range map[string][]int{"two factors": {3, -1}, "long fva": {1, 2, 3}, "no fva": nil} {
		orig := &verifier.Claims{
			Subject: "user_1", SessionID: "sess_1", Features: "o:a", FactorVerificationAge: fva,
			Actor:        &verifier.Actor{Subject: "user_admin"},
			Organization: &verifier.Organization{ID: "org_1", Role: "org:member", Permissions: []string{"org:a:read", "org:b:read"}},
		}
		want := *orig
		wantOrg, wantActor := *orig.Organization, *orig.Actor
		wantPerms, wantFVA := slices.Clone(orig.Organization.Permissions), slices.Clone(fva)

		c := orig.Clone()
		require.Equal(t, orig, c, name)
		c.Subject, c.Features = "user_2", "o:all"
		c.Organization.Role, c.Organization.Permissions[0] = "org:admin", "org:sys:all"
		c.Organization.Permissions = append(c.Organization.Permissions, "org:more")
		c.Actor.Subject = "user_mallory"
		if len(c.FactorVerificationAge) > 0 {
			c.FactorVerificationAge[0] = 0
			c.FactorVerificationAge = append(c.FactorVerificationAge, 7)
		}

		require.Equal(t, want.Subject, orig.Subject, name)
		require.Equal(t, want.Features, orig.Features, name)
		require.Same(t, want.Organization, orig.Organization, name)
		require.Equal(t, wantOrg.Role, orig.Organization.Role, name)
		require.Equal(t, wantPerms, orig.Organization.Permissions, name)
		require.Equal(t, wantActor, *orig.Actor, name)
		require.Equal(t, wantFVA, orig.FactorVerificationAge, name)
	}
}
