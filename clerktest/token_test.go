package clerktest_test

import (
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/clerktest"
)

// frozen is the fixed "now" of Clerk's test vectors.
var frozen = time.Unix(1666648250, 0)

func frozenClock() clerktest.Option {
	return clerktest.WithClock(func() time.Time { return frozen })
}

func TestTokenDefaultShape(t *testing.T) {
	t.Parallel()
	s := newServer(t, frozenClock())
	sess := s.CreateSession("user_1")
	token := s.Token(sess.ID)

	require.Equal(t, map[string]any{"alg": "RS256", "cat": "cl_B7d4PD111AAA", "kid": s.KeyID(), "typ": "JWT"}, headerOf(t, token))
	c := claimsOf(t, token)
	require.Equal(t, map[string]any{
		"azp": clerktest.DefaultAuthorizedParty,
		"exp": float64(frozen.Unix() + 60),
		"iat": float64(frozen.Unix()),
		"iss": s.Issuer(),
		"nbf": float64(frozen.Unix() - 10),
		"sid": sess.ID,
		"sub": "user_1",
	}, c)
	require.True(t, strings.HasPrefix(sess.ID, "sess_"))
	require.True(t, strings.HasPrefix(sess.ClientID, "client_"))
	require.NotEmpty(t, sess.RefreshToken)
	require.NoError(t, verifyAgainstJWKS(s.JWKS(), token))
}

func TestTokenTimes(t *testing.T) {
	t.Parallel()
	s := newServer(t, frozenClock())
	sess := s.CreateSession("user_1")
	now := frozen.Unix()

	c := claimsOf(t, s.Token(sess.ID, clerktest.Expired()))
	require.Equal(t, now-60, num(t, c, "exp"))
	require.Equal(t, now-120, num(t, c, "iat"))
	require.Equal(t, now-130, num(t, c, "nbf"))

	c = claimsOf(t, s.Token(sess.ID, clerktest.ExpiresIn(time.Hour)))
	require.Equal(t, now+3600, num(t, c, "exp"))
	require.Equal(t, now, num(t, c, "iat"))

	at := frozen.Add(-time.Hour)
	c = claimsOf(t, s.Token(sess.ID, clerktest.IssuedAt(at)))
	require.Equal(t, at.Unix(), num(t, c, "iat"))
	require.Equal(t, at.Unix()-10, num(t, c, "nbf"))
	require.Equal(t, at.Unix()+60, num(t, c, "exp"))

	c = claimsOf(t, s.Token(sess.ID, clerktest.Expired(), clerktest.ExpiresIn(5*time.Minute)))
	require.Equal(t, now-60, num(t, c, "exp"))
	require.Equal(t, now-60-300, num(t, c, "iat"))
}

func TestTokenOrgV1(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	sess := s.CreateSession("user_1")
	c := claimsOf(t, s.Token(sess.ID, clerktest.WithOrg("org_1", "acme", "admin",
		"org:dashboard:manage", "org:dashboard:read", "org:teams:read")))
	require.Equal(t, "org_1", c["org_id"])
	require.Equal(t, "acme", c["org_slug"])
	require.Equal(t, "org:admin", c["org_role"])
	require.Equal(t, []any{"org:dashboard:manage", "org:dashboard:read", "org:teams:read"}, c["org_permissions"])
	require.NotContains(t, c, "o")
	require.NotContains(t, c, "v")
	require.NotContains(t, c, "sts")

	// The "org:" prefix may be given too; it is never doubled.
	c = claimsOf(t, s.Token(sess.ID, clerktest.WithOrg("org_1", "acme", "org:member")))
	require.Equal(t, "org:member", c["org_role"])
	require.Equal(t, []any{}, c["org_permissions"])
}

func TestTokenV2OrgFollowsWorkedExample(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	sess := s.CreateSession("user_1")
	token := s.Token(sess.ID, clerktest.V2(), clerktest.WithOrg("org_1", "acme", "org:admin",
		"org:dashboard:manage", "org:dashboard:read", "org:teams:read"))
	c := claimsOf(t, token)

	require.Equal(t, float64(2), c["v"])
	require.Equal(t, "active", c["sts"])
	require.NotEmpty(t, c["jti"])
	require.Equal(t, "o:dashboard,o:teams", c["fea"])
	require.Equal(t, map[string]any{
		"id":  "org_1",
		"slg": "acme",
		"rol": "admin",
		"per": "manage,read",
		"fpm": "3,2",
	}, c["o"])
	for _, v1 := range []string{"org_id", "org_slug", "org_role", "org_permissions"} {
		require.NotContains(t, c, v1)
	}
	require.NoError(t, verifyAgainstJWKS(s.JWKS(), token))

	// Without permissions there is nothing to put in fea, per or fpm.
	c = claimsOf(t, s.Token(sess.ID, clerktest.V2(), clerktest.WithOrg("org_2", "", "member")))
	require.Equal(t, map[string]any{"id": "org_2", "rol": "member"}, c["o"])
	require.NotContains(t, c, "fea")

	// Two v2 tokens never share a jti.
	require.NotEqual(t, claimsOf(t, s.Token(sess.ID, clerktest.V2()))["jti"],
		claimsOf(t, s.Token(sess.ID, clerktest.V2()))["jti"])
}

func TestTokenSessionOrgAppliesToEveryToken(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	sess := s.CreateSession("user_1", clerktest.WithOrg("org_1", "acme", "admin", "org:teams:read"))
	require.Equal(t, "org_1", claimsOf(t, s.Token(sess.ID))["org_id"])
	require.Equal(t, "o:teams", claimsOf(t, s.Token(sess.ID, clerktest.V2()))["fea"])
	// A token option overrides the session's membership.
	require.Equal(t, "org_2", claimsOf(t, s.Token(sess.ID, clerktest.WithOrg("org_2", "b", "member")))["org_id"])
}

func TestTokenPending(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	sess := s.CreateSession("user_1")
	require.Equal(t, "pending", claimsOf(t, s.Token(sess.ID, clerktest.V2(), clerktest.Pending()))["sts"])
	require.Equal(t, "pending", claimsOf(t, s.Token(sess.ID, clerktest.Pending()))["sts"])
}

func TestTokenOverrides(t *testing.T) {
	t.Parallel()
	s := newServer(t, clerktest.WithAuthorizedParty("https://app.example.com"))
	sess := s.CreateSession("user_1")

	require.Equal(t, "https://app.example.com", claimsOf(t, s.Token(sess.ID))["azp"])
	require.Equal(t, "https://other.example.com",
		claimsOf(t, s.Token(sess.ID, clerktest.WithAuthorizedParty("https://other.example.com")))["azp"])
	require.NotContains(t, claimsOf(t, s.Token(sess.ID, clerktest.WithAuthorizedParty(""))), "azp")
	require.Equal(t, "https://evil.example", claimsOf(t, s.Token(sess.ID, clerktest.WithIssuer("https://evil.example")))["iss"])

	token := s.Token(sess.ID, clerktest.WithClaims(map[string]any{"exp": "soon", "sub": nil, "custom": []int{1}}))
	c := claimsOf(t, token)
	require.Equal(t, "soon", c["exp"], "wrong JSON types are allowed")
	require.NotContains(t, c, "sub", "nil removes a claim")
	require.Equal(t, []any{float64(1)}, c["custom"])
	require.NoError(t, verifyAgainstJWKS(s.JWKS(), token), "still validly signed")

	token = s.Token(sess.ID, clerktest.WithHeader(map[string]any{"crit": []string{"b64"}, "typ": nil, "oiat": 1}))
	h := headerOf(t, token)
	require.Equal(t, []any{"b64"}, h["crit"])
	require.NotContains(t, h, "typ")
	require.Equal(t, float64(1), h["oiat"])
	require.NoError(t, verifyAgainstJWKS(s.JWKS(), token))
}

func TestTokenSignedWithForeignKey(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)

	token := s.Token("sess_1", clerktest.SignedWith(foreign, s.KeyID()))
	require.Equal(t, s.KeyID(), headerOf(t, token)["kid"])
	require.Error(t, verifyAgainstJWKS(s.JWKS(), token), "same kid, different key")

	token = s.Token("sess_1", clerktest.SignedWith(foreign, "ins_foreign"))
	require.Equal(t, "ins_foreign", headerOf(t, token)["kid"])
	require.ErrorContains(t, verifyAgainstJWKS(s.JWKS(), token), "no key")
}

func TestTokenForUnknownSession(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	c := claimsOf(t, s.Token("sess_nobody"))
	require.Equal(t, "sess_nobody", c["sid"])
	require.NotContains(t, c, "sub")
	require.Equal(t, "user_9", claimsOf(t, s.Token("sess_nobody", clerktest.WithClaims(map[string]any{"sub": "user_9"})))["sub"])
}

func TestTokenFeaturesPlansAndFVA(t *testing.T) {
	t.Parallel()
	s := newServer(t, frozenClock())
	sess := s.CreateSession("user_1", clerktest.WithOrg("org_1", "acme", "admin", "org:dashboard:read"))

	c := claimsOf(t, s.Token(sess.ID, clerktest.V2(), clerktest.WithFeatures("u:chat", "ou:teams"),
		clerktest.WithPlans("u:free", "o:pro"), clerktest.WithFactorVerificationAge(3, -1)))
	require.Equal(t, "o:dashboard,u:chat,ou:teams", c["fea"], "the organization's features come first")
	require.Equal(t, "u:free,o:pro", c["pla"])
	require.Equal(t, []any{float64(3), float64(-1)}, c["fva"])

	c = claimsOf(t, s.Token(sess.ID, clerktest.WithFeatures("u:chat")))
	require.Equal(t, "u:chat", c["fea"], "v1 tokens carry no organization features")
	require.NotContains(t, c, "pla")
	require.NotContains(t, c, "fva", "no fva unless asked: the instance has not opted in")
}
