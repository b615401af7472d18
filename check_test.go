package clerkgate_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/jwks"
)

// A secret that must never show in an error or a log line, past its prefix.
const leakable = "Zq9WvK3xTmB7pLr2YhN8cD4fGs6J"

func requireNoSecret(t *testing.T, text string) {
	t.Helper()
	for i := 0; i+3 <= len(leakable); i++ {
		require.NotContains(t, text, leakable[i:i+3], text)
	}
}

// TestNewRefusesWhatCannotWork: each of these configurations would start
// without a word and then refuse every request (or send the secret key in
// clear). New stops them with an error that names the setting, says how to
// fix it, wraps ErrConfig and shows no secret.
func TestNewRefusesWhatCannotWork(t *testing.T) {
	t.Parallel()
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	base := func(mod func(*clerkgate.Config)) clerkgate.Config {
		c := clerkgate.Config{
			SecretKey: fake.SecretKey(), PublishableKey: fake.PublishableKey(), APIURL: fake.URL(),
			AuthorizedParties: []string{"https://app.example.com"},
		}
		mod(&c)
		return c
	}
	parties := func(p ...string) func(*clerkgate.Config) {
		return func(c *clerkgate.Config) { c.AuthorizedParties = p }
	}
	for name, tc := range map[string]struct {
		cfg  clerkgate.Config
		want []string
	}{
		"party without scheme, loopback": {base(parties("localhost:3000")),
			[]string{"CLERK_AUTHORIZED_PARTIES", `"localhost:3000" is not an origin`, `"http://localhost:3000"`}},
		"party without scheme": {base(parties("https://ok.example", "app.example.com")),
			[]string{"CLERK_AUTHORIZED_PARTIES", `"https://app.example.com"`}},
		"party with a path": {base(parties("https://app.example.com/dashboard")),
			[]string{"CLERK_AUTHORIZED_PARTIES", "can never match", `write "https://app.example.com"`}},
		"party with a query":        {base(parties("https://app.example.com?x=1")), []string{"CLERK_AUTHORIZED_PARTIES", `write "https://app.example.com"`}},
		"party in upper case":       {base(parties("https://App.Example.com")), []string{"CLERK_AUTHORIZED_PARTIES", `write "https://app.example.com"`}},
		"party with a default port": {base(parties("https://app.example.com:443")), []string{"CLERK_AUTHORIZED_PARTIES", `write "https://app.example.com"`}},
		"party with credentials":    {base(parties("https://u:p@app.example.com")), []string{"CLERK_AUTHORIZED_PARTIES", `write "https://app.example.com"`}},
		"party as a wildcard":       {base(parties("*")), []string{"CLERK_AUTHORIZED_PARTIES", "not an origin"}},
		"party of another scheme":   {base(parties("ftp://app.example.com")), []string{"CLERK_AUTHORIZED_PARTIES", "not an origin"}},
		"party in quotes":           {base(parties(`"https://app.example.com"`)), []string{"CLERK_AUTHORIZED_PARTIES", "quotes"}},
		"empty party":               {base(parties("")), []string{"CLERK_AUTHORIZED_PARTIES", "empty"}},

		"plain http API URL to another host": {base(func(c *clerkgate.Config) { c.APIURL = "http://clerk-proxy.internal:8080" }),
			[]string{"CLERK_API_URL", "in clear", "https://"}},
		"plain http API URL to a private address": {base(func(c *clerkgate.Config) { c.APIURL = "http://10.0.0.5" }),
			[]string{"CLERK_API_URL", "in clear"}},
		"plain http API URL, machine secret only": {clerkgate.Config{JWTKey: fake.PublicKeyPEM(), APIURL: "http://api.example.com",
			Machine: clerkgate.MachineConfig{SecretKey: "ak_" + leakable}}, []string{"CLERK_API_URL", "in clear"}},

		"development secret, production publishable key": {base(func(c *clerkgate.Config) {
			c.SecretKey, c.PublishableKey = "sk_test_"+leakable, "pk_live_"+strings.TrimPrefix(fake.PublishableKey(), "pk_test_")
		}), []string{"CLERK_SECRET_KEY", "CLERK_PUBLISHABLE_KEY", "development key (sk_test_…)", "production key (pk_live_…)", "same instance"}},
		"production secret, development publishable key": {base(func(c *clerkgate.Config) { c.SecretKey = "sk_live_" + leakable }),
			[]string{"CLERK_SECRET_KEY", "CLERK_PUBLISHABLE_KEY", "same instance"}},

		"secret key in double quotes": {base(func(c *clerkgate.Config) { c.SecretKey = `"sk_test_` + leakable + `"` }),
			[]string{"CLERK_SECRET_KEY", `("sk_test_…")`, "remove them"}},
		"secret key in single quotes": {base(func(c *clerkgate.Config) { c.SecretKey = `'sk_live_` + leakable + `'` }),
			[]string{"CLERK_SECRET_KEY", `('sk_live_…')`}},
		"secret key with a closing quote only": {base(func(c *clerkgate.Config) { c.SecretKey = `sk_live_` + leakable + `"` }),
			[]string{"CLERK_SECRET_KEY", "quotes"}},
		"publishable key in quotes": {base(func(c *clerkgate.Config) { c.PublishableKey = `"` + fake.PublishableKey() + `"` }),
			[]string{"CLERK_PUBLISHABLE_KEY", `("pk_test_…")`}},
		"API URL in quotes": {base(func(c *clerkgate.Config) { c.APIURL = `"` + fake.URL() + `"` }), []string{"CLERK_API_URL", "quotes"}},
		"API URL with credentials, in quotes": {base(func(c *clerkgate.Config) { c.APIURL = `"https://u:` + leakable + `@api.example.com"` }),
			[]string{"CLERK_API_URL", `("https://api.example.com")`}},
		"API URL with a token in its query, in quotes": {base(func(c *clerkgate.Config) { c.APIURL = `"https://api.example.com?token=` + leakable + `"` }),
			[]string{"CLERK_API_URL", `("https://api.example.com")`}},
		"secret key with an opening quote only": {base(func(c *clerkgate.Config) { c.SecretKey = `'sk_live_` + leakable }),
			[]string{"CLERK_SECRET_KEY", `('sk_live_…)`}},
		"plain http API URL with credentials": {base(func(c *clerkgate.Config) { c.APIURL = "http://u:" + leakable + "@api.example.com" }),
			[]string{"CLERK_API_URL", "in clear"}},
		"PEM key in quotes":  {clerkgate.Config{JWTKey: `"` + fake.PublicKeyPEM() + `"`}, []string{"CLERK_JWT_KEY", "quotes"}},
		"no key source":      {clerkgate.Config{}, []string{"no key source", "CLERK_SECRET_KEY"}},
		"secret key, no sk_": {base(func(c *clerkgate.Config) { c.SecretKey = leakable }), []string{"secret key"}},

		"token lifetime past a year": {base(func(c *clerkgate.Config) { c.MaxTokenLifetime = 2562047 * time.Hour }), []string{"MaxTokenLifetime", "CLERK_MAX_TOKEN_LIFETIME", "at most 8760h"}},
		"clock skew of days":         {base(func(c *clerkgate.Config) { c.ClockSkew = 1 << 62 }), []string{"ClockSkew", "at most 1h0m0s"}},
		"negative nonce rate":        {base(func(c *clerkgate.Config) { c.Pages.NoncePerSecond = -1 }), []string{"Pages.NoncePerSecond", "positive"}},
		"negative nonce burst":       {base(func(c *clerkgate.Config) { c.Pages.NonceBurst = -5 }), []string{"Pages.NonceBurst", "positive"}},
		"negative machine rate":      {base(func(c *clerkgate.Config) { c.Machine.NewPerSecond = -0.5 }), []string{"Machine.NewPerSecond", "positive"}},
	} {
		g, err := clerkgate.New(tc.cfg)
		if err == nil {
			g.Close()
		}
		require.Error(t, err, name)
		require.ErrorIs(t, err, clerkgate.ErrConfig, name)
		require.True(t, strings.HasPrefix(err.Error(), "clerkgate: "), err.Error())
		for _, w := range tc.want {
			require.ErrorContains(t, err, w, name)
		}
		requireNoSecret(t, err.Error())
		require.NotContains(t, err.Error(), fake.SecretKey()[len("sk_test_"):], name)
	}
}

// TestNewAcceptsWhatWorks: the checks above refuse only what cannot work.
// Plain http stays open to loopback (a local fake), origins may end in a
// slash, and matching key modes pass.
func TestNewAcceptsWhatWorks(t *testing.T) {
	t.Parallel()
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	for name, cfg := range map[string]clerkgate.Config{
		"loopback IPv4":   {APIURL: "http://127.0.0.1:9"},
		"loopback IPv6":   {APIURL: "http://[::1]:9"},
		"localhost":       {APIURL: "http://localhost:9"},
		"a .localhost":    {APIURL: "http://clerk.localhost:9"},
		"https elsewhere": {APIURL: "https://clerk-proxy.internal"},
		"parties": {AuthorizedParties: []string{
			"https://app.example.com/", "http://localhost:3000", "http://[::1]:3000", "https://app.example.com:8443",
		}},
		"production pair": {SecretKey: "sk_live_" + leakable, PublishableKey: "pk_live_" + strings.TrimPrefix(fake.PublishableKey(), "pk_test_")},
	} {
		// JWTKey keeps the keys off the network; the secret key is still
		// checked, and bound for APIURL.
		cfg.JWTKey = fake.PublicKeyPEM()
		if cfg.SecretKey == "" {
			cfg.SecretKey = fake.SecretKey()
		}
		cfg.Logger = slog.New(slog.DiscardHandler)
		g, err := clerkgate.New(cfg)
		require.NoError(t, err, name)
		require.NoError(t, g.Check(context.Background()), "%s: a PEM key needs no fetch", name)
		require.NoError(t, g.Close())
	}
}

// TestNewWarnsWithoutAuthorizedParties: cookies are always accepted, and
// without authorized parties a token issued to any origin of the instance
// passes. That can be intended (an API behind several apps), so it is a
// warning, not a refusal.
func TestNewWarnsWithoutAuthorizedParties(t *testing.T) {
	t.Parallel()
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	for _, parties := range [][]string{nil, {"https://app.example.com"}} {
		logger, logs := captureLogs()
		g, err := clerkgate.New(clerkgate.Config{JWTKey: fake.PublicKeyPEM(), AuthorizedParties: parties, Logger: logger})
		require.NoError(t, err)
		require.NoError(t, g.Close())
		if parties == nil {
			require.Contains(t, logs.String(), "level=WARN")
			require.Contains(t, logs.String(), "CLERK_AUTHORIZED_PARTIES")
		} else {
			require.NotContains(t, logs.String(), "level=WARN")
			require.NotContains(t, logs.String(), "CLERK_AUTHORIZED_PARTIES")
		}
	}
}

// TestCheckReportsARefusedSecretKey: Clerk answering 401 to the key fetch
// is a wrong secret key, not an outage. Check says so (ErrConfig,
// jwks.ErrUnauthorized, the variable to fix), the log has it at error
// level without claiming to keep keys it never had, and requests meanwhile
// get 503 rather than being let through.
func TestCheckReportsARefusedSecretKey(t *testing.T) {
	t.Parallel()
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	logger, logs := captureLogs()
	g, err := clerkgate.New(clerkgate.Config{
		SecretKey: "sk_test_" + leakable, PublishableKey: fake.PublishableKey(), APIURL: fake.URL(),
		AuthorizedParties: []string{"https://app.example.com"}, Logger: logger,
	})
	require.NoError(t, err, "New does not wait for the keys")
	t.Cleanup(func() { g.Close() })

	err = g.Check(context.Background())
	require.ErrorIs(t, err, clerkgate.ErrConfig)
	require.ErrorIs(t, err, jwks.ErrUnauthorized)
	require.ErrorContains(t, err, "CLERK_SECRET_KEY")
	require.ErrorContains(t, err, "401")
	requireNoSecret(t, err.Error())

	require.Contains(t, logs.String(), "level=ERROR")
	require.Contains(t, logs.String(), "CLERK_SECRET_KEY")
	require.NotContains(t, logs.String(), "keeping the keys we have")
	requireNoSecret(t, logs.String())

	sess := fake.CreateSession("user_1")
	srv := httptest.NewServer(g.Accept(clerkgate.SessionToken).Require(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("a request got through without keys")
	})))
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Authorization", "Bearer "+fake.Token(sess.ID, clerktest.WithAuthorizedParty("https://app.example.com")))
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
}

// TestCheckReportsOutages: an API that cannot be reached, or serves no
// usable key, is an error too, but not a configuration error: a readiness
// probe should wait, not page someone to change a key.
func TestCheckReportsOutages(t *testing.T) {
	t.Parallel()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for name, tc := range map[string]struct {
		fault clerktest.Fault
		down  bool
		want  string
	}{
		"unreachable":  {down: true, want: "no signing keys"},
		"no keys":      {fault: clerktest.Fault{EmptyKeys: true}, want: "no usable signature keys"},
		"server error": {fault: clerktest.Fault{Status: http.StatusInternalServerError}, want: "status 500"},
		"hanging":      {fault: clerktest.Fault{Hang: true}, want: "no complete answer within"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fake := clerktest.New()
			t.Cleanup(fake.Close)
			fake.SetFault(clerktest.RouteJWKS, tc.fault)
			apiURL := fake.URL()
			if tc.down {
				apiURL = closed.URL
			}
			g, err := clerkgate.New(clerkgate.Config{
				SecretKey: fake.SecretKey(), PublishableKey: fake.PublishableKey(), APIURL: apiURL,
				AuthorizedParties: []string{"https://app.example.com"}, Logger: slog.New(slog.DiscardHandler),
				Keys: clerkgate.KeysConfig{FetchTimeout: 200 * time.Millisecond},
			})
			require.NoError(t, err)
			t.Cleanup(func() { g.Close() })
			err = g.Check(context.Background())
			require.ErrorContains(t, err, tc.want)
			require.NotErrorIs(t, err, clerkgate.ErrConfig)
		})
	}
}

// TestCheckPassesWithTheRightKeys, and keeps passing without asking Clerk
// again on every call.
func TestCheckPassesWithTheRightKeys(t *testing.T) {
	t.Parallel()
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	g, err := clerkgate.New(clerkgate.Config{
		SecretKey: fake.SecretKey(), PublishableKey: fake.PublishableKey(), APIURL: fake.URL(),
		AuthorizedParties: []string{"https://app.example.com"},
	})
	require.NoError(t, err)
	t.Cleanup(func() { g.Close() })
	for range 50 {
		require.NoError(t, g.Check(context.Background()))
	}
	require.Equal(t, 1, fake.Requests(clerktest.RouteJWKS), "a polled Check is no stream of fetches")
}

// TestNilLoggerLogsToTheDefault: the README's snippet sets no Logger, and
// a refused secret key must still reach the operator. The Gate runs in a
// child process, where the default logger writes to stderr.
func TestNilLoggerLogsToTheDefault(t *testing.T) {
	t.Parallel()
	if os.Getenv("CLERKGATE_TEST_CHILD") == "nil-logger" {
		fake := clerktest.New()
		defer fake.Close()
		g, err := clerkgate.New(clerkgate.Config{
			SecretKey: "sk_test_" + leakable, PublishableKey: fake.PublishableKey(), APIURL: fake.URL(),
		})
		if err != nil {
			os.Exit(3)
		}
		defer g.Close()
		if !errors.Is(g.Check(context.Background()), clerkgate.ErrConfig) {
			os.Exit(4)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNilLoggerLogsToTheDefault$", "-test.count=1")
	cmd.Env = append(os.Environ(), "CLERKGATE_TEST_CHILD=nil-logger")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	require.Contains(t, stderr.String(), "ERROR jwks: the key endpoint refused the credentials")
	require.Contains(t, stderr.String(), "WARN clerkgate: no AuthorizedParties")
	requireNoSecret(t, stderr.String())
}

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

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	cases := map[string]struct {
		cfg  clerkgate.Config
		want string
	}{
		"no key source":          {clerkgate.Config{}, "no key source"},
		"malformed publishable":  {clerkgate.Config{SecretKey: "sk_test_x", PublishableKey: "pk_test_%%%"}, "publishable key"},
		"PEM that doesn't parse": {clerkgate.Config{JWTKey: "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----"}, "CLERK_JWT_KEY"},
		"secret key shape":       {clerkgate.Config{SecretKey: "pk_test_x"}, "secret key"},
		"relative API URL":       {clerkgate.Config{SecretKey: "sk_test_x", APIURL: "api.clerk.com"}, "URL"},
		"empty authorized party": {clerkgate.Config{JWTKey: in.vec.PublicKeyPEM, AuthorizedParties: []string{""}}, "authorized party"},
	}
	for name, tc := range cases {
		_, err := clerkgate.New(tc.cfg)
		require.ErrorContains(t, err, tc.want, name)
		require.True(t, strings.HasPrefix(err.Error(), "clerkgate: "), err.Error())
	}
}
