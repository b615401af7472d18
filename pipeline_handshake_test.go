package clerkgate_test

// Page loads over real HTTP: a browser (an http.Client with a cookie jar
// that follows redirects) between two origins, the app on localhost and
// clerktest's fake Frontend API on 127.0.0.1, with the fake's Backend API
// behind the Gate.

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/handshake"
)

// TestPageLoadsThroughTheHandshake walks a user's visit: first visit,
// sign-in, an expired token refreshed, an expired token without the
// refresh cookie (handshake), sign-out. Each step counts the fake's
// handshakes, so a loop or a needless round trip fails.
func TestPageLoadsThroughTheHandshake(t *testing.T) {
	t.Parallel()
	s := newSite(t, nil)
	b := s.browser(t)
	handshakes := func() int { return s.fake.Requests(clerktest.RouteHandshake) }

	// 1. First visit: no dev browser yet, so one handshake, which comes
	// back signed out; the page is served anonymously at its clean URL.
	p := b.open(s.url + "/?tab=1")
	require.Equal(t, http.StatusOK, p.status)
	require.Equal(t, "Signed out", p.body)
	require.Equal(t, "/?tab=1", p.url.RequestURI())
	require.Equal(t, 1, handshakes())
	require.Equal(t, 1, s.fake.Requests(clerktest.RouteHandshakePayload), "resolved through the nonce")
	require.NotEmpty(t, b.cookie(s, "__clerk_db_jwt"))
	require.Equal(t, "0", b.cookie(s, "__client_uat"))

	// 2. The dashboard sends a signed-out browser to the sign-in page.
	p = b.open(s.url + "/dashboard")
	require.Equal(t, http.StatusOK, p.status)
	require.Equal(t, s.fake.SignInURL(), p.url.Scheme+"://"+p.url.Host+p.url.Path)
	require.Equal(t, s.url+"/dashboard", p.url.Query().Get("redirect_url"))
	require.Equal(t, 1, handshakes(), "the dev browser is known: no handshake")

	// 3. Sign in: back on the dashboard through one handshake (dev
	// browser sync), signed in.
	p = b.signIn(s, "user_42", s.url+"/dashboard")
	require.Equal(t, http.StatusOK, p.status, p.body)
	require.Equal(t, "Dashboard of user_42", p.body)
	require.Equal(t, "/dashboard", p.url.RequestURI())
	require.Equal(t, 2, handshakes())
	require.NotEmpty(t, b.cookie(s, "__refresh_"+s.fake.CookieSuffix()))

	// 4. The token expires; the refresh cookie saves a round trip.
	s.advance(2 * time.Minute)
	b.later(s)
	refreshes := s.fake.Requests(clerktest.RouteRefresh)
	p = b.open(s.url + "/dashboard")
	require.Equal(t, "Dashboard of user_42", p.body)
	require.Equal(t, refreshes+1, s.fake.Requests(clerktest.RouteRefresh))
	require.Equal(t, 2, handshakes())

	// 5. Without the refresh cookie, an expired token goes through the
	// handshake, and the user sees the page.
	b.dropCookie(s, "__refresh_"+s.fake.CookieSuffix())
	s.advance(2 * time.Minute)
	b.later(s)
	p = b.open(s.url + "/dashboard")
	require.Equal(t, "Dashboard of user_42", p.body)
	require.Equal(t, 3, handshakes())
	hs, ok := s.fake.LastRequest(clerktest.RouteHandshake)
	require.True(t, ok)
	require.Equal(t, "session-token-expired-refresh-non-eligible-no-refresh-cookie", hs.Query.Get("__clerk_hs_reason"))
	require.Equal(t, "2026-05-12", hs.Query.Get("__clerk_api_version"))
	require.Equal(t, "nonce", hs.Query.Get("format"))
	require.NotEmpty(t, hs.Query.Get("__session"))
	require.NotEmpty(t, hs.Query.Get("__clerk_db_jwt"))

	// 6. Sign out on the fake: the dashboard sends the browser to sign in
	// again, and the home page says signed out.
	b.later(s)
	p = b.open(s.fake.SignOutURL(s.url + "/dashboard"))
	require.Equal(t, s.fake.SignInURL(), p.url.Scheme+"://"+p.url.Host+p.url.Path)
	p = b.open(s.url + "/")
	require.Equal(t, "Signed out", p.body)
	require.Equal(t, 4, handshakes())
}

// The token flavour: the Frontend API answers with a signed
// __clerk_handshake instead of a nonce, and no Backend API call is made.
func TestPageLoadWithHandshakeToken(t *testing.T) {
	t.Parallel()
	s := newSite(t, nil, clerktest.WithHandshakeFormat("token"))
	b := s.browser(t)
	require.Equal(t, "Signed out", b.open(s.url+"/").body)
	p := b.signIn(s, "user_7", s.url+"/dashboard")
	require.Equal(t, "Dashboard of user_7", p.body)
	require.Equal(t, 2, s.fake.Requests(clerktest.RouteHandshake))
	require.Zero(t, s.fake.Requests(clerktest.RouteHandshakePayload))
}

func TestHandshakeRedirect(t *testing.T) {
	t.Parallel()
	s := newSite(t, nil)
	resp := rawGet(t, s.url+"/dashboard?x=1", func(r *http.Request) {
		// Without trusted proxies, a forged X-Forwarded-Host must not
		// become the page the Frontend API sends the browser back to.
		r.Header.Set("X-Forwarded-Host", "evil.example")
	})
	require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	require.Equal(t, "handshake", resp.Header.Get("X-Clerk-Auth-Status"))
	require.Equal(t, "dev-browser-missing", resp.Header.Get("X-Clerk-Auth-Reason"))
	count := setCookieNamed(resp, "__clerk_redirect_count")
	require.NotNil(t, count)
	require.Equal(t, "1", count.Value)
	require.Equal(t, 2, count.MaxAge)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, s.fake.FrontendURL()+"/v1/client/handshake", loc.Scheme+"://"+loc.Host+loc.Path)
	require.Equal(t, s.url+"/dashboard?x=1", loc.Query().Get("redirect_url"))
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
}

// What never handshakes: header tokens, API calls, POSTs; and a loop ends.
func TestNoHandshake(t *testing.T) {
	t.Parallel()
	s := newSite(t, nil)
	sess := s.fake.CreateSession("user_1")

	// A valid bearer token on a page load: signed in, no redirect.
	resp := rawGet(t, s.url+"/dashboard", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+s.fake.Token(sess.ID)) })
	require.Equal(t, http.StatusOK, resp.StatusCode)
	// An expired one: the 401 contract.
	resp = rawGet(t, s.url+"/dashboard", func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+s.fake.Token(sess.ID, clerktest.Expired()))
	})
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	// An API call without cookies: 401, with Clerk's signed-out status.
	resp = rawGet(t, s.url+"/dashboard", func(r *http.Request) {
		r.Header.Set("Accept", "application/json")
		r.Header.Set("Sec-Fetch-Dest", "empty")
	})
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Equal(t, "signed-out", resp.Header.Get("X-Clerk-Auth-Status"))
	// A development instance without the dev browser, as Clerk says.
	require.Equal(t, "dev-browser-missing", resp.Header.Get("X-Clerk-Auth-Reason"))

	// The loop guard: the third handshake in a row is the last one.
	resp = rawGet(t, s.url+"/dashboard", withCookies(&http.Cookie{Name: "__clerk_redirect_count", Value: "3"}))
	require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode, "RequireSession sends the page to sign in")
	require.True(t, strings.HasPrefix(resp.Header.Get("Location"), s.fake.SignInURL()), resp.Header.Get("Location"))
	require.Equal(t, "signed-out", resp.Header.Get("X-Clerk-Auth-Status"))
	require.Zero(t, s.fake.Requests(clerktest.RouteHandshake))
}

// A route that takes sessions sends a signed-out page load to sign in, as
// RequireSession does; one that takes only machine credentials answers
// the 401 contract, as no sign-in page can help.
func TestRoutesSendSignedOutPagesToSignIn(t *testing.T) {
	t.Parallel()
	s := newSite(t, nil)
	mux := http.NewServeMux()
	mux.Handle("/any", s.gate.Accept(clerkgate.AnyToken).Require(whoamiCaller))
	mux.Handle("/keys", s.gate.Accept(clerkgate.APIKey).Require(whoamiCaller))
	mux.Handle("/maybe", s.gate.Accept(clerkgate.AnyToken).Optional(whoami))
	url := serve(t, mux).URL
	looped := withCookies(&http.Cookie{Name: "__clerk_redirect_count", Value: "3"})

	resp := rawGet(t, url+"/any", looped)
	require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
	require.True(t, strings.HasPrefix(resp.Header.Get("Location"), s.fake.SignInURL()), resp.Header.Get("Location"))
	require.Equal(t, http.StatusUnauthorized, rawGet(t, url+"/keys", looped).StatusCode)
	require.Equal(t, http.StatusOK, rawGet(t, url+"/maybe", looped).StatusCode)
	// An API call to the same route: the 401 contract.
	resp = rawGet(t, url+"/any", func(r *http.Request) {
		r.Header.Set("Accept", "application/json")
		r.Header.Set("Sec-Fetch-Dest", "empty")
	})
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

// A Frontend API whose handshakes never resolve sends the browser round
// three times, then the page is decided without it.
func TestHandshakeLoopEnds(t *testing.T) {
	t.Parallel()
	s := newSite(t, nil)
	s.fake.SetFault(clerktest.RouteHandshakePayload, clerktest.Fault{Status: http.StatusInternalServerError})
	b := s.browser(t)
	p := b.open(s.url + "/")
	require.Equal(t, http.StatusOK, p.status)
	require.Equal(t, "Signed out", p.body)
	require.Equal(t, 3, s.fake.Requests(clerktest.RouteHandshake))
}

// Dangerous handshakes: each would sign the browser in as someone else,
// or set cookies the app did not mean to, if accepted.
func TestHandshakeRefusals(t *testing.T) {
	t.Parallel()
	s := newSite(t, nil)
	other := clerktest.New()
	t.Cleanup(other.Close)
	victim := s.fake.CreateSession("user_victim")
	db := &http.Cookie{Name: "__clerk_db_jwt", Value: "dvb_x"}
	bind := s.binding(t) // each of these comes back to the browser that started it

	attacker := other.CreateSession("user_attacker")
	for name, token := range map[string]string{
		"another instance's handshake token": other.HandshakeToken("__session=" + other.Token(attacker.ID) + "; Path=/"),
		"a forged token":                     "eyJhbGciOiJub25lIn0.eyJoYW5kc2hha2UiOlsiX19zZXNzaW9uPXgiXX0.",
		"a session token as handshake":       s.fake.Token(victim.ID),
	} {
		t.Run(name, func(t *testing.T) {
			resp := rawGet(t, s.url+"/?__clerk_handshake="+url.QueryEscape(token), withCookies(db, bind))
			require.Nil(t, setCookieNamed(resp, "__session"), "no session cookie from a bad handshake")
			// Signed out: decided as if there were no handshake, or (a
			// genuine token of this instance that carries no cookies) on
			// to the page without it.
			require.Equal(t, "signed-out", resp.Header.Get("X-Clerk-Auth-Status"))
			if resp.StatusCode != http.StatusOK {
				require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
				require.Equal(t, s.url+"/", resp.Header.Get("Location"))
			}
		})
	}

	t.Run("cookie injection in the nonce's payload", func(t *testing.T) {
		good := s.fake.Token(victim.ID)
		body := `{"directives":["admin=true; Path=/","__session=` + good + `; Path=/",` +
			`"__client_uat=1; Path=/\r\nSet-Cookie: admin=true","__refresh=r; Path=/","__session_other=x"]}`
		s.fake.SetFault(clerktest.RouteHandshakePayload, clerktest.Fault{Status: http.StatusOK, Body: []byte(body), Times: 1})
		resp := rawGet(t, s.url+"/?__clerk_handshake_nonce=n0nce1", withCookies(db, bind))
		require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
		require.Equal(t, s.url+"/", resp.Header.Get("Location"), "development: on to the clean URL")
		var names []string
		for _, c := range resp.Cookies() {
			names = append(names, c.Name)
		}
		require.Equal(t, []string{"__session", handshake.CookieBinding}, names, "and the binding cookie's removal")
	})

	t.Run("a nonce that is not one never reaches the Backend API", func(t *testing.T) {
		before := s.fake.Requests(clerktest.RouteHandshakePayload)
		for _, n := range []string{"../../v1/jwks", strings.Repeat("a", 200), "a b", "x%00"} {
			rawGet(t, s.url+"/?__clerk_handshake_nonce="+url.QueryEscape(n), withCookies(db, bind))
		}
		require.Equal(t, before, s.fake.Requests(clerktest.RouteHandshakePayload))
	})

	// A handshake cookie sent twice (or one whose value parsers read
	// otherwise) is a handshake that gives nothing: signed out, never the
	// request's own session cookie (Clerk would trade the first value).
	for name, cookies := range map[string][]*http.Cookie{
		"a nonce cookie twice":     {{Name: "__clerk_handshake_nonce", Value: "planted1"}, {Name: "__clerk_handshake_nonce", Value: "mine2"}},
		"a handshake cookie twice": {{Name: "__clerk_handshake", Value: "planted.a.b"}, {Name: "__clerk_handshake", Value: "mine.a.b"}},
		"a quoted nonce cookie":    {{Name: "__clerk_handshake_nonce", Value: `"n0nce"`, Quoted: true}},
	} {
		t.Run(name, func(t *testing.T) {
			before := s.fake.Requests(clerktest.RouteHandshakePayload)
			session := &http.Cookie{Name: "__session", Value: s.fake.Token(victim.ID)}
			uat := &http.Cookie{Name: "__client_uat", Value: "1"}
			resp := rawGet(t, s.url+"/", withCookies(append([]*http.Cookie{db, bind, session, uat}, cookies...)...))
			require.Equal(t, "signed-out", resp.Header.Get("X-Clerk-Auth-Status"))
			require.Equal(t, handshake.ReasonSessionTokenMissing, resp.Header.Get("X-Clerk-Auth-Reason"))
			require.NotEqual(t, http.StatusOK, resp.StatusCode, "not the page, signed in")
			require.Nil(t, setCookieNamed(resp, "__session"))
			require.Equal(t, before, s.fake.Requests(clerktest.RouteHandshakePayload), "no nonce traded")
		})
	}

	t.Run("open redirect through __clerk_redirect_url", func(t *testing.T) {
		resp := rawGet(t, s.url+"/?__clerk_redirect_url="+url.QueryEscape("https://evil.example/"), withCookies(db))
		require.False(t, strings.Contains(resp.Header.Get("Location"), "evil.example"), resp.Header.Get("Location"))
	})
}

// One nonce carried by many requests costs one Backend API call; a
// failed one is not retried for a while; and no more than a bounded
// number of calls are ever in flight.
func TestNonceResolutionIsBounded(t *testing.T) {
	t.Parallel()
	s := newSite(t, func(c *clerkgate.Config) { c.Refresh.Timeout = 500 * time.Millisecond })
	db := &http.Cookie{Name: "__clerk_db_jwt", Value: "dvb_x"}
	bind := s.binding(t)

	s.fake.SetFault(clerktest.RouteHandshakePayload, clerktest.Fault{Status: http.StatusNotFound, Code: clerktest.CodeResourceNotFound})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rawGet(t, s.url+"/?__clerk_handshake_nonce=replayed", withCookies(db, bind))
		}()
	}
	wg.Wait()
	for range 5 {
		rawGet(t, s.url+"/?__clerk_handshake_nonce=replayed", withCookies(db, bind))
	}
	require.LessOrEqual(t, s.fake.Requests(clerktest.RouteHandshakePayload), 2,
		"parallel requests share a call and a failure is remembered")

	// A Backend API that hangs: distinct nonces, in parallel.
	s.fake.SetFault(clerktest.RouteHandshakePayload, clerktest.Fault{Hang: true})
	before := s.fake.Requests(clerktest.RouteHandshakePayload)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rawGet(t, s.url+fmt.Sprintf("/?__clerk_handshake_nonce=n%d", i), withCookies(db, bind))
		}()
	}
	wg.Wait()
	require.LessOrEqual(t, s.fake.Requests(clerktest.RouteHandshakePayload)-before, 16)
}

// A flood of new nonces, each shaped like one and never seen before,
// costs no more Backend API calls than the nonce bucket holds: anyone can
// write a nonce into a URL, without signing in. Past the bucket the page
// is decided without the nonce (here: a handshake again), never a 5xx;
// and once the bucket refills, nonces are resolved again.
func TestNonceFloodIsRateLimited(t *testing.T) {
	t.Parallel()
	s := newSite(t, func(c *clerkgate.Config) { c.Pages.NoncePerSecond, c.Pages.NonceBurst = 0.001, 5 })
	db := &http.Cookie{Name: "__clerk_db_jwt", Value: "dvb_x"}
	// Bound: a flooder gets a binding cookie as any browser does.
	bind := s.binding(t)
	for i := range 60 {
		resp := rawGet(t, s.url+fmt.Sprintf("/?__clerk_handshake_nonce=junk%d", i), withCookies(db, bind))
		require.Less(t, resp.StatusCode, 500, "nonce %d", i)
	}
	require.Equal(t, 5, s.fake.Requests(clerktest.RouteHandshakePayload), "60 new nonces, a bucket of 5")

	// The bucket refills at its rate (one call per 1,000 s here).
	s.advance(1001 * time.Second)
	bind = s.binding(t)
	for i := range 3 {
		rawGet(t, s.url+fmt.Sprintf("/?__clerk_handshake_nonce=later%d", i), withCookies(db, bind))
	}
	require.Equal(t, 6, s.fake.Requests(clerktest.RouteHandshakePayload), "one token refilled")
}

func TestPageLoadConfig(t *testing.T) {
	t.Parallel()
	fake := clerktest.New()
	t.Cleanup(fake.Close)
	base := clerkgate.Config{SecretKey: fake.SecretKey(), PublishableKey: fake.PublishableKey(), APIURL: fake.URL()}
	for name, tc := range map[string]struct {
		mod  func(*clerkgate.Config)
		want string
	}{
		"relative SignInURL":            {func(c *clerkgate.Config) { c.Pages.SignInURL = "/sign-in" }, "Pages.SignInURL"},
		"javascript SignInURL":          {func(c *clerkgate.Config) { c.Pages.SignInURL = "javascript:alert(1)" }, "Pages.SignInURL"},
		"satellite without domain":      {func(c *clerkgate.Config) { c.Pages.IsSatellite = true; c.Pages.SignInURL = "https://p.example/sign-in" }, "Pages.SatelliteDomain or ProxyURL"},
		"dev satellite without sign-in": {func(c *clerkgate.Config) { c.Pages.IsSatellite = true; c.Pages.SatelliteDomain = "sat.example" }, "Pages.SignInURL"},
		"satellite origin with a path":  {func(c *clerkgate.Config) { c.Pages.SatelliteOrigins = []string{"https://sat.example/x"} }, "Pages.SatelliteOrigins"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := base
			tc.mod(&cfg)
			_, err := clerkgate.New(cfg)
			require.ErrorContains(t, err, tc.want)
		})
	}

	// A production satellite sends its handshakes to clerk.<Domain>.
	live := "pk_live_" + strings.TrimPrefix(fake.PublishableKey(), "pk_test_")
	cfg := base
	cfg.PublishableKey, cfg.Pages.IsSatellite, cfg.Pages.SatelliteDomain = live, true, "sat.example"
	// A production pair (New refuses a development secret key beside a
	// production publishable key). The fake refuses this secret key, which
	// the redirect below never needs.
	cfg.SecretKey = "sk_live_" + strings.TrimPrefix(fake.SecretKey(), "sk_test_")
	cfg.Logger = slog.New(slog.DiscardHandler)
	g, err := clerkgate.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { g.Close() })
	srv := serve(t, g.Accept(clerkgate.SessionToken).Optional(whoami))
	resp := rawGet(t, srv.URL+"/?__clerk_synced=false", nil)
	require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
	require.True(t, strings.HasPrefix(resp.Header.Get("Location"), "https://clerk.sat.example/v1/client/handshake?"), resp.Header.Get("Location"))
	require.Equal(t, "satellite-needs-syncing", resp.Header.Get("X-Clerk-Auth-Reason"))
	// Its first visit without cookies is simply signed out.
	resp = rawGet(t, srv.URL+"/", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "session-token-and-uat-missing", resp.Header.Get("X-Clerk-Auth-Reason"))

	// With the handshake off, a page load is decided by its token alone.
	cfg = base
	cfg.Pages.DisableHandshake = true
	off, err := clerkgate.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { off.Close() })
	resp = rawGet(t, serve(t, off.Accept(clerkgate.SessionToken).Require(whoami)).URL+"/", nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Empty(t, resp.Header.Get("X-Clerk-Auth-Status"))
}
