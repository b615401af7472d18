package clerkgate_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
)

// The page's origin, as the Gate writes it: as a browser writes an
// origin (WHATWG: the host in lower case, no default port), which is how
// Clerk's authenticateRequest writes the page URL (new URL) and how a
// browser writes the Origin header. Host and X-Forwarded-Host are sent as
// the client spells them.

func withHost(host string) func(*http.Request) {
	return func(r *http.Request) { r.Host = host }
}

func sessionsOnly(g *clerkgate.Gate, h http.Handler) http.Handler {
	return g.Accept(clerkgate.SessionToken).Require(h)
}

// TestHandshakeRedirectURLIsTheWebOrigin: the handshake sends the browser
// back to the page as new URL writes it (APP.EXAMPLE.COM:80 is
// http://app.example.com), as Clerk's redirect_url does.
func TestHandshakeRedirectURLIsTheWebOrigin(t *testing.T) {
	t.Parallel()
	s := newSite(t, nil)
	port := s.url[strings.LastIndexByte(s.url, ':'):]
	for host, want := range map[string]string{
		"LOCALHOST" + port:  s.url,
		"localhost:80":      "http://localhost",
		"App.Example.COM:0": "http://app.example.com:0",
		"app.example.com.":  "http://app.example.com.", // new URL keeps a trailing dot
	} {
		resp := rawGet(t, s.url+"/dashboard?x=1", withHost(host))
		require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode, host)
		loc, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		require.Equal(t, want+"/dashboard?x=1", loc.Query().Get("redirect_url"), "Host %q", host)
	}
}

// TestHandshakeRedirectURLBehindTrustedProxy: X-Forwarded-Host is written
// as a browser writes an origin too; one that is not a single host[:port]
// (which new URL refuses) is ignored, as Clerk falls back to the
// request's own URL then.
func TestHandshakeRedirectURLBehindTrustedProxy(t *testing.T) {
	t.Parallel()
	s := newSite(t, func(c *clerkgate.Config) { c.InsecureTrustProxyHeaders = true })
	for _, tc := range []struct{ fwdHost, fwdProto, want string }{
		{"APP.EXAMPLE.COM:443", "https", "https://app.example.com"},
		{"app.example.com:0443", "HTTPS", "https://app.example.com"},
		{"app.example.com:443", "http", "http://app.example.com:443"},
		{"localhost:3000:443", "http", s.url},
		{"app.example.com:99999", "https", "https" + strings.TrimPrefix(s.url, "http")},
		{"[::1", "http", s.url},
		{"evil.example/x", "http", s.url},
	} {
		resp := rawGet(t, s.url+"/dashboard", func(r *http.Request) {
			r.Header.Set("X-Forwarded-Host", tc.fwdHost)
			r.Header.Set("X-Forwarded-Proto", tc.fwdProto)
		})
		require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode, tc.fwdHost)
		loc, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		require.Equal(t, tc.want+"/dashboard", loc.Query().Get("redirect_url"), "X-Forwarded-Host %q", tc.fwdHost)
	}
}

// TestCrossOriginCheckReadsHostAsTheBrowserWritesIt: a browser without
// Sec-Fetch-Site sends Origin: http://app.example.com for a page whose
// Host it spelt APP.EXAMPLE.COM or app.example.com:80. That is the same
// origin, and a state-changing request from it passes; an Origin of any
// other host, scheme's default port aside, is still refused.
func TestCrossOriginCheckReadsHostAsTheBrowserWritesIt(t *testing.T) {
	t.Parallel()
	a := newCrossOriginApp(t, nil, sessionsOnly)
	for _, host := range []string{"APP.EXAMPLE.COM", "app.example.com:80", "App.Example.Com:080", "app.example.com"} {
		for _, method := range unsafeMethods {
			got := send(t, method, a.srv.URL, withHost(host), a.sessionCookie("user_1"), fetchFrom("", "http://app.example.com"))
			require.Equal(t, http.StatusOK, got.status, "%s Host %q: %s", method, host, got.body)
			require.Equal(t, "user_1", got.body)
		}
	}
	passed := a.reached.Load()
	for _, tc := range []struct{ host, origin string }{
		{"APP.EXAMPLE.COM:80", "https://evil.example"},
		{"APP.EXAMPLE.COM", "http://app.example.com.evil.example"},
		{"app.example.com:80", "http://evil.example:80"},
		{"app.example.com:80", "http://app.example.com:8080"},
		// Over plain http, :443 is no default port: https://app.example.com
		// is another origin than http://app.example.com:443.
		{"app.example.com:443", "https://app.example.com"},
		{"APP.EXAMPLE.COM", "null"},
		// Not one host[:port]: read as it is, and matched by no Origin.
		{"app.example.com:80:80", "http://app.example.com"},
	} {
		for _, method := range unsafeMethods {
			got := send(t, method, a.srv.URL, withHost(tc.host), a.sessionCookie("user_1"), fetchFrom("", tc.origin))
			requireCrossOriginRefusal(t, got, "%s Host %q Origin %q", method, tc.host, tc.origin)
		}
	}
	require.Equal(t, passed, a.reached.Load(), "a refused request reached the handler")
	// Sec-Fetch-Site, when sent, decides alone, whatever Host says.
	requireCrossOriginRefusal(t, send(t, http.MethodPost, a.srv.URL, withHost("APP.EXAMPLE.COM"), a.sessionCookie("user_1"), fetchFrom("cross-site", "http://app.example.com")))
}

// TestCrossOriginCheckBehindTrustedProxyReadsForwardedHost: behind a
// trusted proxy, X-Forwarded-Host is written as a browser writes an
// origin before Origin is compared with it; one that is not one
// host[:port] is ignored, so an Origin that only it names is refused.
func TestCrossOriginCheckBehindTrustedProxyReadsForwardedHost(t *testing.T) {
	t.Parallel()
	a := newCrossOriginApp(t, func(c *clerkgate.Config) { c.InsecureTrustProxyHeaders = true }, sessionsOnly)
	via := func(host string) func(*http.Request) {
		return func(r *http.Request) {
			r.Header.Set("X-Forwarded-Host", host)
			r.Header.Set("X-Forwarded-Proto", "https")
		}
	}
	got := send(t, http.MethodPost, a.srv.URL, via("API.EXAMPLE.COM:443"), a.sessionCookie("user_1"), fetchFrom("", "https://api.example.com"))
	require.Equal(t, http.StatusOK, got.status, got.body)
	for _, tc := range []struct{ host, origin string }{
		{"API.EXAMPLE.COM:443", "https://evil.example"},
		{"api.example.com:443:443", "https://api.example.com"},
		{"api.example.com:8443", "https://api.example.com"},
	} {
		requireCrossOriginRefusal(t, send(t, http.MethodPost, a.srv.URL, via(tc.host), a.sessionCookie("user_1"), fetchFrom("", tc.origin)),
			"X-Forwarded-Host %q Origin %q", tc.host, tc.origin)
	}
}
