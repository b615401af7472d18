package contract_test

import (
	"bytes"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/clerktest/adaptertest"
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

// runBrowserPages walks the example's pages as a browser does in dev mode:
// document requests, a cookie jar, redirects followed. The dev fake's
// Frontend API (its handshake, sign-in page and sign-out link) is on
// another origin, which the walk crosses as a browser would.
func runBrowserPages(t *testing.T, s *server) {
	b := newBrowserClient(t)
	base, err := url.Parse(s.base)
	require.NoError(t, err)
	app := "http://localhost:" + base.Port() // as the banner says to open it

	var signIn *http.Response
	t.Run("browser: dashboard signed out goes to sign in", func(t *testing.T) {
		res, body := b.get(t, app+"/dashboard")
		require.Equal(t, http.StatusOK, res.StatusCode, "ended on %s: %s", res.Request.URL, body)
		require.Equal(t, "/sign-in", res.Request.URL.Path, "ended on %s", res.Request.URL)
		require.Equal(t, "http", res.Request.URL.Scheme, "plain http: a fresh browser needs no certificate exception")
		require.Equal(t, app+"/dashboard", res.Request.URL.Query().Get("redirect_url"))
		require.Contains(t, body, `<form method="post" action="/sign-in">`)
		signIn = res
	})

	t.Run("browser: signing in leads back to the dashboard", func(t *testing.T) {
		require.NotNil(t, signIn)
		res, body := b.post(t, signIn.Request.URL.String(), url.Values{
			"user_id": {"user_dev"}, "redirect_url": {app + "/dashboard"},
		})
		require.Equal(t, http.StatusOK, res.StatusCode, "ended on %s: %s", res.Request.URL, body)
		require.Equal(t, app+"/dashboard", res.Request.URL.String())
		require.Contains(t, body, `<dd id="user-id">user_dev</dd>`)

		res, body = b.get(t, app+"/")
		require.Equal(t, app+"/", res.Request.URL.String())
		require.Contains(t, body, `Signed in as <span id="user-id">user_dev</span>`)
	})

	t.Run("browser: the sign-out link signs out", func(t *testing.T) {
		_, body := b.get(t, app+"/")
		m := signOutLink.FindStringSubmatch(body)
		require.NotNil(t, m, "no sign-out link in %s", body)
		res, body := b.get(t, html.UnescapeString(m[1]))
		require.Equal(t, app+"/", res.Request.URL.String())
		require.Contains(t, body, `<p id="status">Signed out</p>`)

		res, _ = b.get(t, app+"/dashboard")
		require.Equal(t, "/sign-in", res.Request.URL.Path, "ended on %s", res.Request.URL)
	})
}

// browserClient is an http.Client that plays a browser: a cookie jar,
// redirects followed (ten at most: more is a loop), document requests.
type browserClient struct {
	*http.Client
}

func newBrowserClient(t *testing.T) browserClient {
	// A fresh browser: it trusts no certificate but the system's, so a
	// walk that needed the dev fake's self-signed one would fail here.
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return browserClient{&http.Client{Transport: tr, Jar: jar, Timeout: requestTimeout}}
}

func (b browserClient) get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	require.NoError(t, err)
	return b.do(t, req)
}

func (b browserClient) post(t *testing.T, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(t, req)
}

func (b browserClient) do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	// A navigation: every hop of its redirects carries these (net/http
	// copies them), as a browser's do.
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	req.Header.Set("Sec-Fetch-Dest", "document")
	res, err := b.Do(req)
	require.NoError(t, err, "%s %s", req.Method, req.URL)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(body)
}
