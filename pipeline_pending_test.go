package clerkgate_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

// Pending sessions (sts "pending": the user has tasks to finish) in the
// request pipeline, decided as Clerk's authenticateRequest decides them:
// its verifyToken does not read sts, so a pending session's token verifies
// and goes on through the rest of the decision (refresh, the checks after
// a sign-in); only Clerk's auth object then signs the request out. The
// Gate never serves a pending session (without InsecureAllowPendingSessions).

// refreshAnswer is a cookie-format refresh answer setting the suffixed
// session cookie to token, as the Backend API answers one.
func refreshAnswer(t *testing.T, b *backend, token string) []byte {
	t.Helper()
	sfx := b.fake.CookieSuffix()
	body, err := json.Marshal(map[string]any{"object": "cookies", "cookies": []string{
		"__session_" + sfx + "=" + token + "; Path=/; SameSite=Lax; Secure",
		"__client_uat_" + sfx + "=1; Path=/; SameSite=Lax; Secure",
	}})
	require.NoError(t, err)
	return body
}

func setCookieValue(h http.Header, name string) (string, bool) {
	for _, sc := range h.Values("Set-Cookie") {
		if c, err := http.ParseSetCookie(sc); err == nil && c.Name == name {
			return c.Value, true
		}
	}
	return "", false
}

// TestRefreshToPendingSessionSetsItsCookies: a refresh whose new token is
// a pending session's succeeded, as Clerk's does: the new cookies are set
// (else the browser keeps its expired token and refreshes on every
// request), no x-clerk-auth-* headers are sent, no handshake is made, and
// the request is refused as a pending session's, never served.
func TestRefreshToPendingSessionSetsItsCookies(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	sfx := b.fake.CookieSuffix()
	for _, page := range []bool{false, true} {
		s := b.fake.CreateSession("user_1")
		pending := b.fake.Token(s.ID, clerktest.Pending())
		b.fake.SetFault(clerktest.RouteRefresh, clerktest.Fault{Body: refreshAnswer(t, b, pending), Times: 1})
		// With its dev browser, the browser is decided by its session.
		rep := get(t, b.srv, both(b.sessionCookie(b.fake.Token(s.ID, clerktest.Expired())), b.refreshCookie(s), cookie("__clerk_db_jwt_"+sfx, "dvb_test"), func(r *http.Request) {
			if page {
				r.Header.Set("Sec-Fetch-Dest", "document")
				r.Header.Set("Accept", "text/html")
			}
		}))
		require.Equal(t, http.StatusUnauthorized, rep.status, "page %v: %s", page, rep.body)
		require.Equal(t, string(clerkgate.ReasonSessionPending), rep.reason, "page %v", page)
		got, ok := setCookieValue(rep.header, "__session_"+sfx)
		require.True(t, ok, "page %v: the refresh's cookies are set", page)
		require.Equal(t, pending, got)
		require.Empty(t, rep.header.Get("X-Clerk-Auth-Status"), "page %v", page)
		require.Empty(t, rep.header.Get("Location"), "page %v: no handshake", page)
	}
}

// TestRefreshToPendingSessionIsCheckedLikeAnyOther: a pending token from
// a refresh is held to everything else a refreshed token is: the session
// it continues, its lifetime. One that fails sets nothing.
func TestRefreshToPendingSessionIsCheckedLikeAnyOther(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	sfx := b.fake.CookieSuffix()
	for name, token := range map[string]func(s, other clerktest.Session) string{
		"another session": func(_, other clerktest.Session) string { return b.fake.Token(other.ID, clerktest.Pending()) },
		"long-lived": func(s, _ clerktest.Session) string {
			return b.fake.Token(s.ID, clerktest.Pending(), clerktest.ExpiresIn(time.Hour))
		},
	} {
		s, other := b.fake.CreateSession("user_1"), b.fake.CreateSession("user_2")
		b.fake.SetFault(clerktest.RouteRefresh, clerktest.Fault{Body: refreshAnswer(t, b, token(s, other)), Times: 1})
		rep := get(t, b.srv, both(b.sessionCookie(b.fake.Token(s.ID, clerktest.Expired())), b.refreshCookie(s)))
		require.Equal(t, http.StatusUnauthorized, rep.status, "%s: %s", name, rep.body)
		require.Equal(t, string(clerkgate.ReasonRefreshFailed), rep.reason, name)
		_, ok := setCookieValue(rep.header, "__session_"+sfx)
		require.False(t, ok, "%s: nothing of a refused answer is set", name)
	}
}

// TestPendingSessionFromAnotherSiteSyncsThroughTheHandshake: a page load
// arriving from another site (the Referer's origin is not the page's) with
// a pending session's cookie goes through the handshake, as Clerk's does
// (primary-domain-cross-origin-sync: the token verifies for Clerk, and the
// cross-origin check follows); it is never served. From the app's own
// pages it is refused without a handshake.
func TestPendingSessionFromAnotherSiteSyncsThroughTheHandshake(t *testing.T) {
	t.Parallel()
	s := newSite(t, nil)
	b := s.browser(t)
	require.Equal(t, "Dashboard of user_7", b.signIn(s, "user_7", s.url+"/dashboard").body)
	app, err := url.Parse(s.url)
	require.NoError(t, err)
	pending := s.fake.Token(s.fake.CreateSession("user_7").ID, clerktest.Pending())
	var jar []*http.Cookie
	for _, c := range b.c.Jar.Cookies(app) {
		switch c.Name {
		case "__session", "__session_" + s.fake.CookieSuffix():
			c = &http.Cookie{Name: c.Name, Value: pending}
		case "__clerk_redirect_count":
			continue
		}
		jar = append(jar, c)
	}
	require.True(t, slices.ContainsFunc(jar, func(c *http.Cookie) bool { return c.Value == pending }))

	for _, path := range []string{"/", "/dashboard"} {
		resp := rawGet(t, s.url+path, func(r *http.Request) {
			withCookies(jar...)(r)
			r.Header.Set("Referer", "https://www.google.com/")
		})
		require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode, path)
		require.Equal(t, "handshake", resp.Header.Get("X-Clerk-Auth-Status"), path)
		require.Equal(t, "primary-domain-cross-origin-sync", resp.Header.Get("X-Clerk-Auth-Reason"), path)
		loc, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		require.Equal(t, s.fake.FrontendURL()+"/v1/client/handshake", loc.Scheme+"://"+loc.Host+loc.Path, path)

		// From the app's own page, or once the loop guard has counted a
		// handshake: refused, no handshake, never served.
		for _, mod := range []func(*http.Request){
			func(r *http.Request) { r.Header.Set("Referer", s.url+"/other") },
			func(r *http.Request) {
				r.Header.Set("Referer", "https://www.google.com/")
				r.AddCookie(&http.Cookie{Name: "__clerk_redirect_count", Value: "1"})
			},
		} {
			resp := rawGet(t, s.url+path, func(r *http.Request) { withCookies(jar...)(r); mod(r) })
			require.Empty(t, resp.Header.Get("X-Clerk-Auth-Status"), path)
			if path == "/" {
				require.Equal(t, http.StatusUnauthorized, resp.StatusCode, path)
				require.Empty(t, resp.Header.Get("Location"), path)
				continue
			}
			// A protected page sends a signed-out browser to sign in.
			require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode, path)
			require.True(t, strings.HasPrefix(resp.Header.Get("Location"), s.fake.SignInURL()), resp.Header.Get("Location"))
		}
	}
}
