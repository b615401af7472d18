package authz_test

import (
	"context"
	"crypto"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/authz"
	"github.com/clerkgate/clerkgate/internal/testkit"
	"github.com/clerkgate/clerkgate/jwks"
	"github.com/clerkgate/clerkgate/verifier"
)

// session signs claims (added to a genuine session token's) and verifies
// them, so every check runs on claims exactly as the verifier reads them
// from a token.
type session struct {
	vec testkit.Vectors
	v   *verifier.Verifier
	t   *testing.T
}

func newSession(t *testing.T) *session {
	t.Helper()
	vec := testkit.LoadVectors(t)
	keys, err := jwks.NewStatic(vec.PublicKeyPEM)
	require.NoError(t, err)
	v, err := verifier.New(verifier.Config{
		Keys: keys, Issuer: vec.Issuer,
		Clock:     func() time.Time { return time.Unix(vec.Now, 0) },
		CacheSize: -1,
	})
	require.NoError(t, err)
	return &session{vec: vec, v: v, t: t}
}

func (s *session) claims(kv ...any) *verifier.Claims {
	s.t.Helper()
	key := s.vec.SigningKey(s.t)
	tok := testkit.SignRS(s.t, key, crypto.SHA256, testkit.Header(s.kid()), testkit.With(s.vec.Claims("user_1", "sess_1"), kv...))
	c, err := s.v.Verify(context.Background(), tok)
	require.NoError(s.t, err)
	return c
}

// kid is any key id: a static key (the dashboard PEM) answers every kid.
func (s *session) kid() string { return "ins_test" }

type row struct {
	name   string
	claims []any // added to the session token's claims
	check  authz.Check
	want   bool
}

func run(t *testing.T, rows []row) {
	t.Helper()
	s := newSession(t)
	for _, r := range rows {
		c := s.claims(r.claims...)
		require.Equal(t, r.want, r.check.Allows(c), "%s: %s", r.name, r.check)
	}
}

// v2Org is the organization of the worked example in Clerk's wire
// reference: fea o:dashboard,o:teams, per manage,read, fpm 3,2 grant
// org:dashboard:manage, org:dashboard:read and org:teams:read.
var v2Org = []any{"v", 2, "fea", "o:dashboard,o:teams", "pla", "u:free,o:pro",
	"o", map[string]any{"id": "org_2", "slg": "acme", "rol": "admin", "per": "manage,read", "fpm": "3,2"}}

func TestRole(t *testing.T) {
	t.Parallel()
	v1 := []any{"org_id", "org_1", "org_role", "org:admin"}
	run(t, []row{
		{"v1 prefixed", v1, authz.Role("org:admin"), true},
		{"v1, asked without prefix", v1, authz.Role("admin"), true},
		{"v1, asked with the prefix twice, as Clerk strips every leading org:", v1, authz.Role("org:org:admin"), true},
		{"v1, another role", v1, authz.Role("org:member"), false},
		{"roles are case-sensitive", v1, authz.Role("org:Admin"), false},
		{"a role is not a prefix match", v1, authz.Role("org:adm"), false},
		{"v1 role without prefix in the token", []any{"org_id", "org_1", "org_role", "admin"}, authz.Role("org:admin"), true},
		{"no active organization: org_role alone", []any{"org_role", "org:admin"}, authz.Role("org:admin"), false},
		{"active organization without a role", []any{"org_id", "org_1"}, authz.Role("org:admin"), false},
		{"no organization at all", nil, authz.Role("org:admin"), false},
		{"v2 worked example", v2Org, authz.Role("org:admin"), true},
		{"v2, asked without prefix", v2Org, authz.Role("admin"), true},
		{"v2, another role", v2Org, authz.Role("org:member"), false},
		{"v2 reads only o, not org_*", []any{"v", 2, "org_id", "org_1", "org_role", "org:admin"}, authz.Role("org:admin"), false},
		{"v1 reads only org_*, not o", []any{"o", map[string]any{"id": "org_2", "rol": "admin"}}, authz.Role("org:admin"), false},
		{"v2 o without id", []any{"v", 2, "o", map[string]any{"rol": "admin"}}, authz.Role("org:admin"), false},
		{"empty role asked", v1, authz.Role(""), false},
		{"empty prefixed role asked", []any{"org_id", "org_1", "org_role", "org:"}, authz.Role("org:"), false},
	})
}

func TestPermission(t *testing.T) {
	t.Parallel()
	v1 := []any{"org_id", "org_1", "org_role", "org:admin", "org_permissions", []string{"org:billing:read", "org:sys_profile:manage"}}
	run(t, []row{
		{"v1 listed", v1, authz.Permission("org:billing:read"), true},
		{"v1, asked without prefix", v1, authz.Permission("billing:read"), true},
		{"v1, not listed", v1, authz.Permission("org:billing:manage"), false},
		{"v1 system permission listed in the token", v1, authz.Permission("org:sys_profile:manage"), true},
		{"a system permission is never implied by the role", v1, authz.Permission("org:sys_memberships:manage"), false},
		{"no active organization", []any{"org_permissions", []string{"org:billing:read"}}, authz.Permission("org:billing:read"), false},
		{"v1 without org_permissions", []any{"org_id", "org_1", "org_role", "org:admin"}, authz.Permission("org:billing:read"), false},
		{"v2 worked example: dashboard manage", v2Org, authz.Permission("org:dashboard:manage"), true},
		{"v2 worked example: dashboard read", v2Org, authz.Permission("org:dashboard:read"), true},
		{"v2 worked example: teams read", v2Org, authz.Permission("org:teams:read"), true},
		{"v2 worked example: teams manage is not granted", v2Org, authz.Permission("org:teams:manage"), false},
		{"v2, asked without prefix", v2Org, authz.Permission("teams:read"), true},
		{"v2 user features grant no permissions",
			[]any{"v", 2, "fea", "u:teams", "o", map[string]any{"id": "org_2", "rol": "admin", "per": "read", "fpm": "1"}},
			authz.Permission("org:teams:read"), false},
		{"v2 items are trimmed as Clerk trims them",
			[]any{"v", 2, "fea", "o:a, o:teams", "o", map[string]any{"id": "org_2", "rol": "admin", "per": "manage, read", "fpm": "1, 2"}},
			authz.Permission("org:teams:read"), true},
		{"empty permission asked", v1, authz.Permission(""), false},
	})
}

func TestFeatureAndPlan(t *testing.T) {
	t.Parallel()
	fea := []any{"v", 2, "fea", "o:dashboard,u:chat,uo:teams,xo:evil", "pla", "u:free,o:pro"}
	run(t, []row{
		{"org feature, o:", fea, authz.Feature("o:dashboard"), true},
		{"org feature, org:", fea, authz.Feature("org:dashboard"), true},
		{"org feature, organization:", fea, authz.Feature("organization:dashboard"), true},
		{"org feature, bare", fea, authz.Feature("dashboard"), true},
		{"org feature asked as user feature", fea, authz.Feature("u:dashboard"), false},
		{"user feature, u:", fea, authz.Feature("u:chat"), true},
		{"user feature, user:", fea, authz.Feature("user:chat"), true},
		{"user feature asked as org feature", fea, authz.Feature("o:chat"), false},
		{"uo is both, as org", fea, authz.Feature("o:teams"), true},
		{"uo is both, as user", fea, authz.Feature("u:teams"), true},
		{"an unknown scope in the token grants nothing", fea, authz.Feature("evil"), false},
		{"an unknown scope asked fails", fea, authz.Feature("x:dashboard"), false},
		{"not listed", fea, authz.Feature("billing"), false},
		{"no fea", nil, authz.Feature("dashboard"), false},
		{"an unscoped item voids the list", []any{"fea", "o:dashboard,chat"}, authz.Feature("dashboard"), false},
		{"items are trimmed", []any{"fea", "o:a, u:chat"}, authz.Feature("u:chat"), true},
		{"v1 tokens read fea too", []any{"fea", "u:chat"}, authz.Feature("chat"), true},
		{"org features need no active organization, as in Clerk", []any{"fea", "o:dashboard"}, authz.Feature("o:dashboard"), true},
		{"user plan", fea, authz.Plan("u:free"), true},
		{"user plan, bare", fea, authz.Plan("free"), true},
		{"user plan asked as org plan", fea, authz.Plan("o:free"), false},
		{"org plan", fea, authz.Plan("org:pro"), true},
		{"org plan asked as user plan", fea, authz.Plan("user:pro"), false},
		{"a plan is not a feature", fea, authz.Feature("free"), false},
		{"a feature is not a plan", fea, authz.Plan("chat"), false},
		{"no pla", []any{"fea", "u:free"}, authz.Plan("free"), false},
		{"empty plan asked", fea, authz.Plan(""), false},
	})
}

// TestReverification follows Clerk's fva rules: fva holds the minutes
// since the first and the second factor were verified, -1 for a factor
// group the user has not enabled; a factor is fresh when afterMinutes is
// greater than its age.
func TestReverification(t *testing.T) {
	t.Parallel()
	first := authz.ReverificationWithin(authz.FirstFactor, 10)
	second := authz.ReverificationWithin(authz.SecondFactor, 10)
	multi := authz.ReverificationWithin(authz.MultiFactor, 10)
	fva := func(a, b int) []any { return []any{"fva", []int{a, b}} }
	run(t, []row{
		{"no fva: the instance has not opted in", nil, second, false},
		{"no fva, first factor", nil, first, false},
		{"empty fva", []any{"fva", []int{}}, first, false},
		{"one age", []any{"fva", []int{0}}, first, false},
		{"three ages", []any{"fva", []int{0, 0, 0}}, first, false},
		{"age below -1", fva(-2, 0), second, false},
		{"first age below -1", fva(-5, -1), first, false},
		{"no factor enabled", fva(-1, -1), first, false},

		{"first factor fresh", fva(9, -1), first, true},
		{"first factor at the limit is stale", fva(10, -1), first, false},
		{"first factor just verified", fva(0, 0), first, true},
		{"first factor not enabled", fva(-1, 0), first, false},

		{"second factor fresh", fva(500, 9), second, true},
		{"second factor at the limit is stale", fva(0, 10), second, false},
		{"no second factor: first factor stands in", fva(5, -1), second, true},
		{"no second factor, stale first", fva(15, -1), second, false},
		{"no first factor, fresh second", fva(-1, 5), second, true},
		{"no first factor, stale second", fva(-1, 50), second, false},

		{"both fresh", fva(5, 5), multi, true},
		{"second stale", fva(5, 20), multi, false},
		{"first stale", fva(20, 5), multi, false},
		{"no second factor: first factor stands in", fva(5, -1), multi, true},
		{"no first factor cannot be multi-factor", fva(-1, 5), multi, false},

		{"strict is second factor within 10", fva(100, 9), authz.Reverification(authz.Strict), true},
		{"strict, stale", fva(0, 10), authz.Reverification(authz.Strict), false},
		{"strict_mfa is multi-factor within 10", fva(9, 9), authz.Reverification(authz.StrictMFA), true},
		{"strict_mfa, stale first", fva(10, 0), authz.Reverification(authz.StrictMFA), false},
		{"moderate is 60 min", fva(0, 59), authz.Reverification(authz.Moderate), true},
		{"moderate, stale", fva(0, 60), authz.Reverification(authz.Moderate), false},
		{"lax is a day", fva(0, 1439), authz.Reverification(authz.Lax), true},
		{"lax, stale", fva(0, 1440), authz.Reverification(authz.Lax), false},

		{"unknown preset", fva(0, 0), authz.Reverification("hard"), false},
		{"unknown level", fva(0, 0), authz.ReverificationWithin("third_factor", 10), false},
		{"zero minutes", fva(0, 0), authz.ReverificationWithin(authz.FirstFactor, 0), false},
		{"negative minutes", fva(0, 0), authz.ReverificationWithin(authz.FirstFactor, -5), false},
	})
}

// TestMalformedFVA: ages that are not integers make the token's claims
// invalid, so such a session never reaches a check.
func TestMalformedFVA(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	key := s.vec.SigningKey(t)
	for _, fva := range []any{"10,0", []any{1.5, 0}, []any{"0", "0"}, map[string]any{"0": 0}, []any{nil, 0}} {
		tok := testkit.SignRS(t, key, crypto.SHA256, testkit.Header(s.kid()), testkit.With(s.vec.Claims("user_1", "sess_1"), "fva", fva))
		_, err := s.v.Verify(context.Background(), tok)
		require.ErrorIs(t, err, verifier.ReasonClaimsInvalid, "fva %v", fva)
	}
}

func TestScopeAndFunc(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	c := s.claims("org_id", "org_1", "org_role", "org:admin")
	require.False(t, authz.Scope("read:invoices").Allows(c), "a session has no scopes")
	require.True(t, authz.Scope("read:invoices").AllowsScopes([]string{"write:invoices", "read:invoices"}))
	require.False(t, authz.Scope("read:invoices").AllowsScopes([]string{"read:invoice", "read:invoices:all"}))
	require.False(t, authz.Scope("read:invoices").AllowsScopes(nil))
	require.False(t, authz.Role("org:admin").AllowsScopes([]string{"org:admin"}), "a machine has no role")
	require.False(t, authz.Scope("").AllowsScopes([]string{""}))

	var seen *verifier.Claims
	allow := authz.Func(func(c *verifier.Claims) bool { seen = c; return c.Organization != nil })
	require.True(t, allow.Allows(c))
	require.Same(t, c, seen)
	require.False(t, allow.Allows(s.claims()))
	require.False(t, allow.Allows(nil), "nil claims never reach the func")
	require.False(t, authz.Func(nil).Allows(c))
}

func TestValid(t *testing.T) {
	t.Parallel()
	for _, c := range []authz.Check{
		authz.Role("admin"), authz.Permission("org:a:b"), authz.Feature("x"), authz.Plan("x"), authz.Scope("x"),
		authz.Reverification(authz.Strict), authz.Reverification(authz.StrictMFA), authz.Reverification(authz.Moderate),
		authz.Reverification(authz.Lax), authz.ReverificationWithin(authz.MultiFactor, 1),
		authz.Func(func(*verifier.Claims) bool { return true }),
	} {
		require.NoError(t, c.Valid(), c.String())
	}
	for _, c := range []authz.Check{
		{}, authz.Role(""), authz.Role("org:"), authz.Role("org:org:"), authz.Permission(""), authz.Permission("org:"), authz.Feature(""), authz.Plan(""), authz.Scope(""),
		authz.Reverification(""), authz.Reverification("hard"), authz.ReverificationWithin(authz.SecondFactor, 0),
		authz.ReverificationWithin("", 10), authz.Func(nil),
	} {
		require.Error(t, c.Valid(), c.String())
		require.False(t, c.Allows(newSession(t).claims("fva", []int{0, 0}, "org_id", "o", "org_role", "")), c.String())
	}
}

func TestReasons(t *testing.T) {
	t.Parallel()
	checks := []struct {
		c    authz.Check
		want verifier.Reason
		str  string
	}{
		{authz.Role("org:admin"), "role_required", `role "org:admin"`},
		{authz.Permission("org:a:b"), "permission_required", `permission "org:a:b"`},
		{authz.Feature("o:x"), "feature_required", `feature "o:x"`},
		{authz.Plan("u:pro"), "plan_required", `plan "u:pro"`},
		{authz.Reverification(authz.Strict), "reverification_required", `reverification "strict"`},
		{authz.ReverificationWithin(authz.FirstFactor, 5), "reverification_required", "reverification first_factor within 5 min"},
		{authz.Scope("read"), "scope_required", `scope "read"`},
		{authz.Func(func(*verifier.Claims) bool { return true }), "check_failed", "func"},
	}
	for _, tc := range checks {
		require.Equal(t, tc.want, tc.c.Reason(), tc.str)
		require.Equal(t, tc.str, tc.c.String())
	}
}

// TestReverificationError holds the body to the bytes Clerk's
// reverificationError produces (JSON.stringify of the same object).
func TestReverificationError(t *testing.T) {
	t.Parallel()
	cases := []struct {
		c    authz.Check
		want string
	}{
		{authz.Reverification(authz.Strict), `{"clerk_error":{"type":"forbidden","reason":"reverification-error","metadata":{"reverification":"strict"}}}`},
		{authz.Reverification(authz.StrictMFA), `{"clerk_error":{"type":"forbidden","reason":"reverification-error","metadata":{"reverification":"strict_mfa"}}}`},
		{authz.ReverificationWithin(authz.MultiFactor, 30), `{"clerk_error":{"type":"forbidden","reason":"reverification-error","metadata":{"reverification":{"level":"multi_factor","afterMinutes":30}}}}`},
		{authz.Role("admin"), `{"clerk_error":{"type":"forbidden","reason":"reverification-error","metadata":{}}}`},
		{authz.Reverification("hard"), `{"clerk_error":{"type":"forbidden","reason":"reverification-error","metadata":{}}}`},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, string(tc.c.ReverificationError()), tc.c.String())
	}
}
