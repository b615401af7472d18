package clerktest_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/clerktest"
)

// browser is an http.Client with a cookie jar that does not follow
// redirects, so each hop can be inspected.
func browser(t *testing.T, s *clerktest.Server) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := *s.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func get(t *testing.T, c *http.Client, u string) *http.Response {
	t.Helper()
	resp, err := c.Get(u)
	require.NoError(t, err)
	resp.Body.Close()
	return resp
}

func handshakeURL(s *clerktest.Server, back, format string) string {
	return s.FrontendURL() + "/v1/client/handshake?" + url.Values{
		"redirect_url": {back}, "format": {format}, "suffixed_cookies": {"true"},
	}.Encode()
}

func TestFrontendHandshakeNonceSignedOutThenIn(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	b := browser(t, s)
	const app = "http://localhost:1/page?x=1"

	// A browser the fake has never seen: a new client, signed out.
	resp := get(t, b, handshakeURL(s, app, "nonce"))
	require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
	back, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "localhost:1", back.Host)
	require.Equal(t, "1", back.Query().Get("x"))
	nonce := back.Query().Get("__clerk_handshake_nonce")
	require.NotEmpty(t, nonce)

	var payload struct{ Directives []string }
	r := call(t, s, http.MethodGet, "/v1/clients/handshake_payload?nonce="+nonce, nil)
	require.Equal(t, http.StatusOK, r.Status)
	r.decode(t, &payload)
	require.Contains(t, payload.Directives, "__client_uat=0; Path=/; SameSite=Lax")
	require.Contains(t, payload.Directives, "__client_uat_"+s.CookieSuffix()+"=0; Path=/; SameSite=Lax")
	// A nonce is good once.
	requireClerkError(t, call(t, s, http.MethodGet, "/v1/clients/handshake_payload?nonce="+nonce, nil),
		http.StatusNotFound, clerktest.CodeResourceNotFound)
	require.Equal(t, 2, s.Requests(clerktest.RouteHandshakePayload))

	// Sign in on the sign-in page: back to the app with the dev browser.
	resp, err = b.PostForm(s.SignInURL(), url.Values{"user_id": {"user_42"}, "redirect_url": {app}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	signedIn, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	db := signedIn.Query().Get("__clerk_db_jwt")
	require.True(t, strings.HasPrefix(db, "dvb_"))

	// The same browser's next handshake carries the session, as a token.
	resp = get(t, b, handshakeURL(s, app, "token"))
	back, err = url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	hs := back.Query().Get("__clerk_handshake")
	require.NoError(t, verifyAgainstJWKS(s.JWKS(), hs))
	directives, _ := claimsOf(t, hs)["handshake"].([]any)
	var session string
	for _, d := range directives {
		if v, ok := strings.CutPrefix(d.(string), "__session_"+s.CookieSuffix()+"="); ok {
			session, _, _ = strings.Cut(v, ";")
		}
	}
	require.Equal(t, "user_42", claimsOf(t, session)["sub"])
	require.Contains(t, directives, "__clerk_db_jwt="+db+"; Path=/; SameSite=Lax")
	require.Equal(t, 2, s.Requests(clerktest.RouteHandshake))

	// Signing out ends the session: the next handshake clears the cookies.
	resp = get(t, b, s.SignOutURL(app))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp = get(t, b, handshakeURL(s, app, "token"))
	back, _ = url.Parse(resp.Header.Get("Location"))
	directives, _ = claimsOf(t, back.Query().Get("__clerk_handshake"))["handshake"].([]any)
	require.Contains(t, directives, "__session=; Path=/; SameSite=Lax; Max-Age=0")
}

func TestFrontendRefusesForeignRedirects(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	b := browser(t, s)
	for _, target := range []string{"https://evil.example/", "javascript:alert(1)", "//evil.example/", "", "http://user@localhost/"} {
		resp := get(t, b, handshakeURL(s, target, "nonce"))
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, target)
		resp = get(t, b, s.SignOutURL(target))
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, target)
	}
}
