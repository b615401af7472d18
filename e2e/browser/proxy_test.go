package browser_test

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/clerktest"
)

// TestSignInThroughTheProxy walks a browser session through the example's
// Frontend API proxy (fapiproxy, at /__clerk on the app's own origin), as
// an app that proxies Clerk runs it: the sign-in page, its form, every
// handshake and the sign-out reach the fake Frontend API through the
// proxy only, with Clerk's proxy headers, and the tokens the Gate accepts
// are issued by the proxy's URL.
func TestSignInThroughTheProxy(t *testing.T) {
	// The proxy's URL names the app's port, and the fake must know it
	// before the app starts: take a free port and hand it to the app.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	app := "http://localhost:" + strconv.Itoa(port)
	proxyURL := app + "/__clerk"

	fake := clerktest.New(clerktest.WithLocalFrontendAPI(), clerktest.WithTokenLifetime(tokenLifetime),
		clerktest.WithProxyURL(proxyURL))
	t.Cleanup(fake.Close)
	// The example's proxy reaches the fake's Frontend API over TLS, and
	// trusts its certificate as Go trusts any: through SSL_CERT_FILE.
	certFile := filepath.Join(t.TempDir(), "fapi.pem")
	require.NoError(t, os.WriteFile(certFile,
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: frontendCert(t, fake).Raw}), 0o600))
	example := startExample(t,
		"ADDR=127.0.0.1:"+strconv.Itoa(port),
		"SSL_CERT_FILE="+certFile,
		"CLERK_SECRET_KEY="+fake.SecretKey(),
		"CLERK_PUBLISHABLE_KEY="+fake.PublishableKey(),
		"CLERK_API_URL="+fake.URL(),
		"CLERK_PROXY_URL="+proxyURL,
		"CLERK_FAPI_URL="+fake.FrontendURL(),
		"CLERK_SIGN_IN_URL="+proxyURL+"/sign-in",
	)
	require.Equal(t, app, localhost(t, example.base))
	b := newBrowser(t, frontendSPKI(t, fake))
	seen := newCounts(fake)

	step(t, "1 signed out, the dashboard sends to sign in through the proxy", func(t *testing.T) {
		b.open(t, app+"/dashboard")
		b.requireAt(t, proxyURL+"/sign-in")
		seen.require(t, map[string]int{clerktest.RouteHandshake: 1, clerktest.RouteHandshakePayload: 1})
		requireReason(t, fake, "dev-browser-missing")
	})

	var sessionID string
	step(t, "2 sign in through the proxy, back on the dashboard", func(t *testing.T) {
		b.click(t, "sign-in")
		b.requireAt(t, app+"/dashboard")
		require.Equal(t, "user_dev", b.text(t, "user-id"))
		sessionID = b.text(t, "session-id")
		require.True(t, strings.HasPrefix(sessionID, "sess_"), "session id %q", sessionID)
		seen.require(t, map[string]int{
			clerktest.RouteSignInSubmit: 1, clerktest.RouteHandshake: 1, clerktest.RouteHandshakePayload: 1,
		})
		requireReason(t, fake, "dev-browser-sync")
		// The Frontend API's own client cookie lives on the app's origin,
		// and the session token is issued by the proxy's URL.
		var client bool
		var iss string
		for _, c := range b.cookies(t, app) {
			client = client || c.Name == "__client"
			if c.Name == "__session" {
				iss = tokenIssuer(t, c.Value)
			}
		}
		require.True(t, client, "no __client cookie on %s", app)
		require.Equal(t, proxyURL, iss)
	})

	step(t, "3 without the refresh cookie, a handshake through the proxy", func(t *testing.T) {
		b.deleteCookie(t, app, "__refresh_"+fake.CookieSuffix())
		b.waitForExpiry(t, app)
		b.reload(t)
		b.requireAt(t, app+"/dashboard")
		require.Equal(t, sessionID, b.text(t, "session-id"))
		seen.require(t, map[string]int{clerktest.RouteHandshake: 1, clerktest.RouteHandshakePayload: 1})
		requireReason(t, fake, "session-token-expired-refresh-non-eligible-no-refresh-cookie")
	})

	step(t, "4 sign out through the proxy, signed out in the app", func(t *testing.T) {
		b.open(t, proxyURL+"/sign-out?"+url.Values{"redirect_url": {app + "/"}}.Encode())
		b.requireAt(t, app+"/")
		require.Equal(t, "Signed out", b.text(t, "status"))
		status, _ := fake.SessionStatus(sessionID)
		require.Equal(t, "revoked", status)
		seen.require(t, map[string]int{
			clerktest.RouteSignOut: 1, clerktest.RouteHandshake: 1, clerktest.RouteHandshakePayload: 1,
		})
	})

	step(t, "5 Clerk heard only from the proxy, and the browser never saw the key", func(t *testing.T) {
		fapi, err := url.Parse(fake.FrontendURL())
		require.NoError(t, err)
		frontend := map[string]bool{
			clerktest.RouteHandshake: true, clerktest.RouteSignIn: true, clerktest.RouteSignInSubmit: true,
			clerktest.RouteSignOut: true, clerktest.RouteFrontendJWKS: true,
		}
		var n int
		for _, r := range fake.LastRequests(0) {
			if !frontend[r.Route] {
				continue
			}
			n++
			require.Equal(t, fapi.Host, r.Host, "%s", r.Route)
			require.Equal(t, proxyURL, r.Header.Get("Clerk-Proxy-Url"), "%s came not through the proxy", r.Route)
			require.Equal(t, fake.SecretKey(), r.Header.Get("Clerk-Secret-Key"), "%s", r.Route)
			require.Equal(t, "127.0.0.1", r.Header.Get("X-Forwarded-For"), "%s", r.Route)
			require.Equal(t, "localhost:"+strconv.Itoa(port), r.Header.Get("X-Forwarded-Host"), "%s", r.Route)
		}
		// Four handshakes, the sign-in page and its form, the sign-out.
		require.Equal(t, 7, n, "the Frontend API requests of the walk")
		for _, c := range b.cookies(t, app) {
			require.NotContains(t, c.Value, fake.SecretKey(), "cookie %s", c.Name)
		}
	})
}

// tokenIssuer is the iss claim of a JWT, unverified.
func tokenIssuer(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims struct {
		Iss string `json:"iss"`
	}
	require.NoError(t, json.Unmarshal(payload, &claims))
	return claims.Iss
}
