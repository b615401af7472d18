package clerkgate_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

// Clerk's remaining authenticateRequest options, over real HTTP against
// clerktest: organization sync from the URL, satelliteAutoSync, and the
// development clock-skew retry.

// TestOrganizationSyncFromTheURL: a page whose URL names another
// organization than the session's active one goes through the handshake
// with organization_id, which asks the Frontend API to activate it; the
// active organization's page, an API call, and a Gate without
// OrganizationSync serve it as it is.
func TestOrganizationSyncFromTheURL(t *testing.T) {
	t.Parallel()
	fake := clerktest.New(clerktest.WithLocalFrontendAPI())
	t.Cleanup(fake.Close)
	newGate := func(sync clerkgate.OrganizationSync) string {
		g, err := clerkgate.New(clerkgate.Config{SecretKey: fake.SecretKey(), PublishableKey: fake.PublishableKey(), APIURL: fake.URL(),
			Pages: clerkgate.PagesConfig{OrganizationSync: sync}, Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		t.Cleanup(func() { g.Close() })
		return serve(t, g.Accept(clerkgate.SessionToken).Optional(whoami)).URL
	}
	app := newGate(clerkgate.OrganizationSync{
		OrganizationPatterns:    []string{"/orgs/:slug", "/orgs/:slug/(.*)"},
		PersonalAccountPatterns: []string{"/me", "/me/(.*)"},
	})
	s := fake.CreateSession("user_1", clerktest.WithOrg("org_acme", "acme", "org:admin"))
	cookies := withCookies(
		&http.Cookie{Name: "__session", Value: fake.Token(s.ID)},
		&http.Cookie{Name: "__client_uat", Value: "1"},
		&http.Cookie{Name: "__clerk_db_jwt", Value: "dvb_1"},
	)

	for path, target := range map[string]string{"/orgs/globex/settings": "globex", "/me/profile": ""} {
		resp := rawGet(t, app+path, cookies)
		require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode, path)
		require.Equal(t, "active-organization-mismatch", resp.Header.Get("X-Clerk-Auth-Reason"))
		loc, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		require.Equal(t, "/v1/client/handshake", loc.Path)
		require.Equal(t, []string{target}, loc.Query()["organization_id"], path)
		require.Equal(t, app+path, loc.Query().Get("redirect_url"))
	}
	for _, path := range []string{"/orgs/acme", "/ORGS/acme/", "/dashboard"} {
		resp := rawGet(t, app+path, cookies)
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
	}
	api := func(r *http.Request) {
		cookies(r)
		r.Header.Set("Sec-Fetch-Dest", "empty")
		r.Header.Set("Accept", "application/json")
	}
	require.Equal(t, http.StatusOK, rawGet(t, app+"/orgs/globex", api).StatusCode, "an API call is never redirected")
	require.Equal(t, http.StatusOK, rawGet(t, newGate(clerkgate.OrganizationSync{})+"/orgs/globex", cookies).StatusCode)

	// Patterns outside the subset Clerk documents are refused at New.
	for _, bad := range []string{"/orgs/:slug?", "orgs/:slug", "/orgs/(\\d+)", "/orgs/:slug.json"} {
		_, err := clerkgate.New(clerkgate.Config{SecretKey: fake.SecretKey(), PublishableKey: fake.PublishableKey(), APIURL: fake.URL(),
			Pages: clerkgate.PagesConfig{OrganizationSync: clerkgate.OrganizationSync{OrganizationPatterns: []string{bad}}}, Logger: slog.New(slog.DiscardHandler)})
		require.True(t, errors.Is(err, clerkgate.ErrConfig), "%q: %v", bad, err)
		require.ErrorContains(t, err, "Pages.OrganizationSync")
	}
}

// TestSatelliteAutoSync: a production satellite's first page load without
// cookies is served signed out by default, as Clerk's SDKs do, and syncs
// through the handshake with SatelliteAutoSync.
func TestSatelliteAutoSync(t *testing.T) {
	t.Parallel()
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	for _, auto := range []bool{false, true} {
		g, err := clerkgate.New(clerkgate.Config{
			SecretKey:      "sk_live_" + strings.TrimPrefix(fake.SecretKey(), "sk_test_"),
			PublishableKey: "pk_live_" + strings.TrimPrefix(fake.PublishableKey(), "pk_test_"),
			APIURL:         fake.URL(), Pages: clerkgate.PagesConfig{IsSatellite: true, SatelliteDomain: "sat.example", SatelliteAutoSync: auto}, Logger: slog.New(slog.DiscardHandler),
		})
		require.NoError(t, err)
		t.Cleanup(func() { g.Close() })
		resp := rawGet(t, serve(t, g.Accept(clerkgate.SessionToken).Optional(whoami)).URL+"/", nil)
		if !auto {
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, "session-token-and-uat-missing", resp.Header.Get("X-Clerk-Auth-Reason"))
			continue
		}
		require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
		require.Equal(t, "satellite-needs-syncing", resp.Header.Get("X-Clerk-Auth-Reason"))
		require.True(t, strings.HasPrefix(resp.Header.Get("Location"), "https://clerk.sat.example/v1/client/handshake?"), resp.Header.Get("Location"))
	}
}

// TestDevelopmentClockSkewRetry: on a development instance, a handshake
// whose session token the Gate's clock refuses (the machine's clock is
// ten minutes fast) is verified again with a day's leeway, as Clerk does:
// its cookies are set and the browser goes on to the page, rather than the
// handshake being dropped and made again.
func TestDevelopmentClockSkewRetry(t *testing.T) {
	t.Parallel()
	s := newSite(t, func(c *clerkgate.Config) {
		c.Clock = func() time.Time { return time.Now().Add(10 * time.Minute) }
		c.Logger = slog.New(slog.DiscardHandler)
	})
	b := s.browser(t)
	b.open(s.url + "/")
	b.signIn(s, "user_42", s.url+"/dashboard")
	b.later(s)
	link := handshakeLink(t, s, b, "__clerk_handshake_nonce")

	c := *b.c
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequest(http.MethodGet, link, nil)
	require.NoError(t, err)
	req.Header.Set("Sec-Fetch-Dest", "document")
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
	require.Equal(t, s.url+"/", resp.Header.Get("Location"), "on to the clean URL")
	session := setCookieNamed(resp, "__session")
	require.NotNil(t, session, "the handshake's cookies are set")
	require.NotEmpty(t, session.Value)
	require.Empty(t, resp.Header.Get("X-Clerk-Auth-Status"), "signed in, not session-token-missing")
}
