package fapiproxy

import (
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/internal/publishable"
)

var testPK = publishable.Encode("clerk.example.com", false)

func validConfig() Config {
	return Config{
		ProxyURL:       "https://app.example.com/__clerk",
		SecretKey:      "sk_test_abc",
		PublishableKey: testPK,
	}
}

func TestConfigRefusals(t *testing.T) {
	t.Parallel()
	for name, mutate := range map[string]func(*Config){
		"no secret key":                    func(c *Config) { c.SecretKey = "" },
		"publishable key as secret":        func(c *Config) { c.SecretKey = testPK },
		"no publishable key":               func(c *Config) { c.PublishableKey = "" },
		"secret key as publishable":        func(c *Config) { c.PublishableKey = "sk_test_abc" },
		"live secret, test publishable":    func(c *Config) { c.SecretKey = "sk_live_abc" },
		"no proxy URL":                     func(c *Config) { c.ProxyURL = "" },
		"relative proxy URL":               func(c *Config) { c.ProxyURL = "/__clerk" },
		"proxy URL of another scheme":      func(c *Config) { c.ProxyURL = "ftp://app.example.com/__clerk" },
		"proxy URL with a query":           func(c *Config) { c.ProxyURL = "https://app.example.com/__clerk?x=1" },
		"proxy URL with a user":            func(c *Config) { c.ProxyURL = "https://u:p@app.example.com/__clerk" },
		"proxy URL with a fragment":        func(c *Config) { c.ProxyURL = "https://app.example.com/__clerk#x" },
		"proxy URL with dot segments":      func(c *Config) { c.ProxyURL = "https://app.example.com/a/../__clerk" },
		"proxy URL with an empty segment":  func(c *Config) { c.ProxyURL = "https://app.example.com//__clerk" },
		"proxy URL with an escape":         func(c *Config) { c.ProxyURL = "https://app.example.com/__cl%2Ferk" },
		"Frontend API over http elsewhere": func(c *Config) { c.FrontendAPIURL = "http://frontend-api.clerk.dev" },
		"Frontend API relative":            func(c *Config) { c.FrontendAPIURL = "frontend-api.clerk.dev" },
		"Frontend API with a query":        func(c *Config) { c.FrontendAPIURL = "https://frontend-api.clerk.dev?x" },
		"Frontend API with a user":         func(c *Config) { c.FrontendAPIURL = "https://u@frontend-api.clerk.dev" },
		"Frontend API with dot segments":   func(c *Config) { c.FrontendAPIURL = "https://frontend-api.clerk.dev/a/.." },
		"negative timeout":                 func(c *Config) { c.Timeout = -time.Second },
		"negative body bound":              func(c *Config) { c.MaxRequestBody = -1 },
		"negative in-flight bound":         func(c *Config) { c.MaxInFlight = -1 },
		"invalid trusted proxy":            func(c *Config) { c.TrustedProxies = []netip.Prefix{{}} },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := validConfig()
			mutate(&cfg)
			p, err := New(cfg)
			require.Error(t, err)
			require.Nil(t, p)
			require.True(t, strings.HasPrefix(err.Error(), "fapiproxy: "), err.Error())
			require.NotContains(t, err.Error(), "sk_test_abc", "an error shows no secret key")
		})
	}
}

func TestConfigAccepts(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		mutate           func(*Config)
		proxyURL, prefix string
		upstream         string
	}{
		"default": {func(*Config) {}, "https://app.example.com/__clerk", "/__clerk", "https://frontend-api.clerk.dev"},
		"trailing slash": {func(c *Config) { c.ProxyURL = "https://app.example.com/__clerk/" },
			"https://app.example.com/__clerk", "/__clerk", "https://frontend-api.clerk.dev"},
		"a whole host": {func(c *Config) { c.ProxyURL = "https://clerk-proxy.example.com" },
			"https://clerk-proxy.example.com", "", "https://frontend-api.clerk.dev"},
		"http on loopback": {func(c *Config) {
			c.ProxyURL = "http://localhost:3000/__clerk"
			c.FrontendAPIURL = "http://127.0.0.1:9999/base/"
		}, "http://localhost:3000/__clerk", "/__clerk", "http://127.0.0.1:9999/base"},
		"live keys": {func(c *Config) {
			c.SecretKey = "sk_live_abc"
			c.PublishableKey = publishable.Encode("clerk.example.com", true)
		}, "https://app.example.com/__clerk", "/__clerk", "https://frontend-api.clerk.dev"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := validConfig()
			tc.mutate(&cfg)
			s, err := cfg.validate()
			require.NoError(t, err)
			require.Equal(t, tc.proxyURL, s.proxyURL)
			require.Equal(t, tc.prefix, s.prefix)
			require.Equal(t, tc.upstream, s.upstream.String())
		})
	}
}

// TestFrontendAPIFor: the Frontend API Clerk's proxy picks by the
// instance's host (fapiUrlFromPublishableKey in @clerk/backend 3.25.0).
func TestFrontendAPIFor(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]string{
		"clerk.example.com":                     prodFrontendAPI,
		"clerk.example.com:443":                 prodFrontendAPI,
		"happy-hippo-1.clerk.accounts.dev":      prodFrontendAPI,
		"clerk.abc.lcl.dev":                     prodFrontendAPI, // legacy development instance
		"clerk.abc.lclclerk.com":                prodFrontendAPI,
		"abc.lcl.dev":                           localFrontendAPI,
		"abc.accounts.lclclerk.com":             localFrontendAPI,
		"abc.lclstage.dev":                      localFrontendAPI,
		"happy-hippo-1.clerk.accountsstage.dev": stagingFrontendAPI,
		"Happy-Hippo-1.Clerk.AccountsStage.Dev": stagingFrontendAPI,
	} {
		require.Equal(t, want, frontendAPIFor(host), host)
	}
}

// FuzzUpstreamPath: whatever the request's path, an accepted one maps to
// a path under the Frontend API's base that a URL parser reads back as
// the same path on the same host: no request path moves the request.
func FuzzUpstreamPath(f *testing.F) {
	for _, seed := range []string{
		"/__clerk", "/__clerk/", "/__clerk/v1/client", "/__clerk/../x", "/__clerk/%2e%2e/x",
		"/__clerk//evil.com", "/__clerk/a%2fb", "/__clerkx", "//evil.com", "/__clerk/%zz",
		"/__clerk/v1/%20x", "/__clerk/a\\b", "/__clerk/@evil.com", "/__clerk/:80",
	} {
		f.Add(seed)
	}
	cfg := validConfig()
	cfg.FrontendAPIURL = "https://fapi.example.com/base"
	s, err := cfg.validate()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, escaped string) {
		out, err := s.upstreamPath(escaped)
		if err != nil {
			return
		}
		require.True(t, strings.HasPrefix(out, "/base/"), "%q → %q", escaped, out)
		require.NoError(t, checkPath(out))
		u, err := url.Parse("https://fapi.example.com" + out)
		require.NoError(t, err, "%q → %q", escaped, out)
		require.Equal(t, "fapi.example.com", u.Host)
		require.Equal(t, out, u.EscapedPath())
		for _, seg := range strings.Split(u.Path, "/") {
			require.NotEqual(t, "..", seg)
			require.NotEqual(t, ".", seg)
		}
	})
}
