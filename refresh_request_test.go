package clerkgate_test

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

// refreshBody is what clerktest received in the last refresh call.
type refreshBody struct {
	RequestOrigin        string              `json:"request_origin"`
	RequestOriginatingIP *string             `json:"request_originating_ip"`
	RequestHeaders       map[string][]string `json:"request_headers"`
}

// refreshWith refreshes a fresh session of b with mod applied to the
// request, and returns what the refresh call told Clerk.
func (b *backend) refreshWith(t *testing.T, mod func(*http.Request)) refreshBody {
	t.Helper()
	s := b.fake.CreateSession("user_1")
	rep := get(t, b.srv, both(b.sessionCookie(b.fake.Token(s.ID, clerktest.Expired())), b.refreshCookie(s), mod))
	require.Equal(t, http.StatusOK, rep.status, rep.body)
	req, ok := b.fake.LastRequest(clerktest.RouteRefresh)
	require.True(t, ok)
	var body refreshBody
	require.NoError(t, json.Unmarshal(req.Body, &body))
	return body
}

// Only the headers Clerk reads as device and risk signals reach it:
// never credentials, proxy headers or the app's own headers, whatever the
// client or a proxy put in the request.
func TestRefreshForwardsOnlyAllowListedHeaders(t *testing.T) {
	t.Parallel()
	// The request looks like a page load (Accept: text/html); without
	// the handshake, its expired token is refreshed as an API call's is.
	b := newBackend(t, func(c *clerkgate.Config) { c.InsecureTrustProxyHeaders = true; c.Pages.DisableHandshake = true })
	body := b.refreshWith(t, func(r *http.Request) {
		for k, v := range map[string]string{
			// Forwarded.
			"User-Agent":         "Mozilla/5.0 (X11; Linux x86_64)",
			"Accept":             "text/html",
			"Accept-Language":    "de-CH, en;q=0.5",
			"Origin":             "https://app.example.com",
			"Referer":            "https://app.example.com/reset?token=secret-reset-token#frag",
			"Sec-CH-UA":          `"Chromium";v="130"`,
			"Sec-CH-UA-Mobile":   "?0",
			"Sec-CH-UA-Platform": `"Linux"`,
			"Sec-Fetch-Site":     "same-origin",
			"Sec-Fetch-Mode":     "navigate",
			// Never forwarded.
			"Authorization":            "Basic dXNlcjpwYXNz",
			"Proxy-Authorization":      "Basic cHJveHk6cGFzcw==",
			"X-Amzn-Oidc-Accesstoken":  "eyJ.oidc.access",
			"X-Amzn-Oidc-Data":         "eyJ.oidc.data",
			"X-Amzn-Oidc-Identity":     "user-at-the-proxy",
			"X-Forwarded-Host":         "evil.example",
			"X-Forwarded-For":          "6.6.6.6",
			"X-Forwarded-Proto":        "https",
			"Forwarded":                "for=6.6.6.6;host=evil.example",
			"X-Real-Ip":                "6.6.6.6",
			"X-Api-Key":                "app-secret",
			"X-Csrf-Token":             "csrf-secret",
			"X-Clerk-Auth-Status":      "signed-in",
			"Cf-Access-Jwt-Assertion":  "eyJ.cf.access",
			"X-Goog-Iap-Jwt-Assertion": "eyJ.iap",
		} {
			r.Header.Set(k, v)
		}
	})
	require.Equal(t, map[string][]string{
		"User-Agent":         {"Mozilla/5.0 (X11; Linux x86_64)"},
		"Accept":             {"text/html"},
		"Accept-Language":    {"de-CH, en;q=0.5"},
		"Origin":             {"https://app.example.com"},
		"Referer":            {"https://app.example.com"},
		"Sec-Ch-Ua":          {`"Chromium";v="130"`},
		"Sec-Ch-Ua-Mobile":   {"?0"},
		"Sec-Ch-Ua-Platform": {`"Linux"`},
		"Sec-Fetch-Site":     {"same-origin"},
		"Sec-Fetch-Mode":     {"navigate"},
	}, body.RequestHeaders)

	// More, or longer, values than a browser sends are dropped.
	body = b.refreshWith(t, func(r *http.Request) {
		r.Header.Set("User-Agent", strings.Repeat("A", 64<<10))
		for range 100 {
			r.Header.Add("Accept-Language", "en")
		}
		r.Header.Set("Referer", "javascript:alert(1)")
	})
	require.NotContains(t, body.RequestHeaders, "User-Agent")
	require.NotContains(t, body.RequestHeaders, "Referer")
	require.Len(t, body.RequestHeaders["Accept-Language"], 4)
}

// The user's IP address is the rightmost X-Forwarded-For hop that no
// trusted proxy wrote; the origin's X-Forwarded-* values count only from a
// trusted proxy, and then the rightmost. httptest's peer is 127.0.0.1.
func TestRefreshClientIPAndOrigin(t *testing.T) {
	t.Parallel()
	local := netip.MustParsePrefix("127.0.0.0/8")
	internal := netip.MustParsePrefix("10.0.0.0/8")
	cases := []struct {
		name    string
		cfg     func(*clerkgate.Config)
		headers map[string]string
		ip      string // "" means the field is absent
		origin  string // "" means the server's own URL
	}{
		{
			name:    "headers ignored without trust",
			headers: map[string]string{"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"},
			ip:      "127.0.0.1",
		},
		{
			name:    "one proxy: the rightmost hop, not the client's leftmost",
			cfg:     func(c *clerkgate.Config) { c.InsecureTrustProxyHeaders = true },
			headers: map[string]string{"X-Forwarded-For": "6.6.6.6, 203.0.113.7"},
			ip:      "203.0.113.7",
		},
		{
			name:    "trusted proxies are skipped from the right",
			cfg:     func(c *clerkgate.Config) { c.TrustedProxies = []netip.Prefix{local, internal} },
			headers: map[string]string{"X-Forwarded-For": "6.6.6.6, 203.0.113.7, 10.1.2.3"},
			ip:      "203.0.113.7",
		},
		{
			name:    "hops over several header lines, with ports",
			cfg:     func(c *clerkgate.Config) { c.TrustedProxies = []netip.Prefix{local, internal} },
			headers: map[string]string{"X-Forwarded-For": "6.6.6.6\n203.0.113.7:4711, 10.1.2.3"},
			ip:      "203.0.113.7",
		},
		{
			name:    "a peer that is not a trusted proxy: its headers count for nothing",
			cfg:     func(c *clerkgate.Config) { c.TrustedProxies = []netip.Prefix{internal} },
			headers: map[string]string{"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Host": "evil.example"},
			ip:      "127.0.0.1",
		},
		{
			name:    "nonsense where a proxy writes: no IP rather than a guess",
			cfg:     func(c *clerkgate.Config) { c.InsecureTrustProxyHeaders = true },
			headers: map[string]string{"X-Forwarded-For": "203.0.113.7, not-an-ip"},
		},
		{
			name: "a trusted proxy naming no client: no IP, not the proxy's",
			cfg:  func(c *clerkgate.Config) { c.InsecureTrustProxyHeaders = true },
		},
		{
			name:    "origin from the proxy's rightmost values",
			cfg:     func(c *clerkgate.Config) { c.InsecureTrustProxyHeaders = true },
			headers: map[string]string{"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Host": "evil.example, app.example.com", "X-Forwarded-Proto": "http, HTTPS"},
			ip:      "203.0.113.7",
			origin:  "https://app.example.com",
		},
		{
			name:    "an implausible forwarded host is ignored",
			cfg:     func(c *clerkgate.Config) { c.InsecureTrustProxyHeaders = true },
			headers: map[string]string{"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Host": "user:pw@evil.example/path"},
			ip:      "203.0.113.7",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newBackend(t, tc.cfg)
			body := b.refreshWith(t, func(r *http.Request) {
				for k, v := range tc.headers {
					for _, line := range strings.Split(v, "\n") {
						r.Header.Add(k, line)
					}
				}
			})
			if tc.ip == "" {
				require.Nil(t, body.RequestOriginatingIP)
			} else {
				require.NotNil(t, body.RequestOriginatingIP)
				require.Equal(t, tc.ip, *body.RequestOriginatingIP)
			}
			want := tc.origin
			if want == "" {
				want = b.srv
			}
			require.Equal(t, want, body.RequestOrigin)
		})
	}
}
