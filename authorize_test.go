package clerkgate_test

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/authz"
	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/clerktest/adaptertest"
	"github.com/clerkgate/clerkgate/verifier"
)

// authzRig is a Gate guarding one route per kind of check, in front of a
// fake Clerk backend over real HTTP.
type authzRig struct{ *rig }

func newAuthzRig(t *testing.T, mod func(*clerkgate.Config)) *authzRig {
	t.Helper()
	return &authzRig{newRig(t, withConfig(mod), withHandler(func(g *clerkgate.Gate) http.Handler {
		mux := http.NewServeMux()
		for path, checks := range authzRoutes {
			mux.Handle(path, g.Accept(clerkgate.SessionToken).With(checks...).Require(whoami))
		}
		return mux
	}))}
}

var authzRoutes = map[string][]authz.Check{
	"/admin":      {authz.Role("org:admin")},
	"/billing":    {authz.Permission("org:billing:manage")},
	"/chat":       {authz.Feature("u:chat")},
	"/pro":        {authz.Plan("o:pro")},
	"/sensitive":  {authz.Reverification(authz.Strict)},
	"/custom":     {authz.ReverificationWithin(authz.MultiFactor, 30)},
	"/admin-step": {authz.Reverification(authz.Strict), authz.Role("org:admin")},
	"/scope":      {authz.Scope("invoices:read")},
	"/func": {authz.Func(func(c *verifier.Claims) bool {
		return c.Organization != nil && c.Organization.Slug == "acme"
	})},
}

func (r *authzRig) get(t *testing.T, path, token string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, r.url+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, res.Header, string(body)
}

func forbiddenBody(reason, message string) string {
	return `{"error":"forbidden","reason":"` + reason + `","message":"` + message + `"}` + "\n"
}

// TestRequire: every kind of check, passed and failed, over real HTTP.
// Each refusal is a token that would be dangerous to let through.
func TestRequire(t *testing.T) {
	t.Parallel()
	rig := newAuthzRig(t, nil)
	admin := rig.fake.CreateSession("user_admin", clerktest.WithOrg("org_1", "acme", "admin", "org:billing:manage"))
	member := rig.fake.CreateSession("user_member", clerktest.WithOrg("org_1", "acme", "member", "org:billing:read"))
	alone := rig.fake.CreateSession("user_alone")

	role := forbiddenBody("role_required", "the session's organization role does not allow this")
	perm := forbiddenBody("permission_required", "the session's organization permissions do not allow this")
	feature := forbiddenBody("feature_required", "the session's plan does not include a feature this needs")
	plan := forbiddenBody("plan_required", "the session does not have the plan this needs")
	scope := forbiddenBody("scope_required", "the caller was not granted the scope this needs")
	custom := forbiddenBody("check_failed", "the session is not allowed to do this")
	strict := `{"clerk_error":{"type":"forbidden","reason":"reverification-error","metadata":{"reverification":"strict"}}}`
	multi30 := `{"clerk_error":{"type":"forbidden","reason":"reverification-error","metadata":{"reverification":{"level":"multi_factor","afterMinutes":30}}}}`

	cases := []struct {
		name, path, token string
		status            int
		body              string // "" for a 200
	}{
		{"admin", "/admin", rig.fake.Token(admin.ID), 200, ""},
		{"admin, v2", "/admin", rig.fake.Token(admin.ID, clerktest.V2()), 200, ""},
		{"member", "/admin", rig.fake.Token(member.ID), 403, role},
		{"member, v2", "/admin", rig.fake.Token(member.ID, clerktest.V2()), 403, role},
		{"no organization", "/admin", rig.fake.Token(alone.ID), 403, role},
		{"org_role without an active organization", "/admin",
			rig.fake.Token(alone.ID, clerktest.WithClaims(map[string]any{"org_role": "org:admin"})), 403, role},
		{"v1 org claims in a v2 token", "/admin",
			rig.fake.Token(alone.ID, clerktest.V2(), clerktest.WithClaims(map[string]any{"org_id": "org_1", "org_role": "org:admin"})), 403, role},
		{"a custom role claim is not the organization role", "/admin",
			rig.fake.Token(alone.ID, clerktest.WithClaims(map[string]any{"role": "admin", "org_role": "admin"})), 403, role},

		{"permission", "/billing", rig.fake.Token(admin.ID), 200, ""},
		{"permission, v2", "/billing", rig.fake.Token(admin.ID, clerktest.V2()), 200, ""},
		{"another permission", "/billing", rig.fake.Token(member.ID), 403, perm},
		{"another permission, v2", "/billing", rig.fake.Token(member.ID, clerktest.V2()), 403, perm},
		{"permission without organization", "/billing",
			rig.fake.Token(alone.ID, clerktest.WithClaims(map[string]any{"org_permissions": []string{"org:billing:manage"}})), 403, perm},

		{"user feature", "/chat", rig.fake.Token(alone.ID, clerktest.V2(), clerktest.WithFeatures("u:chat")), 200, ""},
		{"both scopes", "/chat", rig.fake.Token(alone.ID, clerktest.V2(), clerktest.WithFeatures("ou:chat")), 200, ""},
		{"organization feature is not a user feature", "/chat", rig.fake.Token(alone.ID, clerktest.V2(), clerktest.WithFeatures("o:chat")), 403, feature},
		{"no features", "/chat", rig.fake.Token(alone.ID, clerktest.V2()), 403, feature},
		{"a plan is not a feature", "/chat", rig.fake.Token(alone.ID, clerktest.V2(), clerktest.WithPlans("u:chat")), 403, feature},

		{"org plan", "/pro", rig.fake.Token(admin.ID, clerktest.V2(), clerktest.WithPlans("u:free", "o:pro")), 200, ""},
		{"user plan is not an org plan", "/pro", rig.fake.Token(admin.ID, clerktest.V2(), clerktest.WithPlans("u:pro")), 403, plan},

		{"second factor 9 min ago", "/sensitive", rig.fake.Token(alone.ID, clerktest.WithFactorVerificationAge(200, 9)), 200, ""},
		{"no second factor, first 2 min ago", "/sensitive", rig.fake.Token(alone.ID, clerktest.WithFactorVerificationAge(2, -1)), 200, ""},
		{"second factor 10 min ago", "/sensitive", rig.fake.Token(alone.ID, clerktest.WithFactorVerificationAge(0, 10)), 403, strict},
		{"no fva: the instance has not opted in", "/sensitive", rig.fake.Token(alone.ID), 403, strict},
		{"no factor enabled", "/sensitive", rig.fake.Token(alone.ID, clerktest.WithFactorVerificationAge(-1, -1)), 403, strict},
		{"ages below -1", "/sensitive", rig.fake.Token(alone.ID, clerktest.WithFactorVerificationAge(-5, -5)), 403, strict},
		{"three ages", "/sensitive", rig.fake.Token(alone.ID, clerktest.WithClaims(map[string]any{"fva": []int{0, 0, 0}})), 403, strict},

		{"both factors fresh", "/custom", rig.fake.Token(alone.ID, clerktest.WithFactorVerificationAge(29, 29)), 200, ""},
		{"first factor stale", "/custom", rig.fake.Token(alone.ID, clerktest.WithFactorVerificationAge(30, 0)), 403, multi30},
		{"no first factor", "/custom", rig.fake.Token(alone.ID, clerktest.WithFactorVerificationAge(-1, 0)), 403, multi30},

		{"admin, freshly verified", "/admin-step", rig.fake.Token(admin.ID, clerktest.WithFactorVerificationAge(0, 0)), 200, ""},
		{"admin, stale", "/admin-step", rig.fake.Token(admin.ID, clerktest.WithFactorVerificationAge(0, 60)), 403, strict},
		{"member, stale: the role is reported, not a step-up", "/admin-step", rig.fake.Token(member.ID, clerktest.WithFactorVerificationAge(0, 60)), 403, role},

		{"a session has no scopes", "/scope", rig.fake.Token(admin.ID, clerktest.WithClaims(map[string]any{"scopes": "invoices:read", "scp": []string{"invoices:read"}})), 403, scope},

		{"func allows", "/func", rig.fake.Token(admin.ID), 200, ""},
		{"func refuses", "/func", rig.fake.Token(alone.ID), 403, custom},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, h, body := rig.get(t, tc.path, tc.token)
			require.Equal(t, tc.status, status, "body: %s", body)
			if tc.status == http.StatusOK {
				require.Contains(t, body, "user_")
				return
			}
			require.Equal(t, tc.body, body)
			require.Equal(t, "application/json", h.Get("Content-Type"))
			require.Equal(t, "no-store", h.Get("Cache-Control"))
			require.Empty(t, h.Get("WWW-Authenticate"), "the credentials are fine; a challenge would not help")
		})
	}
}

// TestRequireUnauthenticated: a request without a valid session gets the
// 401 contract, never a 403 that would tell an attacker the route exists
// behind a check.
func TestRequireUnauthenticated(t *testing.T) {
	t.Parallel()
	rig := newAuthzRig(t, nil)
	admin := rig.fake.CreateSession("user_admin", clerktest.WithOrg("org_1", "acme", "admin"))
	for path := range authzRoutes {
		status, h, body := rig.get(t, path, "")
		require.Equal(t, http.StatusUnauthorized, status, path)
		require.JSONEq(t, `{"error":"token_missing","message":"no session token in the Authorization header or the session cookie"}`, body, path)
		require.Equal(t, "Bearer", h.Get("WWW-Authenticate"))

		forged := adaptertest.Forge(t, rig.fake.Token(admin.ID, clerktest.WithFactorVerificationAge(0, 0)))
		status, _, body = rig.get(t, path, forged)
		require.Equal(t, http.StatusUnauthorized, status, path)
		require.Contains(t, body, `"error":"signature_invalid"`, path)

		expired := rig.fake.Token(admin.ID, clerktest.Expired(), clerktest.WithFactorVerificationAge(0, 0))
		status, _, body = rig.get(t, path, expired)
		require.Equal(t, http.StatusUnauthorized, status, path)
		require.Contains(t, body, `"error":"token_expired"`, path)
	}
}

// TestRequireErrorHandler: 403s go through Config.ErrorHandler, which sees
// the reason and the failed check.
func TestRequireErrorHandler(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		got []*clerkgate.AuthError
	)
	rig := newAuthzRig(t, func(cfg *clerkgate.Config) {
		cfg.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, e *clerkgate.AuthError) {
			mu.Lock()
			got = append(got, e)
			mu.Unlock()
			w.WriteHeader(http.StatusTeapot)
		}
	})
	member := rig.fake.CreateSession("user_member", clerktest.WithOrg("org_1", "acme", "member"))
	status, _, _ := rig.get(t, "/admin", rig.fake.Token(member.ID))
	require.Equal(t, http.StatusTeapot, status)
	status, _, _ = rig.get(t, "/sensitive", rig.fake.Token(member.ID))
	require.Equal(t, http.StatusTeapot, status)
	status, _, _ = rig.get(t, "/admin", "")
	require.Equal(t, http.StatusTeapot, status)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 3)
	require.Equal(t, http.StatusForbidden, got[0].Status)
	require.True(t, errors.Is(got[0], clerkgate.ReasonRoleRequired))
	require.Equal(t, authz.KindRole, got[0].Check.Kind())
	require.Equal(t, `role "org:admin"`, got[0].Check.String())
	require.True(t, got[0].TokenPresented)
	require.True(t, errors.Is(got[1], clerkgate.ReasonReverificationRequired))
	require.Equal(t, authz.KindReverification, got[1].Check.Kind())
	require.Equal(t, http.StatusUnauthorized, got[2].Status)
	require.Nil(t, got[2].Check)
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	err := refusalOf(t, clerkgate.Authorize(nil, authz.Role("admin")))
	require.Equal(t, http.StatusUnauthorized, err.Status)
	require.Equal(t, clerkgate.ReasonTokenMissing, err.Reason)
	err = refusalOf(t, clerkgate.Authorize(&clerkgate.Caller{Type: clerkgate.SessionToken}, authz.Role("admin")))
	require.Equal(t, clerkgate.ReasonTokenMissing, err.Reason, "a caller without a credential is anonymous")

	c := &clerkgate.Caller{Type: clerkgate.SessionToken, Session: &clerkgate.Claims{Subject: "user_1", SessionID: "sess_1", Organization: &verifier.Organization{ID: "org_1", Role: "org:admin"}}}
	require.NoError(t, clerkgate.Authorize(c, authz.Role("admin")))
	err = refusalOf(t, clerkgate.Authorize(c))
	require.Equal(t, http.StatusForbidden, err.Status, "has({}) is false")
	err = refusalOf(t, clerkgate.Authorize(c, authz.Reverification(authz.Lax), authz.Plan("pro"), authz.Role("member")))
	require.Equal(t, clerkgate.ReasonPlanRequired, err.Reason, "the first failure that is not a step-up")
}

func TestRequireRefusesBadChecksAtStartUp(t *testing.T) {
	t.Parallel()
	g, err := clerkgate.New(clerkgate.Config{JWTKey: clerktestPEM(t)})
	require.NoError(t, err)
	defer g.Close()
	for name, checks := range map[string][]authz.Check{
		"none":           nil,
		"empty role":     {authz.Role("org:")},
		"unknown preset": {authz.Reverification("hard")},
		"zero minutes":   {authz.Role("admin"), authz.ReverificationWithin(authz.SecondFactor, 0)},
		"zero check":     {{}},
	} {
		require.Panics(t, func() { g.Accept(clerkgate.SessionToken).With(checks...) }, name)
		require.Error(t, clerkgate.ValidateChecks(checks...), name)
	}
}

func clerktestPEM(t *testing.T) string {
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	return fake.PublicKeyPEM()
}
