package machine_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/machine"
)

// TestAPIURLErrorsShowNoSecret: NewClient refuses an API URL with
// credentials or a query, and its error names the URL without them.
func TestAPIURLErrorsShowNoSecret(t *testing.T) {
	t.Parallel()
	// internal/backendapi's tests try every way a URL can be refused;
	// these check that NewClient passes on its redacted messages.
	secrets := []string{"USERzq9WvK", "PASSmB7pLr", "TOKENhN8cD"}
	for _, raw := range []string{
		"http://USERzq9WvK:PASSmB7pLr@api.example.com/clerk#TOKENhN8cD",
		"https://USERzq9WvK:PASSmB7pLr@api.example.com:bad?t=TOKENhN8cD",
	} {
		_, err := machine.NewClient(machine.Config{SecretKey: "sk_test_x", APIURL: raw})
		require.ErrorIs(t, err, machine.ErrInvalidConfig)
		require.Contains(t, err.Error(), "api.example.com", "the URL is named, redacted")
		for _, secret := range secrets {
			require.NotContains(t, err.Error(), secret)
		}
	}
}

// TestCallErrorsShowNoSecret: a credential being verified, and the keys
// the client authenticates with, never show in an error, however the call
// fails, over real HTTP against clerktest.
func TestCallErrorsShowNoSecret(t *testing.T) {
	t.Parallel()
	apiKey := "ak_" + strings.Repeat("SeCrEt", 5)
	m2m := "mt_" + strings.Repeat("SeCrEt", 5)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	faults := map[string]clerktest.Fault{
		"500":         {Status: http.StatusInternalServerError, Code: "internal_clerk_error"},
		"401":         {Status: http.StatusUnauthorized, Code: "authentication_invalid"},
		"html 502":    {Status: http.StatusBadGateway, Body: []byte("<html>bad gateway</html>")},
		"reset":       {Reset: true},
		"not json":    {Status: http.StatusOK, Body: []byte("<html>ok</html>")},
		"oversize":    {Oversize: true},
		"unreachable": {},
	}
	for name, fault := range faults {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fake := clerktest.New()
			t.Cleanup(fake.Close)
			machineKey := fake.CreateMachine().SecretKey
			url := fake.URL()
			if name == "unreachable" {
				url = closed.URL
			} else {
				fake.SetFault(clerktest.RouteVerifyAPIKey, fault)
				fake.SetFault(clerktest.RouteVerifyM2MToken, fault)
			}
			cl, err := machine.NewClient(machine.Config{SecretKey: fake.SecretKey(), MachineSecretKey: machineKey, APIURL: url, HTTPClient: fake.Client()})
			require.NoError(t, err)
			_, errKey := cl.VerifyAPIKey(context.Background(), apiKey)
			_, errM2M := cl.VerifyM2MToken(context.Background(), m2m)
			for _, err := range []error{errKey, errM2M} {
				require.Error(t, err)
				for _, secret := range []string{apiKey, m2m, fake.SecretKey(), machineKey, "SeCrEt"} {
					require.NotContains(t, err.Error(), secret)
				}
			}
		})
	}
}
