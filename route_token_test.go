package clerkgate_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/authz"
	"github.com/clerkgate/clerkgate/clerktest"
)

// A bare token gets every check the HTTP path gives it, refresh aside: a
// token that passes the verifier but lives too long, or whose session was
// revoked through the Gate, is refused here too.
func TestAuthenticateToken(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	b := clockedBackend(t, clock, nil)
	ctx := context.Background()
	s := b.fake.CreateSession("user_1")
	revoked := b.fake.CreateSession("user_2")
	revokedToken := b.fake.Token(revoked.ID)
	_, err := b.gate.Sessions().Revoke(ctx, revoked.ID)
	require.NoError(t, err)
	_, apiKey := b.fake.CreateAPIKey("user_1", "key")
	valid := b.fake.Token(s.ID)

	caller, err := b.gate.Accept(clerkgate.SessionToken).AuthenticateToken(ctx, valid)
	require.NoError(t, err)
	require.Equal(t, "user_1", caller.Session.Subject)
	require.Equal(t, s.ID, caller.Session.SessionID)

	for _, tc := range []struct {
		name, token string
		reason      clerkgate.Reason
		presented   bool
	}{
		{"empty", "", clerkgate.ReasonTokenMissing, false},
		{"garbage", "not.a.jwt", clerkgate.ReasonTokenMalformed, true},
		{"forged signature", valid[:len(valid)-4] + "AAAA", clerkgate.ReasonSignatureInvalid, true},
		// Refresh needs the browser's cookie; a bare token never gets it.
		{"expired", b.fake.Token(s.ID, clerktest.Expired()), clerkgate.ReasonTokenExpired, true},
		{"revoked session", revokedToken, clerkgate.ReasonSessionRevoked, true},
		{"lives too long", createToken(t, b, s.ID, time.Hour), clerkgate.ReasonTokenLifetimeInvalid, true},
		{"API key", apiKey, clerkgate.ReasonTokenTypeInvalid, true},
		{"M2M JWT", b.fake.M2MJWT("mch_1"), clerkgate.ReasonTokenTypeInvalid, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			caller, err := b.gate.Accept(clerkgate.SessionToken).AuthenticateToken(ctx, tc.token)
			require.Nil(t, caller)
			require.ErrorIs(t, err, tc.reason)
			refusal := refusalOf(t, err)
			require.Equal(t, 401, refusal.Status)
			require.Equal(t, tc.presented, refusal.TokenPresented)
		})
	}
}

// Policy.AuthenticateToken takes the policy's types and checks: a machine
// credential passes where its type is accepted and its scopes suffice.
func TestRouteAuthenticateToken(t *testing.T) {
	rig := newMachineRig(t, nil)
	ctx := context.Background()
	_, writer := rig.fake.CreateAPIKey("user_1", "writer", clerktest.CredentialScopes("write"))
	_, reader := rig.fake.CreateAPIKey("user_1", "reader", clerktest.CredentialScopes("read"))
	revokedID, revokedKey := rig.fake.CreateAPIKey("user_1", "gone", clerktest.CredentialScopes("write"))
	require.True(t, rig.fake.RevokeCredential(revokedID))
	s := rig.fake.CreateSession("user_s")
	sessionToken := rig.fake.Token(s.ID)

	jobs := rig.gate.Accept(clerkgate.APIKey, clerkgate.SessionToken).With(authz.Scope("write"))
	c, err := jobs.AuthenticateToken(ctx, writer)
	require.NoError(t, err)
	require.Equal(t, clerkgate.APIKey, c.Type)
	require.Equal(t, "user_1", c.Subject())

	c, err = rig.gate.Accept().AuthenticateToken(ctx, sessionToken)
	require.NoError(t, err)
	require.Equal(t, clerkgate.SessionToken, c.Type)
	require.Equal(t, "user_s", c.Subject())

	for _, tc := range []struct {
		name   string
		route  *clerkgate.Policy
		token  string
		status int
		reason clerkgate.Reason
	}{
		{"missing scope", jobs, reader, 403, clerkgate.ReasonScopeRequired},
		{"session on a scope check", jobs, sessionToken, 403, clerkgate.ReasonScopeRequired},
		{"revoked key", jobs, revokedKey, 401, clerkgate.ReasonTokenRevoked},
		{"type not accepted", rig.gate.Accept(clerkgate.M2MToken), writer, 401, clerkgate.ReasonTokenTypeInvalid},
		{"session on a machine route", rig.gate.Accept(clerkgate.M2MToken), sessionToken, 401, clerkgate.ReasonTokenTypeInvalid},
		{"machine on a session route", rig.gate.Accept(), writer, 401, clerkgate.ReasonTokenTypeInvalid},
		{"empty", jobs, "", 401, clerkgate.ReasonTokenMissing},
		{"expired session", rig.gate.Accept(), rig.fake.Token(s.ID, clerktest.Expired()), 401, clerkgate.ReasonTokenExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.route.AuthenticateToken(ctx, tc.token)
			require.Nil(t, c)
			require.Equal(t, tc.status, refusalOf(t, err).Status)
			require.ErrorIs(t, err, tc.reason)
		})
	}
}

// AuthenticateAuthorization reads an authorization header's values as an
// HTTP request's Authorization header is read, for other transports.
func TestAuthenticateAuthorizationReadsAsHTTPDoes(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	fake, g := b.fake, b.gate
	valid := fake.Token(fake.CreateSession("user_1").ID)
	route := g.Accept(clerkgate.AnyToken)

	c, err := route.AuthenticateAuthorization(t.Context(), []string{"bearer " + valid + " "})
	require.NoError(t, err)
	require.Equal(t, "user_1", c.Subject())
	for name, tc := range map[string]struct {
		values []string
		reason clerkgate.Reason
	}{
		"none":             {nil, clerkgate.ReasonTokenMissing},
		"another scheme":   {[]string{"Basic dXNlcjpwYXNz"}, clerkgate.ReasonTokenMissing},
		"empty bearer":     {[]string{"Bearer "}, clerkgate.ReasonTokenMalformed},
		"two spaces":       {[]string{"Bearer  " + valid}, clerkgate.ReasonTokenMalformed},
		"a trailing word":  {[]string{"Bearer " + valid + " x"}, clerkgate.ReasonTokenMalformed},
		"two values":       {[]string{"Bearer " + valid, "Bearer " + valid}, clerkgate.ReasonTokenMalformed},
		"Basic and Bearer": {[]string{"Basic dXNlcjpwYXNz", "Bearer " + valid}, clerkgate.ReasonTokenMalformed},
	} {
		_, err := route.AuthenticateAuthorization(t.Context(), tc.values)
		var ae *clerkgate.AuthError
		require.ErrorAs(t, err, &ae, name)
		require.Equal(t, tc.reason, ae.Reason, name)
	}
}
