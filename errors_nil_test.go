package clerkgate_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/authz"
	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/stretchr/testify/require"
)

// The exported functions return error, not *AuthError: wrapped the way a
// caller naturally wraps them (a func returning error that returns their
// result), an accepted credential must give an error that is == nil. With
// a *AuthError result the wrapper would return a non-nil error holding a
// nil pointer, and the caller would refuse every valid token. A refusal
// must still be an *AuthError that errors.As finds, with its status and
// reason.
func TestAcceptedCredentialsGiveANilError(t *testing.T) {
	t.Parallel()
	rig := newMachineRig(t, nil)
	ctx := t.Context()
	admin := rig.fake.Token(rig.fake.CreateSession("user_admin", clerktest.WithOrg("org_1", "acme", "org:admin")).ID)
	member := rig.fake.Token(rig.fake.CreateSession("user_member", clerktest.WithOrg("org_1", "acme", "org:member")).ID)
	_, writerKey := rig.fake.CreateAPIKey("user_writer", "writer", clerktest.CredentialScopes("jobs:write"))
	_, readerKey := rig.fake.CreateAPIKey("user_reader", "reader", clerktest.CredentialScopes("jobs:read"))
	route := rig.gate.Accept(clerkgate.SessionToken, clerkgate.APIKey)

	// The wrappers, as callers write them.
	sessions := rig.gate.Accept(clerkgate.SessionToken)
	verify := func(ctx context.Context, t string) (*clerkgate.Caller, error) {
		return sessions.AuthenticateToken(ctx, t)
	}
	verifyCaller := func(ctx context.Context, t string) (*clerkgate.Caller, error) {
		return route.AuthenticateToken(ctx, t)
	}
	authenticate := func(w http.ResponseWriter, r *http.Request) (*clerkgate.Caller, error) {
		return sessions.Authenticate(w, r)
	}
	authenticateCaller := func(w http.ResponseWriter, r *http.Request) (*clerkgate.Caller, error) {
		return route.Authenticate(w, r)
	}
	orgAdmin := func(c *clerkgate.Claims) error {
		return clerkgate.Authorize(&clerkgate.Caller{Type: clerkgate.SessionToken, Session: c}, authz.Role("org:admin"))
	}
	jobWriter := func(c *clerkgate.Caller) error { return clerkgate.Authorize(c, authz.Scope("jobs:write")) }

	// A handler of the kind an adapter is: let through on err == nil,
	// else write the refusal errors.As finds, else (the bug) a 500.
	handler := func(auth func(http.ResponseWriter, *http.Request) (string, error)) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			subject, err := auth(w, r)
			if err == nil {
				io.WriteString(w, subject)
				return
			}
			var e *clerkgate.AuthError
			if !errors.As(err, &e) || e == nil {
				http.Error(w, "not a refusal", http.StatusInternalServerError)
				return
			}
			clerkgate.WriteError(w, r, e)
		})
	}
	mux := http.NewServeMux()
	mux.Handle("/gate", handler(func(w http.ResponseWriter, r *http.Request) (string, error) {
		c, err := authenticate(w, r)
		if err != nil {
			return "", err
		}
		return c.Session.Subject, nil
	}))
	mux.Handle("/route", handler(func(w http.ResponseWriter, r *http.Request) (string, error) {
		c, err := authenticateCaller(w, r)
		if err != nil {
			return "", err
		}
		return c.Subject(), nil
	}))
	srv := serve(t, mux).URL

	t.Run("accepted", func(t *testing.T) {
		claims, err := verify(ctx, admin)
		require.True(t, err == nil, "session Policy.AuthenticateToken: %#v", err)
		require.Equal(t, "user_admin", claims.Session.Subject)
		require.True(t, orgAdmin(claims.Session) == nil, "Authorize: %#v", orgAdmin(claims.Session))

		for token, subject := range map[string]string{admin: "user_admin", writerKey: "user_writer"} {
			c, err := verifyCaller(ctx, token)
			require.True(t, err == nil, "Policy.AuthenticateToken: %#v", err)
			require.Equal(t, subject, c.Subject())
		}
		c, err := verifyCaller(ctx, writerKey)
		require.NoError(t, err)
		require.True(t, jobWriter(c) == nil, "Authorize: %#v", jobWriter(c))

		rep := get(t, srv+"/gate", bearer(admin))
		require.Equal(t, http.StatusOK, rep.status, "session Policy.Authenticate: %s", rep.body)
		require.Equal(t, "user_admin", rep.body)
		rep = get(t, srv+"/route", bearer(writerKey))
		require.Equal(t, http.StatusOK, rep.status, "Policy.Authenticate: %s", rep.body)
		require.Equal(t, "user_writer", rep.body)
	})

	memberClaims, err := verify(ctx, member)
	require.NoError(t, err)
	reader, err := verifyCaller(ctx, readerKey)
	require.NoError(t, err)
	forged := admin[:len(admin)-4] + "AAAA"
	for _, tc := range []struct {
		name   string
		err    func() error
		status int
		reason clerkgate.Reason
	}{
		{"session Policy.AuthenticateToken, forged", func() error { _, err := verify(ctx, forged); return err }, 401, clerkgate.ReasonSignatureInvalid},
		{"session Policy.AuthenticateToken, API key", func() error { _, err := verify(ctx, writerKey); return err }, 401, clerkgate.ReasonTokenTypeInvalid},
		{"Policy.AuthenticateToken, M2M token", func() error { _, err := verifyCaller(ctx, rig.fake.M2MJWT("mch_1")); return err }, 401, clerkgate.ReasonTokenTypeInvalid},
		{"Policy.AuthenticateToken, unknown key", func() error { _, err := verifyCaller(ctx, "ak_"+randomHex(16)); return err }, 401, clerkgate.ReasonTokenInvalid},
		{"Authorize, member", func() error { return orgAdmin(memberClaims.Session) }, 403, clerkgate.ReasonRoleRequired},
		{"Authorize, anonymous", func() error { return orgAdmin(nil) }, 401, clerkgate.ReasonTokenMissing},
		{"Authorize, reader", func() error { return jobWriter(reader) }, 403, clerkgate.ReasonScopeRequired},
		{"Authorize, anonymous", func() error { return jobWriter(nil) }, 401, clerkgate.ReasonTokenMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refusal := refusalOf(t, tc.err())
			require.Equal(t, tc.status, refusal.Status)
			require.Equal(t, tc.reason, refusal.Reason)
		})
	}

	// Over HTTP, a refused request reaches the handler as an *AuthError
	// and is answered with its contract.
	for _, tc := range []struct {
		path, token string
		reason      clerkgate.Reason
	}{
		{"/gate", forged, clerkgate.ReasonSignatureInvalid},
		{"/gate", writerKey, clerkgate.ReasonTokenTypeInvalid},
		{"/route", "ak_" + randomHex(16), clerkgate.ReasonTokenInvalid},
		{"/route", rig.fake.M2MJWT("mch_1"), clerkgate.ReasonTokenTypeInvalid},
	} {
		rep := get(t, srv+tc.path, bearer(tc.token))
		require.Equal(t, http.StatusUnauthorized, rep.status, "%s: %s", tc.path, rep.body)
		require.Contains(t, rep.header.Get("WWW-Authenticate"), `error_description="`+string(tc.reason)+`"`, tc.path)
	}
}
