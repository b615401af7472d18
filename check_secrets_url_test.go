package clerkgate_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

// TestAPIURLSecretsNeverShown: CLERK_API_URL with a user name and password,
// or a token in its query, stops New with an error that names the URL
// without them, and nothing logged shows them either.
func TestAPIURLSecretsNeverShown(t *testing.T) {
	t.Parallel()
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	const user, pass, token = "USERzq9WvK", "PASSmB7pLr", "TOKENhN8cD"
	creds := user + ":" + pass + "@"
	local := strings.Replace(fake.URL(), "://", "://"+creds, 1)
	urls := map[string]string{
		"plain http to another host": "http://" + creds + "clerk.example.com",
		"credentials":                "https://" + creds + "api.example.com",
		"credentials, loopback":      local,
		"query":                      fake.URL() + "?token=" + token,
		"bad port":                   "https://" + creds + "api.example.com:bad?t=" + token,
		"slash in password":          "https://" + user + ":" + pass + "/x@api.example.com",
	}
	for name, raw := range urls {
		for _, mode := range []string{"session", "machine"} {
			var logs bytes.Buffer
			cfg := clerkgate.Config{
				PublishableKey: fake.PublishableKey(), APIURL: raw, HTTPClient: fake.Client(),
				Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			}
			if mode == "session" {
				cfg.SecretKey = fake.SecretKey()
			} else {
				cfg.Machine.SecretKey = fake.CreateMachine().SecretKey
			}
			g, err := clerkgate.New(cfg)
			if err == nil {
				g.Close()
			}
			require.Error(t, err, "%s (%s)", name, mode)
			for _, secret := range []string{user, pass, token} {
				require.NotContains(t, err.Error(), secret, "%s (%s)", name, mode)
				require.NotContains(t, logs.String(), secret, "%s (%s): logged", name, mode)
			}
		}
	}
}
