package contract_test

import (
	"bytes"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/internal/adaptertest"
)

// runPages holds the example's HTML pages to their contract: GET / behind
// OptionalSession, GET /dashboard behind RequireSession. These requests
// come from a plain HTTP client, not a browser navigating: they say
// nothing of a document, so no handshake or redirect may answer them.
// token and sid are a valid dev session's. Each page is also logged in
// pages, with the session id replaced, to compare the frameworks.
func runPages(t *testing.T, s *server, token, sid string, pages *refusalLog) {
	t.Run("home signed out", func(t *testing.T) {
		res := s.do(t, http.MethodGet, "/", "")
		res.requirePage(t)
		require.Contains(t, string(res.body), `<p id="status">Signed out</p>`)
		require.Contains(t, string(res.body), `<a id="sign-in" href="/dashboard">Sign in</a>`)
		require.NotContains(t, string(res.body), "user_dev")
		pages.add("home signed out", s.name, res)
	})

	t.Run("home signed in", func(t *testing.T) {
		res := s.do(t, http.MethodGet, "/", token)
		res.requirePage(t)
		require.Contains(t, string(res.body), `Signed in as <span id="user-id">user_dev</span>`)
		require.NotContains(t, string(res.body), "Signed out")
		res.body = s.withoutSignOutURL(t, res.body)
		pages.add("home signed in", s.name, res)
	})

	t.Run("home refuses a forged token", func(t *testing.T) {
		// OptionalSession lets the anonymous in, never a bad token: the
		// page must not turn a forgery into "Signed out" and go on.
		res := s.do(t, http.MethodGet, "/", adaptertest.Forge(t, token))
		res.requireRefusal(t, http.StatusUnauthorized, "signature_invalid")
		pages.add("home with a forged token", s.name, res)
	})

	t.Run("dashboard signed in", func(t *testing.T) {
		res := s.do(t, http.MethodGet, "/dashboard", token)
		res.requirePage(t)
		require.Contains(t, string(res.body), `<dd id="user-id">user_dev</dd>`)
		require.Contains(t, string(res.body), `<dd id="session-id">`+sid+`</dd>`)
		res.body = []byte(strings.ReplaceAll(string(s.withoutSignOutURL(t, res.body)), sid, "SESSION_ID"))
		pages.add("dashboard signed in", s.name, res)
	})

	t.Run("dashboard signed out", func(t *testing.T) {
		res := s.do(t, http.MethodGet, "/dashboard", "")
		res.requireRefusal(t, http.StatusUnauthorized, "token_missing")
		require.NotContains(t, string(res.body), "user_dev")
		pages.add("dashboard signed out", s.name, res)
	})

	t.Run("dashboard with an expired token", func(t *testing.T) {
		expired := s.devToken(t, true)
		res := s.do(t, http.MethodGet, "/dashboard", expired["token"])
		res.requireRefusal(t, http.StatusUnauthorized, "token_expired")
		pages.add("dashboard with an expired token", s.name, res)
	})
}

// withoutSignOutURL checks that a signed-in page links to the dev fake's
// sign-out page, which sends the browser back to this example's home
// page, and replaces the link, which names ports, by SIGN_OUT_URL.
func (s *server) withoutSignOutURL(t *testing.T, body []byte) []byte {
	t.Helper()
	m := signOutLink.FindSubmatch(body)
	require.NotNil(t, m, "no sign-out link in %s", body)
	back, err := url.Parse(html.UnescapeString(string(m[1])))
	require.NoError(t, err)
	require.Equal(t, "/sign-out", back.Path)
	base, err := url.Parse(s.base)
	require.NoError(t, err)
	require.Equal(t, "http://localhost:"+base.Port()+"/", back.Query().Get("redirect_url"))
	return bytes.Replace(body, m[1], []byte("SIGN_OUT_URL"), 1)
}

var signOutLink = regexp.MustCompile(`<a id="sign-out" href="([^"]+)">Sign out</a>`)

// requirePage checks that r is a page: 200, HTML, and never cached, since
// it shows who is signed in.
func (r response) requirePage(t *testing.T) {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	require.Equal(t, "text/html; charset=utf-8", r.header.Get("Content-Type"))
	require.Equal(t, "no-store", r.header.Get("Cache-Control"))
	require.True(t, strings.HasPrefix(string(r.body), "<!doctype html>"), "body: %s", r.body)
}
