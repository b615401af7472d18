package clerkgate_test

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

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
