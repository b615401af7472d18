package clerkgate_test

import (
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

// envInstance puts a fake Clerk's keys in the environment, as a deployed
// app gets them.
func envInstance(t *testing.T) *clerktest.Server {
	t.Helper()
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	t.Setenv("CLERK_SECRET_KEY", fake.SecretKey())
	t.Setenv("CLERK_PUBLISHABLE_KEY", fake.PublishableKey())
	t.Setenv("CLERK_API_URL", fake.URL())
	return fake
}

// newFromEnv is ConfigFromEnv, adjusted by mod, passed to New.
func newFromEnv(t *testing.T, mod func(*clerkgate.Config)) (*clerkgate.Gate, error) {
	t.Helper()
	cfg := clerkgate.ConfigFromEnv()
	cfg.Logger = slog.New(slog.DiscardHandler)
	if mod != nil {
		mod(&cfg)
	}
	g, err := clerkgate.New(cfg)
	if err == nil {
		t.Cleanup(func() { g.Close() })
	}
	return g, err
}

// status is what a request with token gets from g, over HTTP.
func status(t *testing.T, g *clerkgate.Gate, token string) reply {
	t.Helper()
	return get(t, serve(t, g.Accept(clerkgate.SessionToken).Require(whoami)).URL, bearer(token))
}

// Tokens from Sessions().CreateToken, and a load generator's, outlive
// Clerk's 60 s session tokens: CLERK_MAX_TOKEN_LIFETIME lets an app accept
// them without code. Unset or empty, the default holds.
func TestMaxTokenLifetimeFromTheEnvironment(t *testing.T) {
	fake := envInstance(t)
	twoHours := fake.Token(fake.CreateSession("user_1").ID, clerktest.ExpiresIn(2*time.Hour))
	minute := fake.Token(fake.CreateSession("user_2").ID)

	for _, unset := range []string{"", "  "} {
		t.Setenv("CLERK_MAX_TOKEN_LIFETIME", unset)
		cfg := clerkgate.ConfigFromEnv()
		require.Zero(t, cfg.MaxTokenLifetime, "%q", unset)
		g, err := newFromEnv(t, nil)
		require.NoError(t, err, "%q", unset)
		rep := status(t, g, twoHours)
		require.Equal(t, http.StatusUnauthorized, rep.status, "a 2 h token is refused by default")
		require.Equal(t, string(clerkgate.ReasonTokenLifetimeInvalid), rep.reason)
		require.Equal(t, http.StatusOK, status(t, g, minute).status, "Clerk's own 60 s tokens pass")
	}

	for value, want := range map[string]time.Duration{"3h": 3 * time.Hour, " 90m\t": 90 * time.Minute, "2h30m": 150 * time.Minute} {
		t.Setenv("CLERK_MAX_TOKEN_LIFETIME", value)
		require.Equal(t, want, clerkgate.ConfigFromEnv().MaxTokenLifetime, "%q", value)
	}
	t.Setenv("CLERK_MAX_TOKEN_LIFETIME", "3h")
	g, err := newFromEnv(t, nil)
	require.NoError(t, err)
	rep := status(t, g, twoHours)
	require.Equal(t, http.StatusOK, rep.status, rep.body)
	require.Equal(t, "user_1", rep.body)

	// A lifetime the app sets after ConfigFromEnv wins over the
	// environment's: here it is shorter, and the 2 h token is refused.
	g, err = newFromEnv(t, func(c *clerkgate.Config) { c.MaxTokenLifetime = time.Hour })
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, status(t, g, twoHours).status)
}

// A value that is not a positive duration stops New with ErrConfig,
// naming the variable, the value and a setting that works, rather than
// fall back to a default the operator did not choose.
func TestMaxTokenLifetimeFromTheEnvironmentRefusesNonsense(t *testing.T) {
	fake := envInstance(t)
	twoHours := fake.Token(fake.CreateSession("user_1").ID, clerktest.ExpiresIn(2*time.Hour))

	for value, fix := range map[string]string{
		"abc":       "CLERK_MAX_TOKEN_LIFETIME=3h",
		"-1s":       "CLERK_MAX_TOKEN_LIFETIME=3h",
		"0":         "CLERK_MAX_TOKEN_LIFETIME=3h",
		"0s":        "CLERK_MAX_TOKEN_LIFETIME=3h",
		"3 h":       "CLERK_MAX_TOKEN_LIFETIME=3h",
		"3":         "CLERK_MAX_TOKEN_LIFETIME=3h",
		"2 hours":   "CLERK_MAX_TOKEN_LIFETIME=3h",
		`"3h"`:      "CLERK_MAX_TOKEN_LIFETIME=3h",
		`'90m'`:     "CLERK_MAX_TOKEN_LIFETIME=90m",
		`"-5m"`:     "CLERK_MAX_TOKEN_LIFETIME=3h",
		"99999999h": "CLERK_MAX_TOKEN_LIFETIME=3h", // overflows a Duration
		"3h\nevil":  "CLERK_MAX_TOKEN_LIFETIME=3h",
	} {
		t.Setenv("CLERK_MAX_TOKEN_LIFETIME", value)
		g, err := newFromEnv(t, nil)
		require.Nil(t, g, "%q", value)
		require.ErrorIs(t, err, clerkgate.ErrConfig, "%q", value)
		require.ErrorContains(t, err, "CLERK_MAX_TOKEN_LIFETIME", "%q", value)
		require.ErrorContains(t, err, fix, "%q", value)
		require.NotContains(t, err.Error(), "\n", "the value is quoted, not printed raw")
		require.NotContains(t, err.Error(), fake.SecretKey()[len("sk_test_"):])

		// Setting the lifetime in code after ConfigFromEnv overrides the
		// bad value: New succeeds, and the code's lifetime applies.
		g, err = newFromEnv(t, func(c *clerkgate.Config) { c.MaxTokenLifetime = 3 * time.Hour })
		require.NoError(t, err, "%q", value)
		require.Equal(t, http.StatusOK, status(t, g, twoHours).status, "%q", value)
	}
}

// CLERK_MACHINE_SECRET_KEY narrows opaque M2M tokens to those granted to
// that machine: a token another machine may not present here is refused,
// as with MachineConfig.SecretKey set in code.
func TestMachineSecretKeyFromTheEnvironment(t *testing.T) {
	fake := envInstance(t)
	here := fake.CreateMachine()
	caller := fake.CreateMachine(here.ID)
	stranger := fake.CreateMachine()
	_, granted := fake.CreateM2MToken(caller.ID)
	_, other := fake.CreateM2MToken(stranger.ID)

	for name, tc := range map[string]struct {
		env          string
		grantedOK    bool
		otherRefused bool
	}{
		"unset: the instance's key accepts every machine": {"", true, false},
		"set: only tokens granted to this machine":        {" " + here.SecretKey + " ", true, true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("CLERK_MACHINE_SECRET_KEY", tc.env)
			g, err := newFromEnv(t, nil)
			require.NoError(t, err)
			url := serve(t, g.Accept(clerkgate.M2MToken).Require(whoamiCaller)).URL
			require.Equal(t, http.StatusOK, get(t, url, bearer(granted)).status)
			want := http.StatusOK
			if tc.otherRefused {
				want = http.StatusUnauthorized
			}
			require.Equal(t, want, get(t, url, bearer(other)).status)
		})
	}

	t.Setenv("CLERK_MACHINE_SECRET_KEY", `"`+here.SecretKey+`"`)
	_, err := newFromEnv(t, nil)
	require.ErrorIs(t, err, clerkgate.ErrConfig)
	require.ErrorContains(t, err, "CLERK_MACHINE_SECRET_KEY")
	require.NotContains(t, err.Error(), here.SecretKey[3:])
}

// TestKeyMistakesNameTheirVariable: a CLERK_SECRET_KEY that is present but
// empty, a publishable key in CLERK_SECRET_KEY and a publishable key that
// does not decode each stop New(ConfigFromEnv()) with ErrConfig, naming the
// variable, and never print the key. (The empty one used to leave the
// Gate on the Frontend API's keys, and Check to blame the network.)
func TestKeyMistakesNameTheirVariable(t *testing.T) {
	fake := envInstance(t)
	for _, c := range []struct {
		name, secret, pub, want string
	}{
		{"empty secret key", "", fake.PublishableKey(), "CLERK_SECRET_KEY is set but empty"},
		{"blank secret key", " \t", fake.PublishableKey(), "CLERK_SECRET_KEY is set but empty"},
		{"publishable key as secret key", fake.PublishableKey(), fake.PublishableKey(), "SecretKey (CLERK_SECRET_KEY) is a publishable key"},
		{"publishable key that is not base64", fake.SecretKey(), "pk_test_%%%%", "PublishableKey (CLERK_PUBLISHABLE_KEY)"},
		{"publishable key without a host", fake.SecretKey(), "pk_test_aGVsbG8", "PublishableKey (CLERK_PUBLISHABLE_KEY)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("CLERK_SECRET_KEY", c.secret)
			t.Setenv("CLERK_PUBLISHABLE_KEY", c.pub)
			g, err := clerkgate.New(clerkgate.ConfigFromEnv())
			require.Nil(t, g)
			require.ErrorIs(t, err, clerkgate.ErrConfig)
			require.ErrorContains(t, err, c.want)
			require.NotContains(t, err.Error(), fake.SecretKey()[len("sk_test_"):])
			require.NotContains(t, err.Error(), fake.PublishableKey()[len("pk_test_"):])
		})
	}

	// A secret key set in code after ConfigFromEnv wins over the empty
	// variable.
	t.Setenv("CLERK_SECRET_KEY", "")
	g, err := newFromEnv(t, func(c *clerkgate.Config) { c.SecretKey = fake.SecretKey() })
	require.NoError(t, err)
	require.NoError(t, g.Check(t.Context()))
}

// CLERK_PROXY_URL is read into ProxyURL, as Clerk's SDKs read it: a Gate
// from the environment then takes the proxy's tokens (their issuer is the
// proxy's URL), which it refuses without.
func TestProxyURLFromTheEnvironment(t *testing.T) {
	const proxy = "https://app.example.com/__clerk"
	fake := clerktest.New(clerktest.WithProxyURL(proxy))
	t.Cleanup(fake.Close)
	t.Setenv("CLERK_SECRET_KEY", fake.SecretKey())
	t.Setenv("CLERK_PUBLISHABLE_KEY", fake.PublishableKey())
	t.Setenv("CLERK_API_URL", fake.URL())
	token := fake.Token(fake.CreateSession("user_1").ID)

	t.Setenv("CLERK_PROXY_URL", "")
	g, err := newFromEnv(t, nil)
	require.NoError(t, err)
	require.Equal(t, string(clerkgate.ReasonIssuerInvalid), status(t, g, token).reason)

	t.Setenv("CLERK_PROXY_URL", " "+proxy+"\n")
	require.Equal(t, proxy, clerkgate.ConfigFromEnv().ProxyURL)
	g, err = newFromEnv(t, nil)
	require.NoError(t, err)
	rep := status(t, g, token)
	require.Equal(t, http.StatusOK, rep.status, rep.body)
	require.Equal(t, "user_1", rep.body)
}

// TestTLSProxyNeedsTrustedProxies: behind a proxy that terminates TLS, a
// signed-in browser's click (Referer: the app's own https page) reaches
// the app as plain http with X-Forwarded-Proto: https. Without trusted
// proxies it looks like an arrival from another site and costs a handshake
// each time, and the Gate says so once in its log; with
// CLERK_TRUSTED_PROXIES naming the proxy it is served at once.
func TestTLSProxyNeedsTrustedProxies(t *testing.T) {
	for _, trusted := range []bool{false, true} {
		proxies := ""
		if trusted {
			proxies = "127.0.0.1, ::1"
		}
		t.Setenv("CLERK_TRUSTED_PROXIES", proxies)
		logger, logs := captureLogs()
		s := newSite(t, func(c *clerkgate.Config) {
			c.TrustedProxies = clerkgate.ConfigFromEnv().TrustedProxies
			c.Logger = logger
		})
		b := s.browser(t)
		require.Equal(t, "Dashboard of user_7", b.signIn(s, "user_7", s.url+"/dashboard").body)

		secure := strings.Replace(s.url, "http://", "https://", 1)
		before := s.fake.Requests(clerktest.RouteHandshake)
		app, err := url.Parse(s.url)
		require.NoError(t, err)
		for range 3 {
			// The clicks come seconds apart: the loop guard's counter,
			// which lives a few seconds, is gone.
			b.c.Jar.SetCookies(app, []*http.Cookie{{Name: "__clerk_redirect_count", Value: "", MaxAge: -1}})
			req, err := http.NewRequest(http.MethodGet, s.url+"/dashboard", nil)
			require.NoError(t, err)
			req.Header.Set("X-Forwarded-Proto", "https")
			req.Header.Set("Referer", secure+"/")
			require.Equal(t, "Dashboard of user_7", b.do(req).body)
		}
		handshakes := s.fake.Requests(clerktest.RouteHandshake) - before
		hints := strings.Count(logs.String(), "X-Forwarded-Proto from a proxy the Gate does not trust")
		if trusted {
			require.Zero(t, handshakes, "a trusted proxy's click is no cross-site arrival")
			require.Zero(t, hints)
		} else {
			require.Equal(t, 3, handshakes, "each click went through Clerk")
			require.Equal(t, 1, hints, "the hint is logged once: %s", logs)
			require.Contains(t, logs.String(), "CLERK_TRUSTED_PROXIES")
		}
	}
}

// TestTrustedProxiesFromTheEnvironment: addresses and prefixes are read;
// anything else stops New, naming the variable, unless set in code.
func TestTrustedProxiesFromTheEnvironment(t *testing.T) {
	envInstance(t)
	t.Setenv("CLERK_TRUSTED_PROXIES", " 10.0.0.0/8,127.0.0.1 ,::1")
	require.Equal(t, []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128"),
	}, clerkgate.ConfigFromEnv().TrustedProxies)
	for _, bad := range []string{"10.0.0.0/33", "proxy.internal", "10.0.0.1;rm"} {
		t.Setenv("CLERK_TRUSTED_PROXIES", bad)
		g, err := newFromEnv(t, nil)
		require.Nil(t, g, bad)
		require.ErrorIs(t, err, clerkgate.ErrConfig)
		require.ErrorContains(t, err, "CLERK_TRUSTED_PROXIES")
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Setenv("CLERK_SECRET_KEY", " sk_test_env ")
	t.Setenv("CLERK_PUBLISHABLE_KEY", "pk_test_x")
	t.Setenv("CLERK_API_URL", "http://127.0.0.1:1")
	t.Setenv("CLERK_JWT_KEY", "pem")
	t.Setenv("CLERK_AUTHORIZED_PARTIES", "https://a.example, https://b.example,,")
	cfg := clerkgate.ConfigFromEnv()
	require.Equal(t, "sk_test_env", cfg.SecretKey)
	require.Equal(t, "pk_test_x", cfg.PublishableKey)
	require.Equal(t, "http://127.0.0.1:1", cfg.APIURL)
	require.Equal(t, "pem", cfg.JWTKey)
	require.Equal(t, []string{"https://a.example", "https://b.example"}, cfg.AuthorizedParties)
}
