package machine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/machine"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// user is a subject of the spec's shape (user_ and 27 word characters).
const user = "user_2abcdefghijklmnopqrstuvwxyz"

func newClient(t *testing.T, fake *clerktest.Server, machineKey string) *machine.Client {
	t.Helper()
	cl, err := machine.NewClient(machine.Config{SecretKey: fake.SecretKey(), MachineSecretKey: machineKey,
		APIURL: fake.URL(), HTTPClient: fake.Client()})
	require.NoError(t, err)
	return cl
}

// API keys created through the client are listed, verified, and refused
// once revoked, all over real HTTP against clerktest.
func TestAPIKeyLifecycle(t *testing.T) {
	t.Parallel()
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	cl := newClient(t, fake, "")
	ctx := context.Background()

	k, err := cl.CreateAPIKey(ctx, machine.CreateAPIKeyParams{Name: "ci key", Subject: user, Scopes: []string{"read"},
		Description: "for CI", Claims: map[string]any{"team": "infra"}, SecondsUntilExpiration: 3600})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(k.Secret, "ak_"), k.Secret)
	require.Equal(t, user, k.Subject)
	require.Equal(t, []string{"read"}, k.Scopes)
	require.JSONEq(t, `{"team":"infra"}`, string(k.Claims))
	require.NotNil(t, k.Expiration)

	id, err := cl.VerifyAPIKey(ctx, k.Secret)
	require.NoError(t, err)
	require.Equal(t, k.ID, id.ID)
	require.Equal(t, machine.APIKey, id.Type)
	require.True(t, id.HasScope("read"))

	list, total, err := cl.ListAPIKeys(ctx, user, machine.ListParams{Limit: 10})
	require.NoError(t, err)
	require.Equal(t, 1, total)
	require.Len(t, list, 1)
	require.Equal(t, k.ID, list[0].ID)
	require.Empty(t, list[0].Secret, "a list never shows the secret")

	revoked, err := cl.RevokeAPIKey(ctx, k.ID, "leaked")
	require.NoError(t, err)
	require.True(t, revoked.Revoked)
	_, err = cl.VerifyAPIKey(ctx, k.Secret)
	require.ErrorIs(t, err, machine.ErrRevoked)

	list, _, err = cl.ListAPIKeys(ctx, user, machine.ListParams{})
	require.NoError(t, err)
	require.Empty(t, list, "revoked keys are left out by default")
	list, _, err = cl.ListAPIKeys(ctx, user, machine.ListParams{IncludeInvalid: true})
	require.NoError(t, err)
	require.Len(t, list, 1)
}

// M2M tokens are created with a machine's secret key, in both formats;
// opaque ones are listed and revoked.
func TestM2MTokenLifecycle(t *testing.T) {
	t.Parallel()
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	target := fake.CreateMachine()
	m := fake.CreateMachine(target.ID)
	cl := newClient(t, fake, m.SecretKey)
	ctx := context.Background()

	opaque, err := cl.CreateM2MToken(ctx, machine.CreateM2MTokenParams{SecondsUntilExpiration: 600})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(opaque.Token, "mt_"), opaque.Token)
	require.Equal(t, m.ID, opaque.Subject)

	jwt, err := cl.CreateM2MToken(ctx, machine.CreateM2MTokenParams{Format: machine.FormatJWT})
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(jwt.Token, "."), jwt.Token)
	require.Equal(t, machine.M2MToken, machine.Classify(jwt.Token))

	id, err := cl.VerifyM2MToken(ctx, opaque.Token)
	require.NoError(t, err)
	require.Equal(t, m.ID, id.Subject)
	require.Equal(t, []string{target.ID}, id.Scopes)

	list, total, err := cl.ListM2MTokens(ctx, m.ID, machine.ListParams{})
	require.NoError(t, err)
	require.Equal(t, 1, total, "JWT-format tokens are not stored")
	require.Equal(t, opaque.ID, list[0].ID)

	revoked, err := cl.RevokeM2MToken(ctx, opaque.ID, "")
	require.NoError(t, err)
	require.True(t, revoked.Revoked)
	_, err = cl.VerifyM2MToken(ctx, opaque.Token)
	require.ErrorIs(t, err, machine.ErrRevoked)
}

// Bad inputs are refused before any request, with ErrInvalidInput: an id
// that could change the path, a subject of the wrong shape, a negative
// lifetime, a limit out of range.
func TestInputsCheckedBeforeAnyCall(t *testing.T) {
	t.Parallel()
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	withMachine := newClient(t, fake, fake.CreateMachine().SecretKey)
	instanceOnly := newClient(t, fake, "")
	ctx := context.Background()
	calls := []struct {
		name string
		call func() error
	}{
		{"api key name too short", func() error {
			_, err := withMachine.CreateAPIKey(ctx, machine.CreateAPIKeyParams{Name: "ab", Subject: user})
			return err
		}},
		{"api key subject of the wrong shape", func() error {
			_, err := withMachine.CreateAPIKey(ctx, machine.CreateAPIKeyParams{Name: "key", Subject: "sess_123"})
			return err
		}},
		{"api key negative lifetime", func() error {
			_, err := withMachine.CreateAPIKey(ctx, machine.CreateAPIKeyParams{Name: "key", Subject: user, SecondsUntilExpiration: -1})
			return err
		}},
		{"list api keys of a path", func() error {
			_, _, err := withMachine.ListAPIKeys(ctx, "../v1/users", machine.ListParams{})
			return err
		}},
		{"list api keys limit over 100", func() error {
			_, _, err := withMachine.ListAPIKeys(ctx, user, machine.ListParams{Limit: 101})
			return err
		}},
		{"list api keys negative offset", func() error {
			_, _, err := withMachine.ListAPIKeys(ctx, user, machine.ListParams{Offset: -1})
			return err
		}},
		{"revoke api key id with a path", func() error {
			_, err := withMachine.RevokeAPIKey(ctx, "ak_../../users/user_1", "")
			return err
		}},
		{"revoke api key id of an m2m token", func() error {
			_, err := withMachine.RevokeAPIKey(ctx, "mt_"+strings.Repeat("0", 32), "")
			return err
		}},
		{"m2m token without a machine key", func() error {
			_, err := instanceOnly.CreateM2MToken(ctx, machine.CreateM2MTokenParams{})
			return err
		}},
		{"m2m token of an unknown format", func() error {
			_, err := withMachine.CreateM2MToken(ctx, machine.CreateM2MTokenParams{Format: "pem"})
			return err
		}},
		{"m2m token negative lifetime", func() error {
			_, err := withMachine.CreateM2MToken(ctx, machine.CreateM2MTokenParams{SecondsUntilExpiration: -5})
			return err
		}},
		{"list m2m tokens of a user", func() error {
			_, _, err := withMachine.ListM2MTokens(ctx, user, machine.ListParams{})
			return err
		}},
		{"revoke m2m token id with a query", func() error {
			_, err := withMachine.RevokeM2MToken(ctx, "mt_0?x=1", "")
			return err
		}},
		{"verify an api key with a space", func() error {
			_, err := withMachine.VerifyAPIKey(ctx, "ak_abc def")
			return err
		}},
		{"verify an m2m token that is an api key", func() error {
			_, err := withMachine.VerifyM2MToken(ctx, "ak_"+strings.Repeat("0", 32))
			return err
		}},
	}
	for _, c := range calls {
		require.ErrorIs(t, c.call(), machine.ErrInvalidInput, c.name)
	}
	require.Zero(t, fake.Requests(clerktest.AnyRoute), "no request was made")
}

// Clerk's errors reach the caller typed, with the status and code.
func TestClerkErrorsAreTyped(t *testing.T) {
	t.Parallel()
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	cl := newClient(t, fake, "")
	_, err := cl.RevokeAPIKey(context.Background(), "ak_"+strings.Repeat("0", 32), "")
	var apiErr *machine.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, 404, apiErr.StatusCode)

	fake.SetFault(clerktest.RouteListAPIKeys, clerktest.Fault{Status: 422, Code: "form_param_invalid"})
	_, _, err = cl.ListAPIKeys(context.Background(), user, machine.ListParams{})
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, "form_param_invalid", apiErr.Code())
}

// OnRevoked hears of every revocation Clerk accepted (also a 200 whose
// body does not decode: the credential is revoked all the same), and of
// none that Clerk refused or that never left the client.
func TestOnRevokedHearsAcceptedRevocations(t *testing.T) {
	t.Parallel()
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	var heard []string
	cl, err := machine.NewClient(machine.Config{SecretKey: fake.SecretKey(), APIURL: fake.URL(), HTTPClient: fake.Client(),
		OnRevoked: func(id string) { heard = append(heard, id) }})
	require.NoError(t, err)
	ctx := context.Background()
	keyID, _ := fake.CreateAPIKey(user, "ci key")
	tokenID, _ := fake.CreateM2MToken(fake.CreateMachine().ID)
	otherID, _ := fake.CreateAPIKey(user, "other key")

	_, err = cl.RevokeAPIKey(ctx, keyID, "leaked")
	require.NoError(t, err)
	_, err = cl.RevokeM2MToken(ctx, tokenID, "")
	require.NoError(t, err)
	require.Equal(t, []string{keyID, tokenID}, heard)

	_, err = cl.RevokeAPIKey(ctx, "ak_../../users", "")
	require.ErrorIs(t, err, machine.ErrInvalidInput)
	fake.SetFault(clerktest.RouteRevokeAPIKey, clerktest.Fault{Status: 500, Times: 1})
	_, err = cl.RevokeAPIKey(ctx, otherID, "")
	require.Error(t, err)
	require.Len(t, heard, 2, "a refused revocation is not heard")

	fake.SetFault(clerktest.RouteRevokeAPIKey, clerktest.Fault{Status: 200, Body: []byte("{not json"), Times: 1})
	_, err = cl.RevokeAPIKey(ctx, otherID, "")
	require.ErrorIs(t, err, machine.ErrUnexpectedResponse)
	require.Equal(t, []string{keyID, tokenID, otherID}, heard, "Clerk said 200: the key is revoked")
}
