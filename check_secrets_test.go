package clerkgate_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

// TestStartupErrorsShowNoSecret: a secret key in the wrong place, or
// malformed, stops New with an error that shows at most its fixed prefix
// (sk_live_…): start-up errors end up in logs and CI output.
func TestStartupErrorsShowNoSecret(t *testing.T) {
	t.Parallel()
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	const secret = "Zq9WvK3xTmB7pLr2YhN8cD4fGs6J"
	for name, cfg := range map[string]clerkgate.Config{
		"keys swapped":                   {SecretKey: fake.PublishableKey(), PublishableKey: "sk_live_" + secret, APIURL: fake.URL()},
		"secret as publishable key":      {PublishableKey: "sk_test_" + secret},
		"secret as PEM key":              {JWTKey: "sk_live_" + secret},
		"secret with a newline":          {SecretKey: "sk_live_" + secret + "\n", APIURL: fake.URL()},
		"secret key without its prefix":  {SecretKey: secret, APIURL: fake.URL()},
		"publishable key, secret inside": {PublishableKey: "pk_live_" + secret},
	} {
		g, err := clerkgate.New(cfg)
		if err == nil {
			g.Close()
		}
		require.Error(t, err, name)
		for i := 0; i+3 <= len(secret); i++ {
			require.NotContains(t, err.Error(), secret[i:i+3], "%s: %v", name, err)
		}
	}
}
