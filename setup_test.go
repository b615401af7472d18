package clerkgate_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

// TestStartUpSaysWhatIsOn: New logs one line that says what the Gate will
// do and what it will not, and why; without CLERK_PUBLISHABLE_KEY, refresh
// and the handshake are off and the line says so, as a warning.
func TestStartUpSaysWhatIsOn(t *testing.T) {
	t.Parallel()
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	for _, c := range []struct {
		name  string
		cfg   clerkgate.Config
		level string
		want  []string
	}{
		{"both keys", clerkgate.Config{SecretKey: fake.SecretKey(), PublishableKey: fake.PublishableKey(), APIURL: fake.URL()}, "INFO",
			[]string{"refresh=on", "handshake=on", "opaque_machine_credentials=on", `keys="Backend API (CLERK_SECRET_KEY)"`}},
		{"no publishable key", clerkgate.Config{SecretKey: fake.SecretKey(), APIURL: fake.URL()}, "WARN",
			[]string{`refresh="off: no PublishableKey (CLERK_PUBLISHABLE_KEY)`, `handshake="off: no PublishableKey (CLERK_PUBLISHABLE_KEY)`}},
		{"publishable key only", clerkgate.Config{PublishableKey: fake.PublishableKey(), APIURL: fake.URL()}, "INFO",
			[]string{`refresh="off: no SecretKey (CLERK_SECRET_KEY)"`, `handshake="off: no SecretKey (CLERK_SECRET_KEY)"`, `opaque_machine_credentials="off: no SecretKey`}},
		{"handshake disabled", clerkgate.Config{SecretKey: fake.SecretKey(), PublishableKey: fake.PublishableKey(), APIURL: fake.URL(), Pages: clerkgate.PagesConfig{DisableHandshake: true}}, "INFO",
			[]string{"refresh=on", `handshake="off: Pages.DisableHandshake"`}},
	} {
		logger, logs := captureLogs()
		c.cfg.Logger = logger
		g, err := clerkgate.New(c.cfg)
		require.NoError(t, err, c.name)
		g.Close()
		var lines []string
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "clerkgate: started") {
				lines = append(lines, l)
			}
		}
		require.Len(t, lines, 1, "%s: %s", c.name, logs)
		require.Contains(t, lines[0], "level="+c.level, c.name)
		for _, w := range c.want {
			require.Contains(t, lines[0], w, c.name)
		}
		require.NotContains(t, lines[0], fake.SecretKey(), c.name)
	}
}
